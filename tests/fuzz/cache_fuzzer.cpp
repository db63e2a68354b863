// What dptrace reads back from disk as its own: object cache entries and the
// map layouts --pin leaves beside the pins (object_cache.h). Any bytes must
// decode to nothing or to a script whose every map layout the reader can
// read, without reading past them or allocating what they do not back.
// Each input is tried as it is (the checksum almost never matches: a miss)
// and with the checksum a whole entry would end with, so that the decoder
// behind it is reached; and as a layouts file. The seeds are real entries and
// layouts files without their checksum (tests/fuzz/cache/).
#include <cstdint>
#include <cstring>
#include <string>

#include "map_reader.h"
#include "object_cache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  (void)dptrace::decodeCacheEntry(bytes, nullptr);
  std::string entry = bytes;
  uint64_t sum = dptrace::cacheEntryChecksum(entry);
  entry.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  if (auto script = dptrace::decodeCacheEntry(entry, nullptr))
    for (const dptrace::MapLayout& l : script->maps)
      if (!dptrace::readableLayout(l)) __builtin_trap();  // the decoder let through what the reader cannot read
  (void)dptrace::decodeMapLayouts(bytes);
  return 0;
}

// A cache of compiled scripts: the object and everything the runtime needs
// beside it (CompiledScript), keyed by the text of the script and everything
// it was compiled against (dptrace's own build, the options, the probed
// binaries' identity, the kernel). A hit skips the code generator, and so the
// loading of libLLVM: a uprobe one-liner attaches in about half the time.
//
// Where: $DPTRACE_CACHE_DIR, else /var/cache/dptrace for root, else
// $XDG_CACHE_HOME/dptrace or ~/.cache/dptrace. DPTRACE_CACHE=off disables it.
// The directory must be the user's own and writable by no one else, and not a
// symlink (else it is not used at all); entries are read only when they are
// regular files of the user; pruning removes only the cache's own entries.
// Scripts with C definitions or #include are not cached (headers may change
// without their names changing). The cache keeps the 256 newest entries.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "program_info.h"

namespace dptrace {

class ObjectCache {
public:
  // `key` must name everything the compilation depends on (see cacheKey in
  // tools/pipeline.cpp); it is stored whole in the entry and compared, so two
  // keys never share an entry. An empty key disables the cache.
  explicit ObjectCache(std::string key);

  bool enabled() const { return !path_.empty(); }
  // Why a cache directory is not used (a symlink, someone else's, writable by
  // others), for -v; empty when it is, or when caching is off.
  const std::string& whyOff() const { return off_; }
  std::optional<CompiledScript> load() const;
  void store(const CompiledScript& script) const;  // best effort: a cache that cannot be written is skipped

private:
  std::string key_;
  std::string path_;
  std::string off_;
};

// Map layouts, each with the id of its BPF map, as bytes, for what outlives
// a run (--pin); nullopt for bytes that are not an encoding of this build's format.
std::string encodeMapLayouts(const std::vector<MapLayout>& layouts, const std::vector<uint64_t>& ids);
std::optional<std::pair<std::vector<MapLayout>, std::vector<uint64_t>>> decodeMapLayouts(const std::string& bytes);

// An entry's bytes: the script encoded with `key`, ended by a checksum. Its
// decoder gives nullopt for anything else -- another key (unless `key` is
// null), another format, damaged or truncated bytes, a map layout the reader
// could not read -- and never reads past the bytes (tests/fuzz/cache_fuzzer).
std::string encodeCacheEntry(const CompiledScript& script, const std::string& key);
std::optional<CompiledScript> decodeCacheEntry(const std::string& bytes, const std::string* key);
uint64_t cacheEntryChecksum(std::string_view bytes);  // FNV-1a over what comes before it

// The identity of a file for a cache key: its path, device, inode, size and
// modification time (empty when it cannot be read).
std::string fileIdentity(const std::string& path);

}  // namespace dptrace

// --pcap's reader over any bytes: pcap in both byte orders and both
// timestamp precisions, pcapng, other link types, lying caplen and len,
// truncated files (the seeds in tests/fuzz/pcap/ are each of those). The
// reader must refuse what is not an Ethernet capture, stop at a truncated
// frame with an error, and hand on only frames it may run: at least an
// Ethernet header, at most kPcapMaxFrame bytes, every byte readable (each is
// read here, under AddressSanitizer), a wire length no shorter than the frame.
#include <cstdint>
#include <cstdio>
#include <string>

#include "pcap_replay.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;  // fmemopen wants a buffer
  FILE* file = fmemopen(const_cast<uint8_t*>(data), size, "rb");
  if (file == nullptr) return 0;
  dptrace::PcapReplay counts;
  std::string error;
  uint64_t frames = 0;
  volatile uint8_t sink = 0;
  bool ok = dptrace::readCapture(file, "fuzz.pcap", [&](const dptrace::CapturedFrame& f) {
    if (f.length < 14 || f.length > dptrace::kPcapMaxFrame || f.wireLength < f.length) __builtin_trap();
    uint8_t x = 0;
    for (uint32_t i = 0; i < f.length; ++i) x ^= f.bytes[i];
    sink = sink ^ x;
    ++frames;
    return true;
  }, counts, error);
  if (!ok && error.empty()) __builtin_trap();  // a refusal says why
  return 0;
}

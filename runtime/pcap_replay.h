// --pcap: every packet of an Ethernet capture through the xdp program with
// BPF_PROG_TEST_RUN; --pcap-out: what the program did not drop, as it left it.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <cstdint>
#include <cstdio>

namespace dptrace {

struct PcapReplay {
  std::map<std::string, uint64_t> verdicts;  // "pass", "drop", "tx", "redirect", "abort"
  uint64_t packets = 0;    // run through the program
  uint64_t skipped = 0;    // shorter than an Ethernet header: BPF_PROG_TEST_RUN refuses them
  uint64_t truncated = 0;  // longer than the kernel runs whole: run cut to kPcapMaxFrame bytes
  uint64_t snapped = 0;    // captured shorter than they were on the wire (the capture's snaplen)
};

// BPF_PROG_TEST_RUN runs at most this much of a frame for a program without frags.
inline constexpr uint32_t kPcapMaxFrame = 3520;

// Whether `input` can be replayed: readable, and an Ethernet capture. False
// with `error` saying why (checked before anything is loaded or attached).
bool checkCapture(const std::string& input, std::string& error);

// The name @verdict prints for an XDP return code.
std::string verdictName(int code);

// Replays `input` through the XDP program `progFd` (ingress ifindex of lo,
// queue 0), writing `output` when set. `afterPacket` runs after each packet
// (the ring buffer is drained there) and ends the replay when it returns
// false (exit()). False with `error` when a file cannot be read or written,
// or the capture is not Ethernet.
// `redirected` sees each frame the program redirected: when an afxdp block
// took it, it runs the block's body on the frame (in `buffer` at [data, data
// + length), with room before it) and returns the body's verdict.
using RedirectedFrame = std::function<std::optional<int>(uint8_t* buffer, size_t& data, size_t& length)>;
bool replayPcap(int progFd, const std::string& input, const std::optional<std::string>& output,
                const std::function<bool()>& afterPacket, const RedirectedFrame& redirected, PcapReplay& result,
                std::string& error);

// A frame of a capture as the replay runs it: at most kPcapMaxFrame of its
// bytes, the length it had on the wire (at least what was kept), its time.
struct CapturedFrame {
  const uint8_t* bytes;
  uint32_t length;
  uint32_t wireLength;
  int64_t seconds, fraction;  // the capture's own: micro- or nanoseconds
};
using CaptureFrame = std::function<bool(const CapturedFrame& frame)>;  // false stops

// The frames of the Ethernet capture in `file` (taken, and closed), as the
// replay reads them, to `each`; those shorter than an Ethernet header are
// skipped, and counted in `result` with those snapped and cut. False with
// `error` when it is no Ethernet capture or ends in the middle of a frame
// (tests/fuzz/pcap_fuzzer feeds it any bytes).
bool readCapture(FILE* file, const std::string& name, const CaptureFrame& each, PcapReplay& result, std::string& error);

// Room left before a replayed frame for an afxdp body's vlan_push().
inline constexpr size_t kPcapHeadroom = 256;

}  // namespace dptrace

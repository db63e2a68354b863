// What host code (afxdp bodies, compiled for the machine dptrace runs on)
// and the runtime that loads it agree on: the context a body is called with,
// and the names of the runtime functions it calls where BPF code calls
// helpers. No LLVM: the runtime includes it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dptrace {

// The argument of `int afxdp_N(HostPacket*)`: the frame [data, data_end),
// where its buffer starts (vlan_push may move data back as far as frame),
// and the interface and queue it came from. Returns XDP_TX or XDP_DROP.
struct HostPacket {
  uint8_t* data;
  uint8_t* dataEnd;
  uint8_t* frame;
  uint32_t ifindex;
  uint32_t queue;
};
inline constexpr uint32_t kHostData = 0, kHostDataEnd = 8, kHostFrame = 16, kHostIfindex = 24, kHostQueue = 28;
static_assert(offsetof(HostPacket, data) == kHostData && offsetof(HostPacket, dataEnd) == kHostDataEnd &&
              offsetof(HostPacket, frame) == kHostFrame && offsetof(HostPacket, ifindex) == kHostIfindex &&
              offsetof(HostPacket, queue) == kHostQueue);

// The runtime functions host code calls, by the BPF helper they stand for.
// Map arguments are the address of the map's global in the host object,
// which the runtime filled with its user-space map.
inline constexpr const char* kHostMapLookup = "dptrace_map_lookup_elem";    // void*(map, key)
inline constexpr const char* kHostMapUpdate = "dptrace_map_update_elem";    // long(map, key, value, flags)
inline constexpr const char* kHostMapDelete = "dptrace_map_delete_elem";    // long(map, key)
inline constexpr const char* kHostKtimeNs = "dptrace_ktime_get_ns";         // u64()
inline constexpr const char* kHostCpu = "dptrace_get_smp_processor_id";     // u64()
inline constexpr const char* kHostAdjustHead = "dptrace_xdp_adjust_head";   // long(HostPacket*, delta)
inline constexpr const char* kHostRingbufOutput = "dptrace_ringbuf_output"; // long(sink, data, size, flags)
inline constexpr const char* kHostRingbufQuery = "dptrace_ringbuf_query";   // u64(sink, what)
inline constexpr const char* kHostUnavailable = "dptrace_helper_unavailable";  // never linked: refused by sema

// The loops of a body run at most this many iterations per frame, all
// loops together (there is no verifier to bound them): a loop that would go
// on is left, and the runtime counts it in the `kHostLoopCapSymbol` counter
// and reports it at exit. Bounds a frame's time, nested loops included.
inline constexpr uint64_t kHostLoopCap = 1u << 20;
inline constexpr const char* kHostLoopCapSymbol = "loop_cap";

// What bpf_xdp_adjust_head keeps free in front of the frame (struct
// xdp_frame): a body's vlan_push() has the headroom the kernel would leave.
inline constexpr uint32_t kHostFrameReserve = 40;

}  // namespace dptrace

// What the code generator hands the runtime besides the object: which
// program attaches where, how each map's keys and values are laid out, and
// what each ring-buffer record means. Plain data, no LLVM.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aggregation.h"
#include "ast.h"
#include "sema/dpdk_api.h"
#include "sema/type.h"

namespace dptrace {

struct MapLayout {
  std::string name;    // script name, without '@'
  std::string symbol;  // the BPF map's name in the object (script names may be too long for the kernel)
  MapRole role = MapRole::Value;
  std::vector<Type> keys;  // empty: one entry under key 0
  Type value;              // Value maps: the value; aggregations: the argument
  uint32_t keySize = 8;    // in the BPF map; hist and lhist add an 8-byte bucket index
  uint32_t valueSize = 8;
  bool perCpu = false;
  bool array = false;  // a per-CPU array indexed by the key (arraySlots in aggregation.h; BPF key: u32)
  uint32_t arraySlots = 0;  // its slots
  int64_t lhistMin = 0, lhistMax = 0, lhistStep = 1;
  uint32_t buckets = 0;  // hist and lhist
  bool userSpace = false;  // written by afxdp bodies: kept in dptrace, not in the object
  bool reset = false;      // the script clear()s or zero()s it: its counts may go down
  std::string source;      // "script.dpt:3: @n[pid] = count();" -- the line that first uses it
  bool operator==(const MapLayout&) const = default;
};

// Ring-buffer records start with two 64-bit words: the kind and an index.
enum class EventKind : uint64_t { Printf = 1, Exit = 2, Clear = 3, Zero = 4, Print = 5, Time = 6, Value = 7, Emit = 8, Join = 9, Cat = 10, System = 11, HelperError = 12, Capture = 13 };

// capture(N): after the 16-byte header, the frame's ktime (ns), its length,
// the bytes copied (at most N), its ingress ifindex and rx queue (u32 each),
// then the bytes, in a record of kCaptureHeader + N rounded up to 8.
inline constexpr uint32_t kCaptureHeader = 40;

// redirect(ifindex): a DEVMAP_HASH of every interface the host has when the
// program loads (key and value the ifindex), filled by the runtime; an index
// it does not hold passes the frame to the stack.
// The event ring buffer's size unless BPFTRACE_PERF_RB_PAGES says otherwise,
// and with --export (which formats each record twice: its loop drains slower).
inline constexpr uint32_t kRingbufBytes = 1u << 20;
inline constexpr uint32_t kExportRingBytes = 8u << 20;
inline constexpr const char* kDevMap = "tx_ports";
inline constexpr uint32_t kDevMapEntries = 1024;
inline constexpr uint32_t kCaptureTime = 16, kCaptureLength = 24, kCaptureCopied = 28, kCaptureIfindex = 32, kCaptureQueue = 36;

// kstack/ustack: the stack-trace maps (in objects whose script reads a
// stack), one per depth: "stacks" for bpftrace's 127 frames, "stacks_N" for
// N. A stack value is two words: the stack's id, then the process (ustack)
// | the frames it prints << 32 | perf mode << 40 (kStackPerf) | a raw
// tracepoint's glue frames may lead << 41 (kStackGlue) | the depth of its
// map << 48 (more than it prints where glue frames may lead).
inline constexpr const char* kStacksMap = "stacks";
inline constexpr uint32_t kStackFrames = 127;
inline constexpr uint64_t kStackPerf = 1ull << 40;
inline constexpr uint64_t kStackGlue = 1ull << 41;
inline constexpr int kStackMapDepthShift = 48;
inline std::string stackMapName(uint32_t frames) {
  return frames == kStackFrames ? kStacksMap : std::string(kStacksMap) + "_" + std::to_string(frames);
}

// join(): a record of kJoinArgs strings of kJoinArgSize bytes each (bpftrace's defaults).
inline constexpr uint32_t kJoinArgs = 16, kJoinArgSize = 1024;

// A record's layout: printf's format and arguments; print(x)'s value; an
// emit()'s probe (in `format`) and its fields' names and types.
struct PrintfLayout {
  std::string format;
  std::vector<Type> args;
  std::vector<std::string> names;  // emit(): one per argument
  bool operator==(const PrintfLayout&) const = default;
};

// -k/-kk: a helper call whose failure a record reports (EventKind::HelperError:
// the index of its site here, then the helper's return value).
struct HelperErrorSite {
  int64_t helper = 0;  // the BPF helper's id
  SourceRange where;   // the statement that called it
  bool operator==(const HelperErrorSite&) const = default;
};

// Where a uprobe attach point resolved to: the binary's path and the
// functions it names (wildcards expanded; empty for an offset).
// A function DWARF knows only inlined is probed at the entry of each inlined
// call instead; DPDK's burst functions, with -p or -c, at the PMD functions
// the process's rte_eth_fp_ops points to (found by the runtime).
struct UprobeTarget {
  std::string binary;
  std::vector<std::string> functions;
  std::vector<uint64_t> addresses;      // the virtual address of each function's probe (its entry, or +offset)
  std::vector<InlinedSite> inlined;     // entry probes, one per inlined call
  std::vector<uint64_t> inlinedOffsets;  // the file offset of each
  FastPath fastPath = FastPath::None;
  bool operator==(const UprobeTarget&) const = default;
};

struct ProgramInfo {
  std::string function;  // the program's name in the object
  std::string section;
  ast::AttachPoint attach;  // provider, target, function, unit, period...
  std::string rawTracepoint;  // set when a syscall tracepoint runs on raw sys_enter/sys_exit
  std::string binary;         // uprobes: the resolved binary or library
  std::string symbol;         // uprobes: the function (empty with an offset)
  // uprobes: the functions this one program serves, its BPF cookie being the
  // index here (func and probe read their names by it); empty: `symbol` alone.
  std::vector<std::string> symbols;
  std::optional<uint64_t> fileOffset;  // uprobes at an inlined call: where in the binary
  uint64_t semaphore = 0;              // usdt: the file offset of the probe's semaphore (0: none)
  FastPath fastPath = FastPath::None;  // uprobes on a DPDK burst function through rte_eth_fp_ops
  bool savesArguments = false;  // the entry half of the uretprobe after it: records the arguments it reads
  uint32_t attachPoints = 1;  // xdp: the blocks of the interface that form this program
  bool transmits = false;             // xdp: some block calls tx()
  std::vector<std::string> redirects;  // xdp: the interfaces redirect() sends to
  std::vector<SourceRange> loops;      // its `while` loops, for a verifier refusal about one
  std::string xskMap;                  // xdp: the XSKMAP its afxdp blocks redirect into (empty: none)
  bool operator==(const ProgramInfo&) const = default;
};

// The body of an afxdp block on one interface: a function of the host code,
// `int NAME(HostPacket*)` returning XDP_TX or XDP_DROP.
struct AfxdpBody {
  std::string function;
  std::string interface;  // as written; the xdp program of this interface redirects to it
  int64_t queue = -1;     // afxdp:IF:Q; -1 for every queue
  ast::AttachPoint attach;
  bool operator==(const AfxdpBody&) const = default;
};

struct CompiledScript {
  std::vector<char> object;  // the BPF ELF object
  std::vector<char> hostObject;  // afxdp bodies: an x86-64 ELF relocatable object (runtime/native_code.h)
  std::vector<AfxdpBody> afxdp;
  std::vector<ProgramInfo> programs;
  std::vector<MapLayout> maps;
  std::vector<PrintfLayout> printfs;    // printf() call sites, by index
  std::vector<std::string> timeFormats;  // time() call sites, by index
  std::vector<HelperErrorSite> helperErrors;  // -k/-kk: checked helper calls, by index
  std::vector<uint32_t> captures;       // capture() call sites' byte counts, by index
  std::string eventsMap = "events";     // the ring buffer
  std::string lostMap = "lost";         // per-CPU counter of records the ring buffer refused
  std::string refusedMap = "refused";   // per-CPU counters, one per map, of updates a full map refused
  std::string startMap = "start";       // one u64: the run's start in ktime ns, for elapsed
  std::string afxdpHitMap = "afxdp_hit";  // --pcap: 1 + the afxdp body the last frame was redirected to
  // DPDK burst probes through rte_eth_fp_ops: queue pointer (| 1 << 63 for a
  // tx queue) -> port << 16 | queue, filled by the runtime (dpdk_fastpath.h)
  std::string queuesMap = "dpdk_queues";
  // Two counters of calls a probe skipped: [0] on a queue not in queuesMap,
  // [1] a return whose entry was not recorded (it began before the attach)
  std::string skippedMap = "skipped";
  bool operator==(const CompiledScript&) const = default;
};

// Every key, value and record field occupies 8-byte slots: integers and
// booleans as 64-bit little-endian (sign- or zero-extended), strings and
// arrays (C layout: elements packed) as their size rounded up to 8, IPv4
// addresses and MACs one slot, IPv6 two, tuples their elements one after
// another.
uint32_t slotSize(const Type& t);
// A value the code generator keeps in memory (a pointer to its slot's
// bytes), not in a register: strings, tuples, arrays, buffers, deferred
// values and IPv6 addresses.
bool heldInMemory(const Type& t);
uint32_t slotsSize(const std::vector<Type>& types);

// The name of the XDP program of an interface in the object (xdp_veth0;
// punctuation escaped so that every interface has its own: a-b is xdp_a_2db).
std::string xdpProgramName(const std::string& interface);

}  // namespace dptrace

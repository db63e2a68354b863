// The code generator's state: the LLVM module being built for one script.
// Private to codegen/; the only files that include LLVM's IR headers.
#pragma once

#include <llvm/IR/DIBuilder.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <deque>
#include <map>
#include <set>
#include <memory>

#include "codegen.h"
#include "core_types.h"
#include "host_abi.h"

namespace dptrace {

// BPF helper function ids (include/uapi/linux/bpf.h).
enum class Helper : int64_t {
  MapLookupElem = 1,
  MapUpdateElem = 2,
  MapDeleteElem = 3,
  KtimeGetNs = 5,
  TracePrintk = 6,
  OverrideReturn = 58,
  DPath = 147,
  GetSmpProcessorId = 8,
  GetCurrentPidTgid = 14,
  GetCurrentUidGid = 15,
  GetCurrentComm = 16,
  GetAttachCookie = 174,
  GetPrandomU32 = 7,
  GetNumaNodeId = 42,
  GetCurrentCgroupId = 80,
  Jiffies64 = 118,
  GetCurrentTask = 35,
  GetStackid = 27,
  SendSignal = 109,
  RingbufReserve = 131,
  RingbufSubmit = 132,
  Redirect = 23,
  XdpAdjustHead = 44,
  XdpAdjustTail = 65,
  ProbeReadUser = 112,
  ProbeReadKernel = 113,
  ProbeReadUserStr = 114,
  ProbeReadKernelStr = 115,
  RingbufOutput = 130,
  RingbufQuery = 134,
  RedirectMap = 51,
  XdpGetBuffLen = 188,
  XdpLoadBytes = 189,
  FibLookup = 69,
  RingbufDiscard = 133,
};

// Where the IR generator's code runs: the kernel (BPF), or dptrace itself
// (afxdp bodies, compiled for the host). Host code calls the helpers as
// functions of the runtime (runtime/afxdp_host.h), by the names hostHelperName() gives.
enum class CodeTarget { Bpf, Host };
const char* hostHelperName(Helper h);



// Offsets in struct xdp_md.
inline constexpr uint32_t kXdpMdData = 0, kXdpMdDataEnd = 4, kXdpMdIngressIfindex = 12, kXdpMdRxQueue = 16;

// XDP verdicts (enum xdp_action).
inline constexpr int32_t kXdpAborted = 0, kXdpDrop = 1, kXdpPass = 2, kXdpTx = 3, kXdpRedirect = 4;

// The event ring buffer: its size, and when a record wakes the reader.
inline constexpr uint64_t kRingbufWakeupBytes = kRingbufBytes / 16;
inline constexpr uint64_t kRingbufAvailData = 0, kRingbufNoWakeup = 1, kRingbufForceWakeup = 2;

// One block of an xdp program, for one of its attach points.
struct PacketBlock {
  const ast::Probe* probe;
  const ast::AttachPoint* ap;
};

// Where a uprobe program's arguments come from (UprobeTarget).
struct UserArguments {
  std::optional<uint64_t> address;         // the probe's virtual address in the binary (uaddr() of a PIE)
  const InlinedSite* site = nullptr;       // an inlined call: each parameter's DWARF location there
  FastPath fastPath = FastPath::None;      // a PMD burst function standing for rte_eth_rx_burst / rte_eth_tx_burst
  llvm::GlobalVariable* record = nullptr;  // a uretprobe's per-thread record of the arguments at entry
  std::vector<unsigned> saved;             // the parameters in the record, in order
  bool save = false;                       // the entry half of a uretprobe: it only fills the record
  std::vector<std::string> shared;         // a wildcard's functions, one program for all: its BPF cookie indexes them
};

// One map of the object: its global in .maps and its layout.
struct MapGlobal {
  llvm::GlobalVariable* global = nullptr;
  size_t index = 0;  // into CompiledScript::maps; also its slot in the refused counters
};

class ModuleLowering {
public:
  ModuleLowering(const ast::Program& program, const TypeTable& types, const CodegenOptions& options,
                 Diagnostics& diags, CodeTarget target = CodeTarget::Bpf);

  // Builds every map and every program; false if something could not be lowered.
  bool lower();
  llvm::Module& module() { return *module_; }
  CompiledScript& info() { return info_; }

  // ---- used by FunctionLowering
  bool host() const { return target_ == CodeTarget::Host; }
  bool pcap() const { return options_.pcap; }
  // The XSKMAP of an interface's afxdp blocks, and the --pcap map that
  // tells the runtime which afxdp block took the frame.
  llvm::GlobalVariable* xskMap(const std::string& interface) { return xskMaps_.at(interface); }
  llvm::GlobalVariable* afxdpHit() { return afxdpHit_; }
  llvm::GlobalVariable* devMap();  // made when a redirect(ifindex) first needs it
  // The index in CompiledScript::afxdp of an afxdp attach point's body.
  uint32_t afxdpBody(const ast::AttachPoint* ap) const { return afxdpBodies_.at(ap); }
  llvm::LLVMContext& context() { return *context_; }
  llvm::DIBuilder& di() { return *di_; }
  llvm::DIFile* diFile() { return diFile_; }
  CoreTypes& core() { return *core_; }
  const TypeTable& types() const { return types_; }
  Diagnostics& diags() { return diags_; }
  const MapGlobal& map(const std::string& name) { return maps_.at(name); }
  const MapLayout& layout(const MapGlobal& m) const { return info_.maps[m.index]; }
  llvm::GlobalVariable* events() { return events_; }
  llvm::GlobalVariable* lost() { return lost_; }
  llvm::GlobalVariable* refused() { return refused_; }
  llvm::GlobalVariable* start() { return start_; }
  // kstack/ustack: the stack-trace map of stacks of `frames` frames ("stacks"
  // for 127, "stacks_N" for kstack(N): a shorter stack is its own key), made
  // at its first use.
  llvm::GlobalVariable* stacks(uint32_t frames);
  // A function's heap of `bytes` (FunctionLowering::heapAt), through the
  // stand-in its code names until every function is lowered. The blocks of
  // one syscall dispatch program share one.
  void requestHeap(const std::string& function, llvm::GlobalVariable* standIn, uint32_t bytes);
  // The functions that use a heap (compileScript lowers them again heap-first).
  const std::set<std::string>& heapUsers() const { return heapUsers_; }
  llvm::GlobalVariable* loopCap() { return loopCap_; }  // host code: loops cut short
  llvm::GlobalVariable* queues();   // DPDK burst probes: queue pointer -> port and queue (made at first use)
  llvm::GlobalVariable* skipped();  // counters of calls a uprobe skipped (CompiledScript::skippedMap)
  // Scripts that call exit(): one u64, set by exit(); every probe but END and
  // xdp checks it first, so that nothing runs (or counts) after exit().
  llvm::GlobalVariable* exited() { return exited_; }
  size_t addPrintf(PrintfLayout p) { info_.printfs.push_back(std::move(p)); return info_.printfs.size() - 1; }
  size_t addTimeFormat(std::string f) { info_.timeFormats.push_back(std::move(f)); return info_.timeFormats.size() - 1; }
  size_t addCapture(uint32_t bytes) { info_.captures.push_back(bytes); return info_.captures.size() - 1; }
  size_t addHelperErrorSite(HelperErrorSite s) { info_.helperErrors.push_back(s); return info_.helperErrors.size() - 1; }
  int helperChecks() const { return options_.helperChecks; }
  bool demangle() const { return options_.demangle; }
  bool heapArena(const std::string& function) const { return options_.heapArenas.count(function) != 0; }
  void unsupported(SourceRange r, const std::string& what);
  uint32_t interfaceIndex(const std::string& name) const {
    auto it = options_.interfaces.find(name);
    return it == options_.interfaces.end() ? 0 : it->second;
  }

private:
  void createMaps();
  llvm::GlobalVariable* mapDefinition(const std::string& symbol, uint32_t bpfType, uint32_t maxEntries,
                                      uint32_t keySize, uint32_t valueSize);
  void createLicense();
  llvm::GlobalVariable* hostGlobal(const std::string& symbol);
  void lowerProbe(const ast::Probe& probe, const ast::AttachPoint& ap, size_t n, const std::string& binary,
                  const std::string& symbol, const UserArguments& user = {}, std::optional<uint64_t> fileOffset = {});
  // The programs of a uprobe attach point: one per function, inlined call or
  // burst function, each after the entry half that records what it reads.
  void lowerUserProbe(const ast::Probe& probe, const ast::AttachPoint& ap, const UprobeTarget& target, size_t& n);
  void lowerTracepoints(const ast::Probe& probe, const ast::AttachPoint& ap, size_t& n);
  llvm::Function* probeFunction(const ast::Probe& probe, const std::string& name, const std::string& section);
  static std::string programName(const ast::AttachPoint& ap, size_t n);
  void lowerPacketProgram(const std::string& interface, const std::vector<PacketBlock>& blocks);
  llvm::Function* packetFunction(const std::string& name, const std::string& section, const ast::Probe& first);
  void planAfxdp();
  void lowerHost();

  const ast::Program& program_;
  const TypeTable& types_;
  CodegenOptions options_;
  Diagnostics& diags_;
  CodeTarget target_;
  std::map<std::string, llvm::GlobalVariable*> xskMaps_;  // afxdp interfaces
  llvm::GlobalVariable* afxdpHit_ = nullptr;                // --pcap with afxdp blocks
  llvm::GlobalVariable* devMap_ = nullptr;
  std::map<const ast::AttachPoint*, uint32_t> afxdpBodies_;
  std::unique_ptr<llvm::LLVMContext> context_;
  std::unique_ptr<llvm::Module> module_;
  std::unique_ptr<llvm::DIBuilder> di_;
  llvm::DICompileUnit* cu_ = nullptr;
  llvm::DIFile* diFile_ = nullptr;
  std::unique_ptr<CoreTypes> core_;
  std::map<std::string, MapGlobal> maps_;
  std::deque<ast::AttachPoint> expanded_;  // the matches of tracepoint patterns, one attach point each
  llvm::GlobalVariable* events_ = nullptr;
  llvm::GlobalVariable* lost_ = nullptr;
  llvm::GlobalVariable* refused_ = nullptr;
  llvm::GlobalVariable* start_ = nullptr;
  llvm::GlobalVariable* loopCap_ = nullptr;
  llvm::GlobalVariable* queues_ = nullptr;
  llvm::GlobalVariable* skipped_ = nullptr;
  llvm::GlobalVariable* exited_ = nullptr;
  std::map<uint32_t, llvm::GlobalVariable*> stacks_;
  struct Heap {
    std::vector<llvm::GlobalVariable*> standIns;
    uint32_t bytes = 0;
  };
  std::map<std::string, Heap> heaps_;  // by function, or by dispatch program
  std::string heapGroup_;
  std::set<std::string> heapUsers_;
  void finishHeaps();
  CompiledScript info_;
};

// A syscalls:sys_enter_NAME / sys_exit_NAME tracepoint lowered onto the raw
// sys_enter / sys_exit tracepoint (see syscalls.h).
struct RawSyscall {
  enum class Kind { None, Enter, Exit } kind = Kind::None;
  int64_t number = -1;
};
RawSyscall rawSyscallFor(const ast::AttachPoint& ap);

// Lowers one probe block, for one of its attach points, into one function.
// `symbol` is the traced function of a uprobe (for func), empty otherwise.
// `filtered`: a syscall block called for its own syscall only (no number check).
void lowerFunction(ModuleLowering& m, const ast::Probe& probe, const ast::AttachPoint& ap, const RawSyscall& raw,
                   const std::string& symbol, llvm::Function* fn, bool filtered = false, const UserArguments& user = {});

// One probe block on several syscall tracepoints of one direction, as one
// program on the raw sys_enter or sys_exit tracepoint: a case per syscall.
struct SyscallCase {
  const ast::AttachPoint* ap;  // tracepoint:syscalls:sys_enter_NAME
  RawSyscall raw;
};
void lowerSyscallDispatch(ModuleLowering& m, const ast::Probe& probe, const std::vector<SyscallCase>& cases,
                          const std::vector<llvm::Function*>& blocks, llvm::Function* fn);

// The blocks of one xdp program (one interface, or all of them with --pcap),
// in script order, into one function.
void lowerPacketFunction(ModuleLowering& m, const std::vector<PacketBlock>& blocks, llvm::Function* fn);

}  // namespace dptrace

// The lowering of one probe block into one BPF function, shared by the files
// that implement it by construct family:
//   lower_function.cpp     the function, its stack arena, slots and helpers
//   probe_context.cpp      builtins, tracepoint fields, syscall tracepoints
//   lower_expressions.cpp  operators, casts, tuples, calls with values
//   lower_maps.cpp         map reads and stores, aggregations, histograms
//   lower_statements.cpp   control flow, assignments, ring-buffer records
//   lower_memory.cpp       struct fields through pointers, p[i], *p
//
// Values are i64 (integers normalised to their type's width and sign) or
// pointers to zero-padded buffers in slot layout (strings, tuples), on the
// stack or in the function's heap.
// Private to codegen/.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "builtins.h"
#include "lowering.h"
#include "syscalls.h"

namespace dptrace {

using llvm::BasicBlock;
using llvm::Value;

inline constexpr uint64_t kAny = 0, kNoExist = 1;
inline constexpr uint32_t kStackBytes = 512;  // the BPF stack of one program
inline constexpr uint32_t kMaxRecordBytes = 8192;
inline constexpr uint32_t kFibParamsSize = 64;  // sizeof(struct bpf_fib_lookup)
inline constexpr uint64_t kFibNoXdpEgress = 100;     // fib_lookup(): forwarded out of an interface not in the device map
inline constexpr uint64_t kFibIpv6Extensions = 101;  // fib_lookup(): IPv6 extension headers hide the ports: not asked  // a printf's values, in the heap if need be
inline constexpr uint32_t kHeapBytes = 16384;  // a function's heap (the per-CPU allocator takes up to 32 KiB)

struct Val {
  Value* v = nullptr;
  bool buffer = false;  // v points at slot-layout bytes
};

struct Loop {
  BasicBlock* breakTo;
  BasicBlock* continueTo;
};

inline bool isSigned(const Type& t) { return t.is(TypeKind::Integer) && t.isSigned(); }

// The headers of the packet an xdp function was given: each a pointer into
// the packet and whether it is there (not truncated, not malformed, L4 not
// in a later IPv4 fragment), kept in stack slots that every read loads (SROA
// makes them phis) and that a VLAN push or pop fills again. Presence is a
// separate integer, never a null test of the pointer: LLVM would fold
// `p != null || q != null` into `(p | q) != null`, which the verifier refuses.
struct PacketHeader {
  Value* at = nullptr;       // valid where present is 1
  Value* present = nullptr;  // i64 0 or 1
};
struct PacketSlots {
  std::map<std::string, std::pair<Value*, Value*>> views;  // eth, vlan (the outer tag's TCI), ip, ip6, tcp, udp, icmp, icmp6, gtp
  Value* ethType = nullptr;                                // i64: the ethertype after the tags, as loaded (network order)
};

class FunctionLowering {
public:
  FunctionLowering(ModuleLowering& m, const ast::Probe& probe, const ast::AttachPoint& ap, const RawSyscall& raw,
                   const std::string& symbol, llvm::Function* fn, const UserArguments& user = {})
      : m_(m), probe_(&probe), ap_(&ap), raw_(raw), symbol_(symbol), user_(user), fn_(fn), ctx_(m.context()), b_(ctx_) {}

  void run(bool filtered = false);
  // The program of a syscall pattern (tracepoint:syscalls:sys_enter_*): a
  // call of `blocks[i]` for the syscall of `cases[i]`.
  void runDispatch(const std::vector<SyscallCase>& cases, const std::vector<llvm::Function*>& blocks);
  // An xdp program: the blocks of one interface, in script order.
  void runPacket(const std::vector<PacketBlock>& blocks);

private:
  // ---- packets (lower_packet.cpp)
  // Finds the headers (again after a VLAN push or pop), into pkt_.
  void parsePacket();
  Value* contextPointer(uint32_t offsetInContext);
  Value* loadPacket(Value* header, uint32_t offset, uint32_t bytes);  // host order
  std::optional<PacketHeader> header(const std::string& view);        // loaded here; none for pkt
  Val packetField(const std::string& view, const std::string& field, SourceRange r);
  Value* viewPresent(const std::string& view);
  void packetAction(const ast::Call& c);
  // An afxdp block in the kernel: the frame into the socket of its rx queue
  // (afxdp:IF:Q: queue Q only); with --pcap, the block's number into afxdp_hit.
  void redirectToSocket();
  // A field assignment, with every checksum that covers the field updated.
  void packetWrite(const ast::Field& target, const Val& v);
  void setPacketLength(const Val& v);
  void capture(const ast::Call& c);
  Val fibLookup();
  void swapFields(const ast::Call& c);
  void moveMacAddresses(Value* data, uint32_t from, uint32_t to);
  void vlanPop();
  void vlanPush(const ast::Expr& id);
  // Runs `then` only where `condition` holds, then continues after it.
  void onlyIf(Value* condition, const std::function<void()>& then);
  void updateChecksum(Value* at, Value* delta, bool udp);
  // Continues only where `p` is not null; else goes where an absent read goes.
  void requirePresent(Value* p);
  bool inPacket() const { return packet_; }
  // The end of the current block: the next block of an xdp program, or a return.
  void leaveBlock();
  void lowerBody();
  BasicBlock* beginProbeFunction();
  void endProbeFunction(BasicBlock* body);

  // ------------------------------------------------------------ syscall tracepoints
  // On raw sys_enter the context is {struct pt_regs *regs, long id}; on raw
  // sys_exit it is {regs, long ret}, and the number is regs->orig_ax.
  Value* syscallRegister(uint32_t offsetInRegs);
  const FunctionSignature* uprobeSignature() const;
  Value* parameter(unsigned i);
  // Before a uprobe block: the port and queue of a DPDK burst call; the
  // record of a uretprobe's arguments (read, or written by its entry half).
  // False: the program returned (a call it skips, or an entry half's end).
  bool userPrologue();
  // A script that calls exit(): return at once once it has.
  void stopAfterExit();
  Value* atLocation(const ParameterLocation& at, const Type& t);
  Value* integerArgument(unsigned i, bool kernel = false);
  Value* stackArgument(uint32_t offsetAboveReturn, bool kernel = false);

  // ---- traced memory (lower_memory.cpp)
  uint32_t elementSize(const Type& t);
  // Does memory of `space` lie in a process (Probe: do this probe's pointers point into one)?
  bool userMemory(AddressSpace space = AddressSpace::Probe) const;
  void join(const ast::Call& c);
  Value* wakeupFlags();
  Value* reserveRecord(uint64_t size, EventKind kind, uint64_t index, llvm::BasicBlock* done);
  // -k/-kk: when `ret` (a helper's return) is below 0, a record that says
  // where (the statement) and what; only at `level` or above.
  void checkHelper(Helper h, Value* ret, int level);
  uint64_t pointerStride(const Type& pointer);
  Val readMemory(Value* address, const Type& t, uint32_t size, AddressSpace space);
  std::optional<Val> structField(const ast::Field& f);
  Val recordField(const ast::Field& f);
  const StructField* fieldOf(const ast::Field& f, const StructLayout*& layout);
  Value* fieldAddress(Value* base, const StructLayout& layout, const StructField& field);
  Val relocatedInteger(Value* base, const StructLayout& layout, const StructField& field, const Type& t, AddressSpace space);
  // fentry, fexit, rawtracepoint: the context is an array of 64-bit slots.
  const KernelSignature* kernelSignature() const;
  std::string probeName() const { return probeName(symbol_); }
  std::string probeName(const std::string& symbol) const;
  std::string functionName(const std::string& symbol) const;  // func of a uprobe of `symbol`
  // One of `names`, by the BPF cookie of the attachment that ran the program:
  // the string of the function it serves, from a table in .rodata.
  Value* nameByCookie(const std::vector<std::string>& names, uint32_t capacity);
  Value* slotValue(uint32_t i, const Type& t);
  Val index(const ast::Index& e);
  Val dereference(const ast::Unary& u);

  void filterSyscall();

  Val tracepointField(const TracepointFormat& format, const TracepointField& tf, const Type& type);
  // A field of a syscall tracepoint's format, read from the raw context.
  Val syscallField(const TracepointFormat& format, const TracepointField& f);

  // ------------------------------------------------------------ basics
  void at(SourceRange r);

  const Type& typeOf(const ast::Expr& e) { return m_.types().of(e); }
  llvm::Type* i64() { return b_.getInt64Ty(); }
  llvm::Type* ptr() { return b_.getPtrTy(); }

  Value* entryAlloca(uint32_t size);

  Value* readSlot();
  Value* readSlot_ = nullptr;

  // A temporary buffer in the statement's part of the arena, or of the heap
  // when the arena is full.
  Value* stackSlot(uint32_t size);

  Value* zeroedBuffer(uint32_t size);
  // memset and memcpy in pieces the BPF back end expands inline.
  void zeroBytes(Value* p, uint32_t n);
  void copyBytes(Value* dst, Value* src, uint32_t n);
  bool inHeap(Value* p) const;

  // ---- the heap: what the 512-byte stack has no room for (large strings,
  // tuples, records; variables that do not fit beside the arena) lives in
  // this function's element of a one-element per-CPU array, looked up once
  // where the body starts (as bpftrace's scratch maps). Variables first,
  // then the statement's part. Every address in it is made from the
  // element's address loaded (volatile) from a stack slot where it is used:
  // no heap address lives across statements, to be spilled. Host code
  // (afxdp bodies) has no such limit.
  Value* heapSlot(uint32_t size);
  Value* heapAt(uint32_t offset);
  // Where the heap is looked up: here (the body's start, after the filters
  // that end most calls), else at the entry.
  BasicBlock* markHeapStart();
  // A variable's storage: on the stack, or in the heap if allocateVariables put it there.
  Value* variableStorage(const ast::Probe* probe, const std::string& name, const Type& type, int64_t& heapOffset);
  // Ends the entry block: to `body`; with a heap (or records in loops), its
  // lookup (the lost counter's) where it starts.
  void endEntry(BasicBlock* body);
  Value* lookupAtStart(Value* map, Value* slot, BasicBlock*& rest);
  Value* heapSlot_ = nullptr;                    // the stack slot of the element's address; null: no heap
  // Records inside while loops: the lost-event counter's address, looked up
  // once where the heap's is (endEntry), so that each record adds its
  // failure without a branch. Null: no record in a loop.
  Value* lostSlot_ = nullptr;
  int whileDepth_ = 0;                           // while loops around the statement being lowered
  BasicBlock* heapStart_ = nullptr;              // its lookup goes before this block's terminator
  llvm::GlobalVariable* heapStandIn_ = nullptr;  // the map, until its size is known
  uint32_t heapVariables_ = 0;                   // bytes of variables at its start
  uint32_t heapVariablesUsed_ = 0;
  uint32_t heapUsed_ = 0;  // the statement's part, after the variables
  uint32_t heapPeak_ = 0;
  std::set<std::pair<const ast::Probe*, std::string>> heapVariableNames_;
  // A new statement: its temporaries start again at the arena's beginning.
  void newStatement() { arenaUsed_ = 0, heapUsed_ = 0; }

  Value* offset(Value* base, uint32_t bytes) { return bytes ? b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), base, bytes) : base; }

  Value* call(Helper h, llvm::Type* ret, std::vector<Value*> args);

  Value* normalize(Value* v, const Type& t);
  // The low `bits` of v with their bytes reversed, zero-extended (network <-> host order).
  Value* byteSwap(Value* v, uint32_t bits);

  Val zero() { return {b_.getInt64(0), false}; }

  // Stores a value of type `from` into a slot of type `to` at base+off.
  void storeSlot(Value* base, uint32_t off, const Val& v, const Type& from, const Type& to);

  Val loadSlot(Value* base, uint32_t off, const Type& t);

  Value* constantString(const std::string& s, uint32_t capacity);

  void incrementCounter(llvm::GlobalVariable* map, uint32_t index);

  // ------------------------------------------------------------ expressions
  Value* condition(const ast::Expr& e);

  Val expr(const ast::Expr& e);

  Val builtin(const ast::Identifier& id);
  Val stack(bool user, const StackOptions& options);
  Val strcontains(const ast::Call& c);
  Val variableAddress(const ast::Variable& v);

  Val field(const ast::Field& f);

  Val unary(const ast::Unary& u);

  Val increment(const ast::Unary& u);

  Val binary(const ast::Binary& e);

  Val logical(const ast::Binary& e);
  Value* divide(Value* l, Value* r, bool isSignedDivision, bool quotient);
  Value* arithmetic(ast::BinaryOp op, Value* l, Value* r, const Type& t);

  Val ternary(const ast::Ternary& t);

  Val callValue(const ast::Call& c);

  // ------------------------------------------------------------ maps
  // The BPF key of @m[k...], plus room for a histogram bucket.
  Value* mapKey(const ast::Map& m, const MapLayout& l);

  Val mapRead(const ast::Map& m);

  void mapStore(const ast::Map& m, const Val& v, const Type& from);

  void refusedIf(Value* failed, size_t mapIndex);

  // The per-CPU value of an aggregation entry, created zeroed if missing.
  // Continues in a block where the pointer is known not to be null; returns
  // the block to branch to when done.
  Value* aggregationEntry(const MapGlobal& g, const MapLayout& l, Value* key, const std::function<Value*()>& first,
                          BasicBlock*& done);

  Value* histogramBucket(Value* v, const Type& t);
  Value* totalHigh(Value* v, const Type& t);

  Value* linearBucket(Value* v, const Type& t, const MapLayout& l);

  void aggregate(const ast::Map& m, const ast::Call& c);

  // ------------------------------------------------------------ statements
  void storeTo(const ast::Expr& target, const Val& v, const Type& from);

  void assign(const ast::Assign& s);

  // A ring-buffer record: kind, index, then the values.
  void event(EventKind kind, uint64_t index, const std::vector<const ast::Expr*>& args);

  void callStatement(const ast::Call& c);

  void statement(const ast::Stmt& s);
  void statementBody(const ast::Stmt& s);

  void block(const ast::Block& b);

  struct VariableSlot {
    Value* storage;  // null for one in the heap
    Type type;
    int64_t heapOffset = -1;
  };
  Value* variablePointer(const VariableSlot& v) { return v.storage ? v.storage : heapAt(static_cast<uint32_t>(v.heapOffset)); }

  void allocateVariables(const std::vector<const ast::Probe*>& probes);

  // How many statements of the probe store into each map (aggregationEntry).
  uint32_t storeSites(const std::string& map);
  std::optional<std::map<std::string, uint32_t>> storeSites_;

  ModuleLowering& m_;
  const ast::Probe* probe_;
  const ast::AttachPoint* ap_;
  RawSyscall raw_;
  std::string symbol_;
  UserArguments user_;
  Value* fastPort_ = nullptr;   // DPDK burst probes: the call's port and queue (i64)
  Value* fastQueue_ = nullptr;
  Value* record_ = nullptr;     // a uretprobe's record of its entry's arguments
  llvm::Function* fn_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> b_;
  BasicBlock* entry_ = nullptr;
  std::map<std::string, VariableSlot> variables_;
  std::vector<Loop> loops_;
  Value* arena_ = nullptr;
  uint32_t arenaSize_ = 0;
  uint32_t arenaPeak_ = 0;  // the most any statement used
  void shrinkArena();
  uint32_t arenaUsed_ = 0;
  SourceRange statementRange_;
  bool stackReported_ = false;
  // xdp programs
  bool packet_ = false;
  // How deep the packet parse goes: as deep as the deepest view any block of
  // the program reads (0 none, 1 eth and vlan, 2 ip and ip6, 3 tcp, udp,
  // icmp and icmp6, 4 gtp); a block that reads only eth does not parse IP.
  int parseDepth_ = 4;
  PacketSlots pkt_;
  BasicBlock* absent_ = nullptr;     // where a read of an absent header goes
  BasicBlock* nextBlock_ = nullptr;  // the next block of the program
  std::map<std::string, Value*> variableSet_;  // per variable: was it assigned on this packet?
  Value* loopTrips_ = nullptr;  // host code: the loop iterations of this frame, all loops together
  bool unavailableReported_ = false;
};

}  // namespace dptrace

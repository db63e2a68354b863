// The function of one probe block: its stack arena, slots and helper calls.
#include "function_lowering.h"
#include "visitor.h"

#include <map>
#include <algorithm>
#include <functional>

namespace dptrace {

namespace {

// Every scratch variable's largest slot, so that each gets one stack buffer.
struct VariableSizes : ast::Visitor<VariableSizes, true> {
  using Visitor::visit;
  const TypeTable& types;
  std::map<std::string, Type> largest;
  explicit VariableSizes(const TypeTable& t) : types(t) {}
  void visit(const ast::Variable& v) {
    const Type& t = types.of(v);
    auto it = largest.find(v.name);
    if (it == largest.end() || slotSize(t) > slotSize(it->second)) largest[v.name] = t;
  }
};

}  // namespace

// Every scratch variable gets its own stack slot (variables of different
// blocks of an xdp program too); temporaries live in one arena that every
// statement reuses, since no value outlives its statement. Variables that
// leave the arena less than kMinArena bytes go to the heap, largest first.
void FunctionLowering::allocateVariables(const std::vector<const ast::Probe*>& probes) {
  constexpr uint32_t kMinArena = 128;
  // xdp programs keep their header pointers and presence flags on the stack too.
  uint32_t reserved = packet_ ? 192 : 64;
  std::vector<std::pair<uint32_t, std::pair<const ast::Probe*, std::string>>> all;
  uint32_t variableBytes = 0;
  for (const ast::Probe* probe : probes) {
    VariableSizes sizes(m_.types());
    sizes.visit(probe->body);
    if (probe->predicate) sizes.visitExpr(*probe->predicate);
    for (auto& [name, type] : sizes.largest) {
      uint32_t size = std::max<uint32_t>(8, slotSize(type));
      variableBytes += size;
      all.push_back({size, {probe, name}});
    }
  }
  // Heap-first (a function that uses the heap, lowered again before the back
  // end runs, or one the back end found over the stack): every variable and
  // temporary but the smallest in the heap (compileScript).
  bool heapFirst = !m_.host() && m_.heapArena(fn_->getName().str());
  if (!m_.host()) {
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    for (const auto& [size, variable] : all) {
      bool stackTakesThem = variableBytes + reserved + kMinArena <= kStackBytes;
      if ((!heapFirst && stackTakesThem) || size <= 8) break;
      // Heap-first, the stack keeps what would leave the heap's temporaries too little.
      if (heapFirst && stackTakesThem && heapVariables_ + size > kHeapBytes - 4096) break;
      heapVariableNames_.insert(variable);
      heapVariables_ += size;
      variableBytes -= size;
    }
  }
  if (heapVariables_ > kHeapBytes)
    m_.diags().error(probes.front()->range, "the variables of this probe take " + std::to_string(heapVariables_ + variableBytes) +
                                                " bytes, more than the " + std::to_string(kHeapBytes) + " it can hold",
                     "use fewer or shorter string variables (str(p, 32)), or split the work between probes");
  stackReported_ = heapVariables_ > kHeapBytes;  // (its statements' own errors would only repeat it)
  arenaSize_ = heapFirst || variableBytes + reserved + 64 > kStackBytes ? 64 : kStackBytes - reserved - variableBytes;
  arena_ = entryAlloca(arenaSize_);
}

Value* FunctionLowering::variableStorage(const ast::Probe* probe, const std::string& name, const Type& type,
                                         int64_t& heapOffset) {
  uint32_t size = std::max<uint32_t>(8, slotSize(type));
  if (!heapVariableNames_.count({probe, name})) return entryAlloca(size);
  heapOffset = heapVariablesUsed_;
  heapVariablesUsed_ += size;
  return nullptr;
}

// The entry block (allocas only) and the body block it branches to, with the
// arena and a slot per scratch variable of the probe; continues in the body.
BasicBlock* FunctionLowering::beginProbeFunction() {
  entry_ = BasicBlock::Create(ctx_, "entry", fn_);
  BasicBlock* body = BasicBlock::Create(ctx_, "body", fn_);
  b_.SetInsertPoint(body);
  allocateVariables({probe_});
  VariableSizes sizes(m_.types());
  sizes.visit(probe_->body);
  if (probe_->predicate) sizes.visitExpr(*probe_->predicate);
  // Each call's variables start zeroed, as bpftrace's: one that a branch did
  // not set reads empty, never what an earlier call left (LLVM drops the
  // stores a first assignment overwrites; the heap's are zeroed at its lookup).
  for (auto& [name, type] : sizes.largest) {
    int64_t heapOffset = -1;
    Value* storage = variableStorage(probe_, name, type, heapOffset);
    variables_[name] = {storage, type, heapOffset};
    if (storage) zeroBytes(storage, std::max<uint32_t>(8, slotSize(type)));
  }
  return body;
}

void FunctionLowering::endProbeFunction(BasicBlock* body) {
  endEntry(body);
  shrinkArena();
}

// Element 0 of `map`, looked up where the body starts (before heapStart_'s
// terminator, else the entry's) and kept in `slot`. The function returns
// (XDP_PASS for packets) when it is missing, which a one-element array never
// is but the verifier wants tested. Leaves the builder where it was found; the
// caller ends that block with a branch to `rest`.
Value* FunctionLowering::lookupAtStart(Value* map, Value* slot, BasicBlock*& rest) {
  BasicBlock* at = heapStart_ ? heapStart_ : entry_;
  rest = at->getTerminator()->getSuccessor(0);
  at->getTerminator()->eraseFromParent();
  b_.SetInsertPoint(at);
  Value* key = entryAlloca(8);
  b_.CreateAlignedStore(b_.getInt64(0), key, llvm::Align(8));
  Value* element = call(Helper::MapLookupElem, ptr(), {map, key});
  b_.CreateAlignedStore(element, slot, llvm::Align(8));
  BasicBlock* none = BasicBlock::Create(ctx_, "missing", fn_);
  BasicBlock* found = BasicBlock::Create(ctx_, "found", fn_);
  b_.CreateCondBr(b_.CreateIsNull(element), none, found);
  b_.SetInsertPoint(none);
  b_.CreateRet(llvm::ConstantInt::get(fn_->getReturnType(), packet_ ? kXdpPass : 0));
  b_.SetInsertPoint(found);
  return element;
}

void FunctionLowering::endEntry(BasicBlock* body) {
  b_.SetInsertPoint(entry_);
  b_.CreateBr(body);
  BasicBlock* rest = nullptr;
  if (lostSlot_ != nullptr) {  // the lost counter's element, for the records in loops
    lookupAtStart(m_.lost(), lostSlot_, rest);
    b_.CreateBr(rest);
    heapStart_ = b_.GetInsertBlock();  // the heap's lookup, if any, after this one
    lostSlot_ = nullptr;
  }
  if (heapSlot_ == nullptr) return;
  // The heap's variables zeroed at its lookup (an element keeps what the last
  // call left: a variable one branch sets reads empty in the other, as on the stack).
  Value* element = lookupAtStart(heapStandIn_, heapSlot_, rest);
  if (heapVariables_) zeroBytes(element, heapVariables_);
  b_.CreateBr(rest);
  m_.requestHeap(fn_->getName().str(), heapStandIn_, std::max<uint32_t>(8, heapVariables_ + heapPeak_));
  heapStandIn_ = nullptr;
}

BasicBlock* FunctionLowering::markHeapStart() {
  if (m_.host()) return nullptr;
  BasicBlock* start = BasicBlock::Create(ctx_, "heap_lookup", fn_);
  BasicBlock* rest = BasicBlock::Create(ctx_, "body_start", fn_);
  b_.CreateBr(start);
  b_.SetInsertPoint(start);
  b_.CreateBr(rest);
  b_.SetInsertPoint(rest);
  return start;
}

Value* FunctionLowering::heapAt(uint32_t off) {
  if (heapSlot_ == nullptr) {
    heapStandIn_ = new llvm::GlobalVariable(m_.module(), b_.getInt8Ty(), false, llvm::GlobalValue::ExternalLinkage,
                                            nullptr, "heap.standin");
    heapSlot_ = entryAlloca(8);
  }
  auto* base = b_.CreateAlignedLoad(ptr(), heapSlot_, llvm::Align(8));
  base->setVolatile(true);
  return offset(base, off);
}

Value* FunctionLowering::heapSlot(uint32_t size) {
  Value* p = heapAt(heapVariables_ + heapUsed_);
  heapUsed_ += size;
  heapPeak_ = std::max(heapPeak_, heapUsed_);
  return p;
}

// The arena was made as large as the stack allows; once every statement is
// lowered it shrinks to what the largest one used, so that the stack LLVM
// spills values to (many kernel struct reads in one expression) is not taken.
void FunctionLowering::shrinkArena() {
  auto* old = llvm::dyn_cast_or_null<llvm::AllocaInst>(arena_);
  if (old == nullptr || arenaPeak_ >= arenaSize_) return;
  llvm::IRBuilder<> entry(old);
  auto* shrunk = entry.CreateAlloca(llvm::ArrayType::get(b_.getInt8Ty(), std::max<uint32_t>(arenaPeak_, 8)));
  shrunk->setAlignment(llvm::Align(8));
  old->replaceAllUsesWith(shrunk);
  old->eraseFromParent();
  arena_ = shrunk;
}

void FunctionLowering::run(bool filtered) {
  BasicBlock* body = beginProbeFunction();
  // After exit() nothing more runs, END aside (bpftrace's exit() stops the
  // run at once: events already on their way count no more).
  if (!filtered) stopAfterExit();
  if (raw_.kind != RawSyscall::Kind::None && !filtered) filterSyscall();
  if (userPrologue()) lowerBody();
  endProbeFunction(body);
}

void FunctionLowering::stopAfterExit() {
  if (!m_.exited() || ap_->kind == ProbeKind::End) return;
  at(probe_->range);
  newStatement();
  Value* key = stackSlot(8);
  b_.CreateAlignedStore(b_.getInt32(0), key, llvm::Align(8));
  Value* p = call(Helper::MapLookupElem, ptr(), {m_.exited(), key});
  BasicBlock* check = BasicBlock::Create(ctx_, "exit_check", fn_);
  BasicBlock* stop = BasicBlock::Create(ctx_, "exited", fn_);
  BasicBlock* go = BasicBlock::Create(ctx_, "running", fn_);
  b_.CreateCondBr(b_.CreateIsNotNull(p), check, go);
  b_.SetInsertPoint(check);
  b_.CreateCondBr(b_.CreateICmpNE(b_.CreateAlignedLoad(i64(), p, llvm::Align(8)), b_.getInt64(0)), stop, go);
  b_.SetInsertPoint(stop);
  b_.CreateRet(b_.getInt64(0));
  b_.SetInsertPoint(go);
}

bool FunctionLowering::userPrologue() {
  if (!isUserProbe(ap_->kind)) return true;
  at(probe_->range);
  newStatement();
  // Continues where `missing` is false; else counts in skipped[counter]
  // (unless negative), runs `before` and returns.
  auto skip = [&](Value* missing, int counter, const std::function<void()>& before = {}) {
    BasicBlock* no = BasicBlock::Create(ctx_, "skip", fn_);
    BasicBlock* yes = BasicBlock::Create(ctx_, "known", fn_);
    b_.CreateCondBr(missing, no, yes);
    b_.SetInsertPoint(no);
    if (counter >= 0) incrementCounter(m_.skipped(), static_cast<uint32_t>(counter));
    if (before) before();
    b_.CreateRet(b_.getInt64(0));
    b_.SetInsertPoint(yes);
  };
  // A uretprobe's record: by thread and by the stack pointer at the entry
  // (the return address's slot; after the return it is 8 bytes lower in
  // the stack), so that a recursive call has its own. Its last word says
  // whether the entry recorded the arguments (1) or skipped the call (0).
  uint32_t words = static_cast<uint32_t>(user_.saved.size());
  Value* key = nullptr;
  if (user_.record) {
    key = entryAlloca(16);
    b_.CreateAlignedStore(call(Helper::GetCurrentPidTgid, i64(), {}), key, llvm::Align(8));
    Value* sp = b_.CreateAlignedLoad(i64(), offset(fn_->getArg(0), 152), llvm::Align(8));
    if (!user_.save) sp = b_.CreateSub(sp, b_.getInt64(8));
    b_.CreateAlignedStore(sp, offset(key, 8), llvm::Align(8));
  }
  auto recordCall = [&](bool recorded) {
    Value* record = stackSlot(8 * (words + 1));
    for (uint32_t j = 0; recorded && j < words; ++j)
      b_.CreateAlignedStore(parameter(user_.saved[j]), offset(record, 8 * j), llvm::Align(8));
    b_.CreateAlignedStore(b_.getInt64(recorded ? 1 : 0), offset(record, 8 * words), llvm::Align(8));
    call(Helper::MapUpdateElem, i64(), {user_.record, key, record, b_.getInt64(0)});
  };
  // A DPDK burst call's queue is looked up in every entry probe (a call on an
  // unknown queue is skipped), and in a uretprobe's entry half when the
  // return reads the port or the queue.
  bool lookup = user_.save ? std::any_of(user_.saved.begin(), user_.saved.end(), [](unsigned i) { return i < 2; })
                           : ap_->kind == ProbeKind::Uprobe;
  if (user_.fastPath != FastPath::None && lookup) {
    // The PMD function's first argument is the queue the burst call took
    // from rte_eth_fp_ops[port].rxq.data[queue]: the runtime's table says
    // which. A call on another queue is skipped (its return too).
    Value* slot = stackSlot(8);
    Value* queue = integerArgument(0);
    if (user_.fastPath == FastPath::TxBurst) queue = b_.CreateOr(queue, b_.getInt64(1ull << 63));
    b_.CreateAlignedStore(queue, slot, llvm::Align(8));
    Value* p = call(Helper::MapLookupElem, ptr(), {m_.queues(), slot});
    skip(b_.CreateIsNull(p), 0, user_.save ? std::function<void()>([&] { recordCall(false); }) : nullptr);
    Value* v = b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt32Ty(), p, llvm::Align(4)), i64());
    fastPort_ = b_.CreateLShr(v, 16);
    fastQueue_ = b_.CreateAnd(v, 0xffff);
  }
  if (user_.record == nullptr) return true;
  if (user_.save) {
    recordCall(true);
    b_.CreateRet(b_.getInt64(0));
    return false;
  }
  // The return: the record copied out (another CPU may reuse a deleted
  // element at once), then deleted.
  Value* found = call(Helper::MapLookupElem, ptr(), {user_.record, key});
  skip(b_.CreateIsNull(found), 1);
  record_ = entryAlloca(8 * words);
  b_.CreateMemCpy(record_, llvm::MaybeAlign(8), found, llvm::MaybeAlign(8), 8 * words);
  Value* recorded = b_.CreateAlignedLoad(i64(), offset(found, 8 * words), llvm::Align(8));
  call(Helper::MapDeleteElem, i64(), {user_.record, key});
  skip(b_.CreateICmpEQ(recorded, b_.getInt64(0)), -1);  // the entry skipped it, and counted it
  return true;
}

// The predicate, then the block, then a return.
void FunctionLowering::lowerBody() {
  // The heap is looked up after the predicate (most calls end there), unless
  // the predicate itself uses it.
  BasicBlock* early = markHeapStart();
  if (probe_->predicate) {
    at(probe_->predicate->range);
    statementRange_ = probe_->predicate->range;
    newStatement();
    BasicBlock* pass = BasicBlock::Create(ctx_, "predicate_true", fn_);
    BasicBlock* skip = BasicBlock::Create(ctx_, "predicate_false", fn_);
    b_.CreateCondBr(condition(*probe_->predicate), pass, skip);
    b_.SetInsertPoint(skip);
    b_.CreateRet(b_.getInt64(0));
    b_.SetInsertPoint(pass);
  }
  BasicBlock* late = heapSlot_ ? nullptr : markHeapStart();
  heapStart_ = late ? late : early;
  block(probe_->body);
  if (!b_.GetInsertBlock()->getTerminator()) b_.CreateRet(b_.getInt64(0));
}

// The syscall number selects the case; each case calls the block lowered for
// its own tracepoint (its args fields, its `probe`), a subprogram of its own.
// This function keeps 8 bytes of stack: the subprogram's frame adds to it.
void FunctionLowering::runDispatch(const std::vector<SyscallCase>& cases, const std::vector<llvm::Function*>& blocks) {
  entry_ = BasicBlock::Create(ctx_, "entry", fn_);
  BasicBlock* body = BasicBlock::Create(ctx_, "body", fn_);
  b_.SetInsertPoint(body);
  arenaSize_ = 8;
  arena_ = entryAlloca(arenaSize_);
  stopAfterExit();
  at(probe_->range);
  newStatement();
  bool enter = cases.front().raw.kind == RawSyscall::Kind::Enter;
  Value* nr = enter ? static_cast<Value*>(b_.CreateAlignedLoad(i64(), offset(fn_->getArg(0), 8), llvm::Align(8)))
                    : syscallRegister(syscallRegisters().origAx);
  BasicBlock* other = BasicBlock::Create(ctx_, "other_syscall", fn_);
  llvm::SwitchInst* sw = b_.CreateSwitch(nr, other, static_cast<unsigned>(cases.size()));
  b_.SetInsertPoint(other);
  b_.CreateRet(b_.getInt64(0));
  for (size_t i = 0; i < cases.size(); ++i) {
    BasicBlock* mine = BasicBlock::Create(ctx_, "sys_" + cases[i].ap->function, fn_);
    sw->addCase(b_.getInt64(static_cast<uint64_t>(cases[i].raw.number)), mine);
    b_.SetInsertPoint(mine);
    b_.CreateRet(b_.CreateCall(blocks[i], {fn_->getArg(0)}));
  }
  endProbeFunction(body);
}

// The deepest packet view the blocks read (FunctionLowering::parseDepth_).
struct PacketDepth : ast::Visitor<PacketDepth, true> {
  using Visitor::visit;
  int depth = 0;
  void visit(const ast::Identifier& id) {
    static const std::map<std::string, int> kDepth = {{"eth", 1}, {"vlan", 1}, {"ip", 2},    {"ip6", 2},  {"tcp", 3},
                                                      {"udp", 3}, {"icmp", 3}, {"icmp6", 3}, {"gtp", 4}};
    if (auto it = kDepth.find(id.name); it != kDepth.end()) depth = std::max(depth, it->second);
  }
  void visit(const ast::Call& c) {
    if (c.callee == "fib_lookup") depth = std::max(depth, 3);  // addresses, ports, TOS or flow label
    if (c.callee == "vlan_pop" || c.callee == "vlan_push") depth = std::max(depth, 1);
    if (c.callee == "swap")
      for (const auto& a : c.args) written(*a.value);
    Visitor::visit(c);
  }
  void visit(const ast::Assign& a) {
    written(*a.target);
    Visitor::visit(a);
  }
  void visit(const ast::Unary& u) {
    if (u.op == ast::UnaryOp::PreIncrement || u.op == ast::UnaryOp::PreDecrement || u.op == ast::UnaryOp::PostIncrement ||
        u.op == ast::UnaryOp::PostDecrement)
      written(*u.operand);
    Visitor::visit(u);
  }
  // An IP field written: the TCP and UDP checksums cover the addresses and
  // the length (the pseudo-header), so the L4 headers must be found too.
  void written(const ast::Expr& e) {
    if (e.kind != ast::ExprKind::Field) return;
    const auto& f = static_cast<const ast::Field&>(e);
    if (f.base->kind != ast::ExprKind::Identifier) return;
    const std::string& view = static_cast<const ast::Identifier&>(*f.base).name;
    if (view == "ip" || view == "ip6") depth = std::max(depth, 3);
  }
};

void FunctionLowering::runPacket(const std::vector<PacketBlock>& blocks) {
  packet_ = true;
  PacketDepth depth;
  for (const PacketBlock& pb : blocks) depth.visit(*pb.probe);
  parseDepth_ = depth.depth;
  entry_ = BasicBlock::Create(ctx_, "entry", fn_);
  BasicBlock* body = BasicBlock::Create(ctx_, "parse", fn_);
  b_.SetInsertPoint(body);
  std::vector<const ast::Probe*> probes;
  for (const PacketBlock& pb : blocks) probes.push_back(pb.probe);
  allocateVariables(probes);
  at(blocks.front().probe->range);
  parsePacket();
  heapStart_ = markHeapStart();
  for (size_t i = 0; i < blocks.size(); ++i) {
    probe_ = blocks[i].probe;
    storeSites_.reset();  // counted per block
    ap_ = blocks[i].ap;
    nextBlock_ = BasicBlock::Create(ctx_, "block" + std::to_string(i + 1), fn_);
    // This block's variables: unset until assigned on this packet.
    variables_.clear();
    variableSet_.clear();
    VariableSizes sizes(m_.types());
    sizes.visit(probe_->body);
    if (probe_->predicate) sizes.visitExpr(*probe_->predicate);
    at(probe_->range);
    for (auto& [name, type] : sizes.largest) {
      int64_t heapOffset = -1;
      Value* storage = variableStorage(probe_, name, type, heapOffset);
      variables_[name] = {storage, type, heapOffset};
      llvm::IRBuilder<> entry(entry_, entry_->begin());
      auto* flag = entry.CreateAlloca(b_.getInt8Ty());
      variableSet_[name] = flag;
      b_.CreateStore(b_.getInt8(0), flag);
    }
    // An afxdp block's predicate runs in the kernel and its body in dptrace.
    bool afxdp = ap_->kind == ProbeKind::Afxdp;
    if (probe_->predicate && !m_.host()) {
      at(probe_->predicate->range);
      statementRange_ = probe_->predicate->range;
      newStatement();
      absent_ = nextBlock_;  // a predicate that reads an absent header is false
      BasicBlock* pass = BasicBlock::Create(ctx_, "predicate_true", fn_);
      b_.CreateCondBr(condition(*probe_->predicate), pass, nextBlock_);
      b_.SetInsertPoint(pass);
    }
    if (afxdp && !m_.host()) redirectToSocket();
    else block(probe_->body);
    if (!b_.GetInsertBlock()->getTerminator()) b_.CreateBr(nextBlock_);
    b_.SetInsertPoint(nextBlock_);
  }
  // A packet no action ended is passed; an afxdp body's frame is dropped.
  b_.CreateRet(b_.getInt32(m_.host() ? kXdpDrop : kXdpPass));
  endEntry(body);
  shrinkArena();
}

void FunctionLowering::leaveBlock() {
  if (packet_) b_.CreateBr(nextBlock_);
  else b_.CreateRet(b_.getInt64(0));
}

void FunctionLowering::at(SourceRange r) {
  LineColumn lc = m_.diags().file().lineColumn(r.begin);
  b_.SetCurrentDebugLocation(llvm::DILocation::get(ctx_, lc.line, lc.column, fn_->getSubprogram()));
}

Value* FunctionLowering::entryAlloca(uint32_t size) {
  llvm::IRBuilder<> entry(entry_, entry_->begin());
  auto* slot = entry.CreateAlloca(llvm::ArrayType::get(b_.getInt8Ty(), size));
  slot->setAlignment(llvm::Align(8));
  return slot;
}

// The 8 bytes every read of one integer from traced memory goes through (read,
// then loaded at once): one slot for the whole function, so that a statement
// of many reads takes no arena for them.
Value* FunctionLowering::readSlot() {
  if (readSlot_ == nullptr) readSlot_ = entryAlloca(8);
  return readSlot_;
}

// A temporary buffer in the statement's part of the arena; when the arena is
// full, in the heap (host code: another stack buffer).
Value* FunctionLowering::stackSlot(uint32_t size) {
  size = (size + 7) / 8 * 8;
  if (arenaUsed_ + size > arenaSize_) {
    if (m_.host()) return entryAlloca(size);
    if (heapVariables_ + heapUsed_ + size > kHeapBytes) {
      if (!stackReported_)
        m_.diags().error(statementRange_, "this statement needs more than " + std::to_string(kHeapBytes) +
                                              " bytes for its values",
                         "split it into smaller statements, or use shorter strings (str(p, 32))");
      stackReported_ = true;
      return offset(arena_, 0);
    }
    return heapSlot(size);
  }
  Value* p = offset(arena_, arenaUsed_);
  arenaUsed_ += size;
  arenaPeak_ = std::max(arenaPeak_, arenaUsed_);
  return p;
}

Value* FunctionLowering::zeroedBuffer(uint32_t size) {
  Value* p = stackSlot(std::max<uint32_t>(size, 8));
  zeroBytes(p, std::max<uint32_t>(size, 8));
  return p;
}

// The BPF back end expands a memset or memcpy of up to 128 stores inline and
// refuses a larger one (there is no library to call).
constexpr uint32_t kInlineBytes = 512;

// Is p an address in the heap (made from its element's address, heapAt())?
bool FunctionLowering::inHeap(Value* p) const {
  auto* load = llvm::dyn_cast<llvm::LoadInst>(p->stripInBoundsConstantOffsets());
  return heapSlot_ && load && load->getPointerOperand() == heapSlot_;
}

// LLVM merges adjacent memsets into one: those of the heap, where buffers of
// many hundreds of bytes lie side by side, are volatile to stay apart.
void FunctionLowering::zeroBytes(Value* p, uint32_t n) {
  bool apart = n > kInlineBytes || inHeap(p);
  for (uint32_t done = 0; done < n; done += kInlineBytes)
    b_.CreateMemSet(offset(p, done), b_.getInt8(0), std::min(kInlineBytes, n - done), llvm::MaybeAlign(8), apart);
}

// A copy from or to the heap goes 32 bytes at a time (volatile, so that they
// stay apart): the back end loads a whole piece before it stores it, and a
// piece of hundreds of bytes would spill to the stack the heap relieves.
void FunctionLowering::copyBytes(Value* dst, Value* src, uint32_t n) {
  bool heap = inHeap(dst) || inHeap(src);
  uint32_t piece = heap ? 32 : kInlineBytes;
  for (uint32_t done = 0; done < n; done += piece)
    b_.CreateMemCpy(offset(dst, done), llvm::MaybeAlign(8), offset(src, done), llvm::MaybeAlign(8),
                    std::min(piece, n - done), heap || n > kInlineBytes);
}

Value* FunctionLowering::call(Helper h, llvm::Type* ret, std::vector<Value*> args) {
  std::vector<llvm::Type*> types;
  for (Value* a : args) types.push_back(a->getType());
  auto* fnType = llvm::FunctionType::get(ret, types, false);
  if (m_.host()) {  // a function of the runtime, found by name when the code is loaded
    if (hostHelperName(h) == kHostUnavailable && !unavailableReported_) {
      unavailableReported_ = true;
      m_.diags().error(statementRange_, "an afxdp body cannot read memory through a pointer",
                       "it runs in dptrace, where a kernel or process address means nothing: use the packet views");
    }
    llvm::FunctionCallee f = m_.module().getOrInsertFunction(hostHelperName(h), fnType);
    return b_.CreateCall(f, args);
  }
  Value* callee = b_.CreateIntToPtr(b_.getInt64(static_cast<int64_t>(h)), ptr());
  return b_.CreateCall(fnType, callee, args);
}

Value* FunctionLowering::normalize(Value* v, const Type& t) {
  if (t.is(TypeKind::Bool)) return b_.CreateZExt(b_.CreateICmpNE(v, b_.getInt64(0)), i64());
  if (!t.is(TypeKind::Integer) || t.bits() >= 64) return v;
  Value* narrow = b_.CreateTrunc(v, b_.getIntNTy(t.bits()));
  return t.isSigned() ? b_.CreateSExt(narrow, i64()) : b_.CreateZExt(narrow, i64());
}

// Stores a value of type `from` into a slot of type `to` at base+off.
void FunctionLowering::storeSlot(Value* base, uint32_t off, const Val& v, const Type& from, const Type& to) {
  Value* dst = offset(base, off);
  // An IPv4 or IPv6 address into an inet: its family, then its bytes.
  if (to.is(TypeKind::Inet) && (from.is(TypeKind::Ipv4) || from.is(TypeKind::Ipv6))) {
    bool v4 = from.is(TypeKind::Ipv4);
    b_.CreateAlignedStore(b_.getInt64(v4 ? 4 : 6), dst, llvm::Align(8));
    if (v4) {
      b_.CreateAlignedStore(b_.CreateAnd(v.v, b_.getInt64(0xffffffff)), offset(dst, 8), llvm::Align(8));
      b_.CreateAlignedStore(b_.getInt64(0), offset(dst, 16), llvm::Align(8));
    } else {
      copyBytes(offset(dst, 8), v.v, 16);
    }
    return;
  }
  if (!v.buffer) {
    b_.CreateAlignedStore(normalize(v.v, to), dst, llvm::Align(8));
    return;
  }
  // A tuple into a tuple of other widths ((string[2], s64) into (string[64],
  // s64)): element by element, each at its own offset.
  if (from.is(TypeKind::Tuple) && to.is(TypeKind::Tuple) && from.elements().size() == to.elements().size() &&
      !(from == to)) {
    uint32_t fromOff = 0, toOff = 0;
    for (size_t i = 0; i < to.elements().size(); ++i) {
      const Type& fe = from.elements()[i];
      const Type& te = to.elements()[i];
      Value* at = offset(v.v, fromOff);
      Val element = heldInMemory(fe) ? Val{at, true} : Val{b_.CreateAlignedLoad(i64(), at, llvm::Align(8)), false};
      storeSlot(dst, toOff, element, fe, te);
      fromOff += slotSize(fe);
      toOff += slotSize(te);
    }
    return;
  }
  // A shorter value into a larger slot (a string into a wider variable): the
  // rest zeroed, so that no byte of an earlier value stays behind it.
  uint32_t n = std::min(slotSize(from), slotSize(to));
  copyBytes(dst, v.v, n);
  if (slotSize(to) > n) zeroBytes(offset(dst, n), slotSize(to) - n);
}

Val FunctionLowering::loadSlot(Value* base, uint32_t off, const Type& t) {
  Value* src = offset(base, off);
  if (heldInMemory(t)) {
    Value* copy = zeroedBuffer(slotSize(t));
    copyBytes(copy, src, slotSize(t));
    return {copy, true};
  }
  return {b_.CreateAlignedLoad(i64(), src, llvm::Align(8)), false};
}

Value* FunctionLowering::constantString(const std::string& s, uint32_t capacity) {
  Value* buf = zeroedBuffer((capacity + 7) / 8 * 8);
  for (size_t i = 0; i < s.size() && i + 1 < capacity; i += 8) {
    uint64_t word = 0;
    for (size_t j = 0; j < 8 && i + j < s.size() && i + j + 1 < capacity; ++j)
      word |= uint64_t{static_cast<unsigned char>(s[i + j])} << (8 * j);
    b_.CreateAlignedStore(b_.getInt64(word), offset(buf, static_cast<uint32_t>(i)), llvm::Align(8));
  }
  return buf;
}

void FunctionLowering::incrementCounter(llvm::GlobalVariable* map, uint32_t index) {
  Value* key = stackSlot(8);
  b_.CreateAlignedStore(b_.getInt32(index), key, llvm::Align(8));
  Value* p = call(Helper::MapLookupElem, ptr(), {map, key});
  BasicBlock* bump = BasicBlock::Create(ctx_, "count", fn_);
  BasicBlock* done = BasicBlock::Create(ctx_, "counted", fn_);
  b_.CreateCondBr(b_.CreateIsNotNull(p), bump, done);
  b_.SetInsertPoint(bump);
  Value* old = b_.CreateAlignedLoad(i64(), p, llvm::Align(8));
  b_.CreateAlignedStore(b_.CreateAdd(old, b_.getInt64(1)), p, llvm::Align(8));
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
}

const char* hostHelperName(Helper h) {
  switch (h) {
    case Helper::MapLookupElem: return kHostMapLookup;
    case Helper::MapUpdateElem: return kHostMapUpdate;
    case Helper::MapDeleteElem: return kHostMapDelete;
    case Helper::KtimeGetNs: return kHostKtimeNs;
    case Helper::GetSmpProcessorId: return kHostCpu;
    case Helper::XdpAdjustHead: return kHostAdjustHead;
    case Helper::RingbufOutput: return kHostRingbufOutput;
    case Helper::RingbufQuery: return kHostRingbufQuery;
    default: return kHostUnavailable;
  }
}

void lowerFunction(ModuleLowering& m, const ast::Probe& probe, const ast::AttachPoint& ap, const RawSyscall& raw,
                   const std::string& symbol, llvm::Function* fn, bool filtered, const UserArguments& user) {
  FunctionLowering(m, probe, ap, raw, symbol, fn, user).run(filtered);
}



void lowerSyscallDispatch(ModuleLowering& m, const ast::Probe& probe, const std::vector<SyscallCase>& cases,
                          const std::vector<llvm::Function*>& blocks, llvm::Function* fn) {
  FunctionLowering(m, probe, *cases.front().ap, cases.front().raw, "", fn).runDispatch(cases, blocks);
}

void lowerPacketFunction(ModuleLowering& m, const std::vector<PacketBlock>& blocks, llvm::Function* fn) {
  FunctionLowering(m, *blocks.front().probe, *blocks.front().ap, RawSyscall{}, "", fn).runPacket(blocks);
}

}  // namespace dptrace

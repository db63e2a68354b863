// Statements: control flow, assignments, and the ring-buffer records of
// printf, exit, time, print, clear and zero.
#include "builtins.h"
#include "function_lowering.h"

namespace dptrace {

void FunctionLowering::storeTo(const ast::Expr& target, const Val& v, const Type& from) {
  if (target.kind == ast::ExprKind::Variable) {
    const std::string& name = static_cast<const ast::Variable&>(target).name;
    const auto& var = variables_.at(name);
    storeSlot(variablePointer(var), 0, v, from, var.type);
    if (auto set = variableSet_.find(name); set != variableSet_.end()) b_.CreateStore(b_.getInt8(1), set->second);
    return;
  }
  if (target.kind == ast::ExprKind::Map) return mapStore(static_cast<const ast::Map&>(target), v, from);
  if (target.kind == ast::ExprKind::Field && packet_) return packetWrite(static_cast<const ast::Field&>(target), v);
  m_.unsupported(target.range, "assigning to this");
}

namespace {

ast::BinaryOp binaryOpOf(ast::AssignOp op) {
  switch (op) {
    case ast::AssignOp::Add: return ast::BinaryOp::Add;
    case ast::AssignOp::Sub: return ast::BinaryOp::Sub;
    case ast::AssignOp::Mul: return ast::BinaryOp::Mul;
    case ast::AssignOp::Div: return ast::BinaryOp::Div;
    case ast::AssignOp::Mod: return ast::BinaryOp::Mod;
    case ast::AssignOp::BitAnd: return ast::BinaryOp::BitAnd;
    case ast::AssignOp::BitOr: return ast::BinaryOp::BitOr;
    case ast::AssignOp::BitXor: return ast::BinaryOp::BitXor;
    case ast::AssignOp::Shl: return ast::BinaryOp::Shl;
    case ast::AssignOp::Shr: return ast::BinaryOp::Shr;
    case ast::AssignOp::Set: break;
  }
  return ast::BinaryOp::Add;
}

}  // namespace

void FunctionLowering::assign(const ast::Assign& s) {
  at(s.range);
  if (s.target->kind == ast::ExprKind::Map && s.value->kind == ast::ExprKind::Call) {
    const auto& c = static_cast<const ast::Call&>(*s.value);
    const BuiltinInfo* b = findBuiltin(c.callee);
    if (b && b->kind == BuiltinKind::Aggregation) return aggregate(static_cast<const ast::Map&>(*s.target), c);
  }
  const Type& targetType = typeOf(*s.target);
  if (s.op == ast::AssignOp::Set) return storeTo(*s.target, expr(*s.value), typeOf(*s.value));
  Val old = expr(*s.target);
  Val v = expr(*s.value);
  storeTo(*s.target, {arithmetic(binaryOpOf(s.op), old.v, v.v, targetType), false}, targetType);
}

// A ring-buffer record: kind, index, then the values.
void FunctionLowering::event(EventKind kind, uint64_t index, const std::vector<const ast::Expr*>& args) {
  uint32_t size = 16;
  for (const ast::Expr* a : args) size += slotSize(typeOf(*a));
  if (size > kMaxRecordBytes) {
    SourceRange where = args.empty() ? probe_->range : args[0]->range;
    if (!args.empty()) where.end = args.back()->range.end;
    m_.diags().error(where, "these values take " + std::to_string(size - 16) + " bytes, more than one event holds (" +
                                std::to_string(kMaxRecordBytes - 16) + ")",
                     "print them with several printf() calls, or use shorter strings (str(p, 32))");
    return;
  }
  // Each value goes into the record as soon as it is computed: few values are
  // live across the helper calls of the next (kernel struct reads call one
  // each), so a record of many fields does not spill past the stack.
  Value* record = zeroedBuffer(size);
  b_.CreateAlignedStore(b_.getInt64(static_cast<uint64_t>(kind)), record, llvm::Align(8));
  b_.CreateAlignedStore(b_.getInt64(index), offset(record, 8), llvm::Align(8));
  uint32_t off = 16;
  for (const ast::Expr* a : args) {
    storeSlot(record, off, expr(*a), typeOf(*a), typeOf(*a));
    off += slotSize(typeOf(*a));
  }
  // Waking the reader for every record costs the traced thread an interrupt
  // and, in a VM, an IPI (~6 us a printf here). The reader drains the buffer
  // every 10 ms anyway, so a record wakes it only when a batch has piled up
  // (64 KiB, 1/16 of the buffer) or when it ends the run (exit()).
  // In a while loop the verifier walks every iteration: a branch per record
  // (the wakeup choice, the lost count) would leave it a path to walk again
  // from each iteration to the loop's end, and a loop of a few hundred
  // printf()s past its budget. There the reader's 10 ms drain does the
  // waking, and a failure is added to the lost count without a branch.
  if (whileDepth_ > 0 && !m_.host() && kind != EventKind::Exit) {
    if (lostSlot_ == nullptr) lostSlot_ = entryAlloca(8);
    Value* r = call(Helper::RingbufOutput, i64(), {m_.events(), record, b_.getInt64(size), b_.getInt64(kRingbufNoWakeup)});
    Value* failed = b_.CreateLShr(r, b_.getInt64(63));  // 0, or a negative errno
    Value* counter = b_.CreateAlignedLoad(ptr(), lostSlot_, llvm::Align(8));
    b_.CreateAlignedStore(b_.CreateAdd(b_.CreateAlignedLoad(i64(), counter, llvm::Align(8)), failed), counter, llvm::Align(8));
    return;
  }
  Value* flags = kind == EventKind::Exit ? b_.getInt64(kRingbufForceWakeup) : wakeupFlags();
  Value* r = call(Helper::RingbufOutput, i64(), {m_.events(), record, b_.getInt64(size), flags});
  BasicBlock* lost = BasicBlock::Create(ctx_, "lost", fn_);
  BasicBlock* sent = BasicBlock::Create(ctx_, "sent", fn_);
  b_.CreateCondBr(b_.CreateICmpNE(r, b_.getInt64(0)), lost, sent);
  b_.SetInsertPoint(lost);
  incrementCounter(m_.lost(), 0);
  b_.CreateBr(sent);
  b_.SetInsertPoint(sent);
}

// Wakes the reader only once a batch is pending (see event() above).
Value* FunctionLowering::wakeupFlags() {
  Value* pending = call(Helper::RingbufQuery, i64(), {m_.events(), b_.getInt64(kRingbufAvailData)});
  return b_.CreateSelect(b_.CreateICmpUGE(pending, b_.getInt64(kRingbufWakeupBytes)), b_.getInt64(kRingbufForceWakeup),
                         b_.getInt64(kRingbufNoWakeup));
}

// A record of `size` bytes reserved in the ring buffer, its kind and index
// written: the insert point is where it is filled. A full buffer counts it
// lost and goes on at `done`.
Value* FunctionLowering::reserveRecord(uint64_t size, EventKind kind, uint64_t index, BasicBlock* done) {
  Value* record = call(Helper::RingbufReserve, ptr(), {m_.events(), b_.getInt64(size), b_.getInt64(0)});
  BasicBlock* lost = BasicBlock::Create(ctx_, "record_lost", fn_);
  BasicBlock* fill = BasicBlock::Create(ctx_, "record_fill", fn_);
  b_.CreateCondBr(b_.CreateIsNull(record), lost, fill);
  b_.SetInsertPoint(lost);
  incrementCounter(m_.lost(), 0);
  b_.CreateBr(done);
  b_.SetInsertPoint(fill);
  b_.CreateAlignedStore(b_.getInt64(static_cast<uint64_t>(kind)), record, llvm::Align(8));
  b_.CreateAlignedStore(b_.getInt64(index), offset(record, 8), llvm::Align(8));
  return record;
}

// join(argv[, delim]): too large for the stack, the record is written in
// place in the ring buffer: each pointer of the array read in turn, each
// string after it, until a NULL pointer (an empty string ends it for the
// reader). The delimiter is the record's layout's `format`.
void FunctionLowering::join(const ast::Call& c) {
  PrintfLayout layout;
  layout.format = c.args.size() == 2 ? static_cast<const ast::String&>(*c.args[1].value).value : " ";
  uint64_t index = m_.addPrintf(std::move(layout));
  const Type& arrayType = typeOf(*c.args[0].value);
  bool user = userMemory(arrayType.space());
  Val array = expr(*c.args[0].value);
  at(c.range);
  BasicBlock* done = BasicBlock::Create(ctx_, "join_done", fn_);
  Value* record = reserveRecord(16 + uint64_t{kJoinArgs} * kJoinArgSize, EventKind::Join, index, done);
  BasicBlock* submit = BasicBlock::Create(ctx_, "join_submit", fn_);
  Value* slot = readSlot();
  for (uint32_t i = 0; i < kJoinArgs; ++i) {
    Value* text = offset(record, 16 + i * kJoinArgSize);
    b_.CreateStore(b_.getInt8(0), text);  // reserved memory is not zeroed: an unread string is empty
    b_.CreateAlignedStore(b_.getInt64(0), slot, llvm::Align(8));
    call(user ? Helper::ProbeReadUser : Helper::ProbeReadKernel, i64(),
         {slot, b_.getInt64(8), b_.CreateIntToPtr(b_.CreateAdd(array.v, b_.getInt64(i * 8)), ptr())});
    Value* p = b_.CreateAlignedLoad(i64(), slot, llvm::Align(8));
    BasicBlock* read = BasicBlock::Create(ctx_, "join_arg", fn_);
    b_.CreateCondBr(b_.CreateICmpEQ(p, b_.getInt64(0)), submit, read);
    b_.SetInsertPoint(read);
    call(user ? Helper::ProbeReadUserStr : Helper::ProbeReadKernelStr, i64(),
         {text, b_.getInt64(kJoinArgSize), b_.CreateIntToPtr(p, ptr())});
  }
  b_.CreateBr(submit);
  b_.SetInsertPoint(submit);
  // (the entry at a NULL pointer was zeroed: the reader stops there)
  call(Helper::RingbufSubmit, i64(), {record, b_.getInt64(0)});
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
}

void FunctionLowering::checkHelper(Helper h, Value* ret, int level) {
  if (m_.host() || m_.helperChecks() < level) return;
  uint64_t site = m_.addHelperErrorSite({static_cast<int64_t>(h), statementRange_});
  onlyIf(b_.CreateICmpSLT(ret, b_.getInt64(0)), [&] {
    Value* record = zeroedBuffer(24);
    b_.CreateAlignedStore(b_.getInt64(static_cast<uint64_t>(EventKind::HelperError)), record, llvm::Align(8));
    b_.CreateAlignedStore(b_.getInt64(site), offset(record, 8), llvm::Align(8));
    b_.CreateAlignedStore(ret, offset(record, 16), llvm::Align(8));
    Value* r = call(Helper::RingbufOutput, i64(), {m_.events(), record, b_.getInt64(24), b_.getInt64(0)});
    onlyIf(b_.CreateICmpNE(r, b_.getInt64(0)), [&] { incrementCounter(m_.lost(), 0); });
  });
}

void FunctionLowering::callStatement(const ast::Call& c) {
  at(c.range);
  const std::string& n = c.callee;
  if (n == "printf" || n == "cat" || n == "system") {  // cat and system: done by dptrace, as printf's text is
    PrintfLayout layout;
    layout.format = static_cast<const ast::String&>(*c.args[0].value).value;
    std::vector<const ast::Expr*> args;
    for (size_t i = 1; i < c.args.size(); ++i) {
      args.push_back(c.args[i].value.get());
      layout.args.push_back(typeOf(*c.args[i].value));
    }
    EventKind kind = n == "printf" ? EventKind::Printf : n == "cat" ? EventKind::Cat : EventKind::System;
    return event(kind, m_.addPrintf(std::move(layout)), args);
  }
  if (n == "debugf") {  // bpf_trace_printk: the format from the stack, three values at most (the type checker said)
    const std::string& format = static_cast<const ast::String&>(*c.args[0].value).value;
    uint32_t size = static_cast<uint32_t>(format.size()) + 1;
    std::vector<Value*> args = {constantString(format, size), b_.getInt32(size)};
    for (size_t i = 1; i < c.args.size(); ++i) args.push_back(expr(*c.args[i].value).v);  // a string: its buffer's address
    call(Helper::TracePrintk, i64(), args);
    return;
  }
  if (n == "emit") {  // one record; its shape is this call site's
    PrintfLayout layout;
    layout.format = probeName();
    std::vector<const ast::Expr*> args;
    for (const ast::Argument& a : c.args) {
      args.push_back(a.value.get());
      layout.args.push_back(typeOf(*a.value));
      layout.names.push_back(a.name);
    }
    return event(EventKind::Emit, m_.addPrintf(std::move(layout)), args);
  }
  if (n == "exit") {  // as in bpftrace, exit() also ends this probe block
    if (m_.exited()) {  // every other probe stops from now on
      Value* key = stackSlot(8);
      b_.CreateAlignedStore(b_.getInt32(0), key, llvm::Align(8));
      Value* p = call(Helper::MapLookupElem, ptr(), {m_.exited(), key});
      onlyIf(b_.CreateIsNotNull(p), [&] { b_.CreateAlignedStore(b_.getInt64(1), p, llvm::Align(8)); });
    }
    event(EventKind::Exit, 0, {});
    leaveBlock();
    b_.SetInsertPoint(BasicBlock::Create(ctx_, "after_exit", fn_));
    return;
  }
  if (packet_ && (n == "pass" || n == "drop" || n == "tx" || n == "abort" || n == "redirect")) return packetAction(c);
  if (packet_ && n == "swap") return swapFields(c);
  if (packet_ && n == "vlan_pop") return vlanPop();
  if (packet_ && n == "vlan_push") return vlanPush(*c.args[0].value);
  if (packet_ && n == "capture") return capture(c);
  if (n == "join") return join(c);
  if (n == "override") {  // bpf_override_return: the function returns this without running
    call(Helper::OverrideReturn, i64(), {fn_->getArg(0), expr(*c.args[0].value).v});
    return;
  }
  if (n == "signal") {
    auto constant = m_.types().values.find(&c);
    Value* sig = constant != m_.types().values.end() ? b_.getInt64(constant->second) : expr(*c.args[0].value).v;
    checkHelper(Helper::SendSignal, call(Helper::SendSignal, i64(), {sig}), 1);
    return;
  }
  if (n == "time") {
    std::string fmt = c.args.empty() ? "%H:%M:%S\n" : static_cast<const ast::String&>(*c.args[0].value).value;
    return event(EventKind::Time, m_.addTimeFormat(fmt), {});
  }
  if ((n == "clear" || n == "zero" || n == "print") && c.args[0].value->kind == ast::ExprKind::Map &&
      static_cast<const ast::Map&>(*c.args[0].value).keys.empty()) {
    const auto& m = static_cast<const ast::Map&>(*c.args[0].value);
    EventKind kind = n == "clear" ? EventKind::Clear : n == "zero" ? EventKind::Zero : EventKind::Print;
    std::vector<const ast::Expr*> args;  // print(@m, top, div): after the header
    for (size_t i = 1; kind == EventKind::Print && i < c.args.size(); ++i) args.push_back(c.args[i].value.get());
    return event(kind, m_.map(m.name).index, args);
  }
  if (n == "print") {  // print(x) of a value: a record of the value (its layout is a printf site's)
    PrintfLayout layout;
    layout.args.push_back(typeOf(*c.args[0].value));
    return event(EventKind::Value, m_.addPrintf(std::move(layout)), {c.args[0].value.get()});
  }
  if (n == "delete") {
    const auto& m = static_cast<const ast::Map&>(*c.args[0].value);
    const MapGlobal& g = m_.map(m.name);
    const MapLayout& l = m_.layout(g);
    if (l.role == MapRole::Hist || l.role == MapRole::Lhist) return m_.unsupported(c.range, "delete() on a histogram");
    checkHelper(Helper::MapDeleteElem, call(Helper::MapDeleteElem, i64(), {g.global, mapKey(m, l)}), 1);
    return;
  }
  m_.unsupported(c.range, n + "()");
}

void FunctionLowering::statement(const ast::Stmt& s) {
  if (b_.GetInsertBlock()->getTerminator()) {  // after break/continue/return: unreachable code
    b_.SetInsertPoint(BasicBlock::Create(ctx_, "unreachable", fn_));
  }
  if (packet_) {
    // In an xdp block a statement whose evaluation reads an absent header
    // does not run: such a read branches to the statement's end.
    BasicBlock* saved = absent_;
    BasicBlock* after = BasicBlock::Create(ctx_, "stmt_end", fn_);
    absent_ = after;
    statementBody(s);
    absent_ = saved;
    if (!b_.GetInsertBlock()->getTerminator()) b_.CreateBr(after);
    b_.SetInsertPoint(after);
    return;
  }
  statementBody(s);
}

void FunctionLowering::statementBody(const ast::Stmt& s) {
  at(s.range);
  newStatement();
  statementRange_ = s.range;
  switch (s.kind) {
    case ast::StmtKind::Expr: {
      const ast::Expr& e = *static_cast<const ast::ExprStmt&>(s).expr;
      if (e.kind == ast::ExprKind::Call) return callStatement(static_cast<const ast::Call&>(e));
      expr(e);
      return;
    }
    case ast::StmtKind::Assign: return assign(static_cast<const ast::Assign&>(s));
    case ast::StmtKind::If: {
      const auto& i = static_cast<const ast::If&>(s);
      BasicBlock* yes = BasicBlock::Create(ctx_, "if_then", fn_);
      BasicBlock* no = BasicBlock::Create(ctx_, "if_else", fn_);
      BasicBlock* done = BasicBlock::Create(ctx_, "if_end", fn_);
      b_.CreateCondBr(condition(*i.cond), yes, i.otherwise ? no : done);
      b_.SetInsertPoint(yes);
      block(i.then);
      if (!b_.GetInsertBlock()->getTerminator()) b_.CreateBr(done);
      b_.SetInsertPoint(no);
      if (i.otherwise) block(*i.otherwise);
      if (!b_.GetInsertBlock()->getTerminator()) b_.CreateBr(done);
      b_.SetInsertPoint(done);
      return;
    }
    case ast::StmtKind::While: {
      const auto& w = static_cast<const ast::While&>(s);
      BasicBlock* head = BasicBlock::Create(ctx_, "while_cond", fn_);
      BasicBlock* body = BasicBlock::Create(ctx_, "while_body", fn_);
      BasicBlock* done = BasicBlock::Create(ctx_, "while_end", fn_);
      // Host code has no verifier to bound a loop: a frame's loops together
      // run at most kHostLoopCap iterations; a loop cut short is counted.
      if (m_.host() && !loopTrips_) {  // zeroed on entry: the budget is per frame
        loopTrips_ = entryAlloca(8);
        llvm::IRBuilder<> entry(entry_);
        if (llvm::Instruction* t = entry_->getTerminator()) entry.SetInsertPoint(t);
        entry.CreateAlignedStore(entry.getInt64(0), loopTrips_, llvm::Align(8));
      }
      b_.CreateBr(head);
      b_.SetInsertPoint(head);
      b_.CreateCondBr(condition(*w.cond), body, done);
      b_.SetInsertPoint(body);
      if (m_.host()) {  // one more iteration: within the frame's budget?
        Value* n = b_.CreateAdd(b_.CreateAlignedLoad(i64(), loopTrips_, llvm::Align(8)), b_.getInt64(1));
        BasicBlock* under = BasicBlock::Create(ctx_, "while_under_cap", fn_);
        BasicBlock* capped = BasicBlock::Create(ctx_, "while_capped", fn_);
        b_.CreateCondBr(b_.CreateICmpULE(n, b_.getInt64(kHostLoopCap)), under, capped);
        b_.SetInsertPoint(capped);
        incrementCounter(m_.loopCap(), 0);
        b_.CreateBr(done);
        b_.SetInsertPoint(under);
        b_.CreateAlignedStore(n, loopTrips_, llvm::Align(8));
      }
      loops_.push_back({done, head});
      ++whileDepth_;
      block(w.body);
      --whileDepth_;
      loops_.pop_back();
      if (!b_.GetInsertBlock()->getTerminator()) b_.CreateBr(head);
      b_.SetInsertPoint(done);
      return;
    }
    case ast::StmtKind::Unroll: {
      const auto& u = static_cast<const ast::Unroll&>(s);
      uint64_t n = static_cast<const ast::Integer&>(*u.count).value;
      BasicBlock* done = BasicBlock::Create(ctx_, "unroll_end", fn_);
      for (uint64_t i = 0; i < n; ++i) {
        BasicBlock* next = BasicBlock::Create(ctx_, "unroll_next", fn_);
        loops_.push_back({done, next});
        block(u.body);
        loops_.pop_back();
        if (!b_.GetInsertBlock()->getTerminator()) b_.CreateBr(next);
        b_.SetInsertPoint(next);
      }
      b_.CreateBr(done);
      b_.SetInsertPoint(done);
      return;
    }
    case ast::StmtKind::Jump: {
      const auto& j = static_cast<const ast::Jump&>(s);
      if (j.jump == ast::JumpKind::Return) leaveBlock();
      else if (!loops_.empty()) b_.CreateBr(j.jump == ast::JumpKind::Break ? loops_.back().breakTo : loops_.back().continueTo);
      return;
    }
  }
}

void FunctionLowering::block(const ast::Block& b) {
  for (const ast::StmtPtr& s : b.stmts) statement(*s);
}

}  // namespace dptrace

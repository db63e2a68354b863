// What a probe offers its block: builtins (pid, comm, elapsed...), tracepoint
// fields, and syscall tracepoints lowered onto raw sys_enter/sys_exit.
#include "function_lowering.h"

#include <algorithm>
#include <bit>
#include "packet_views.h"
#include "suggest.h"

namespace dptrace {

// On raw sys_enter the context is {struct pt_regs *regs, long id}; on raw
// sys_exit it is {regs, long ret}, and the number is regs->orig_ax.
Value* FunctionLowering::syscallRegister(uint32_t offsetInRegs) {
  Value* regs = b_.CreateAlignedLoad(i64(), fn_->getArg(0), llvm::Align(8));
  Value* slot = stackSlot(8);
  call(Helper::ProbeReadKernel, i64(), {slot, b_.getInt64(8), b_.CreateIntToPtr(b_.CreateAdd(regs, b_.getInt64(offsetInRegs)), ptr())});
  return b_.CreateAlignedLoad(i64(), slot, llvm::Align(8));
}

void FunctionLowering::filterSyscall() {
  at(probe_->range);
  newStatement();
  Value* nr = raw_.kind == RawSyscall::Kind::Enter
                  ? static_cast<Value*>(b_.CreateAlignedLoad(i64(), offset(fn_->getArg(0), 8), llvm::Align(8)))
                  : syscallRegister(syscallRegisters().origAx);
  BasicBlock* mine = BasicBlock::Create(ctx_, "this_syscall", fn_);
  BasicBlock* other = BasicBlock::Create(ctx_, "other_syscall", fn_);
  b_.CreateCondBr(b_.CreateICmpEQ(nr, b_.getInt64(raw_.number)), mine, other);
  b_.SetInsertPoint(other);
  b_.CreateRet(b_.getInt64(0));
  b_.SetInsertPoint(mine);
}

// A field of a syscall tracepoint's format, read from the raw context.
Val FunctionLowering::syscallField(const TracepointFormat& format, const TracepointField& f) {
  Value* raw = nullptr;
  if (f.name == "__syscall_nr") {
    raw = b_.getInt64(raw_.number);
  } else if (raw_.kind == RawSyscall::Kind::Exit) {
    raw = b_.CreateAlignedLoad(i64(), offset(fn_->getArg(0), 8), llvm::Align(8));  // ret
  } else {
    size_t argument = 0;  // the fields after __syscall_nr are the arguments, in order
    for (const TracepointField& other : format.fields) {
      if (&other == &f) break;
      if (other.name != "__syscall_nr") ++argument;
    }
    if (argument >= 6) return zero();
    raw = syscallRegister(syscallRegisters().argument[argument]);
  }
  return {normalize(raw, f.type), false};
}

// kstack/ustack: the stack's id in the stack map of its depth, and the
// process, depth and mode (program_info.h); dptrace reads the frames when
// it prints. (A raw tracepoint's program runs on the kernel's stack: dptrace
// leaves its own frames out then, symbolize.cpp.)
Val FunctionLowering::stack(bool user, const StackOptions& options) {
  constexpr uint64_t kUserStack = 1 << 8;  // BPF_F_USER_STACK
  // A program on a raw tracepoint is called through frames of glue: itself
  // and bpf_trace_runN, which the kernel skips (the flags' low byte); then,
  // depending on the event and on whether another program shares it,
  // __bpf_trace_EVENT and __traceiter_EVENT, which dptrace drops when it
  // prints (symbolize.cpp). The map takes two frames more than kstack(N)
  // prints, so that N of the event's own are there.
  bool raw = raw_.kind != RawSyscall::Kind::None || ap_->kind == ProbeKind::RawTracepoint;
  uint64_t flags = user ? kUserStack : raw ? 2 : 0;
  uint32_t depth = !user && raw ? std::min(options.frames + 2, kStackFrames) : options.frames;
  Value* id = call(Helper::GetStackid, i64(), {fn_->getArg(0), m_.stacks(depth), b_.getInt64(flags)});
  checkHelper(Helper::GetStackid, id, 1);
  Value* buf = zeroedBuffer(16);
  b_.CreateAlignedStore(id, buf, llvm::Align(8));
  Value* second = b_.getInt64(static_cast<uint64_t>(options.frames) << 32 | (options.perf ? kStackPerf : 0) |
                              (!user && raw ? kStackGlue : 0) | static_cast<uint64_t>(depth) << kStackMapDepthShift);
  if (user) second = b_.CreateOr(second, b_.CreateLShr(call(Helper::GetCurrentPidTgid, i64(), {}), 32));
  b_.CreateAlignedStore(second, offset(buf, 8), llvm::Align(8));
  return {buf, true};
}

Val FunctionLowering::builtin(const ast::Identifier& id) {
  const std::string& n = id.name;
  if (packet_ && isPacketView(n)) return {viewPresent(n), false};
  if (n == "pid" || n == "tid") {
    Value* v = call(Helper::GetCurrentPidTgid, i64(), {});
    return {n == "pid" ? b_.CreateLShr(v, 32) : b_.CreateAnd(v, 0xffffffff), false};
  }
  if (n == "uid") return {b_.CreateAnd(call(Helper::GetCurrentUidGid, i64(), {}), 0xffffffff), false};
  if (n == "gid") return {b_.CreateLShr(call(Helper::GetCurrentUidGid, i64(), {}), 32), false};
  if (n == "rand") return {b_.CreateAnd(call(Helper::GetPrandomU32, i64(), {}), 0xffffffff), false};
  if (n == "numaid") return {b_.CreateAnd(call(Helper::GetNumaNodeId, i64(), {}), 0xffffffff), false};
  if (n == "cgroup") return {call(Helper::GetCurrentCgroupId, i64(), {}), false};
  if (n == "jiffies") return {call(Helper::Jiffies64, i64(), {}), false};
  if (n == "kstack" || n == "ustack") return stack(n == "ustack", StackOptions{});
  if (n == "ctx") return {b_.CreatePtrToInt(fn_->getArg(0), i64()), false};
  if (n.size() == 5 && n.rfind("sarg", 0) == 0 && (isUserProbe(ap_->kind) || isKprobe(ap_->kind)))
    return {stackArgument(8 * static_cast<uint32_t>(n[4] - '0'), isKprobe(ap_->kind)), false};
  if (n == "username") {  // the uid; the name is looked up when printed
    Value* buf = zeroedBuffer(16);
    b_.CreateAlignedStore(b_.CreateAnd(call(Helper::GetCurrentUidGid, i64(), {}), 0xffffffff), buf, llvm::Align(8));
    return {buf, true};
  }
  if (n == "curtask") return {call(Helper::GetCurrentTask, i64(), {}), false};
  if (n == "cpu") return {b_.CreateAnd(call(Helper::GetSmpProcessorId, i64(), {}), 0xffffffff), false};
  if (n == "nsecs") return {call(Helper::KtimeGetNs, i64(), {}), false};
  if (n == "cpid") {  // written by the runtime into slot 1 of the start map
    Value* key = stackSlot(8);
    b_.CreateAlignedStore(b_.getInt32(1), key, llvm::Align(8));
    Value* p = call(Helper::MapLookupElem, ptr(), {m_.start(), key});
    Value* slot = stackSlot(8);
    b_.CreateAlignedStore(b_.getInt64(0), slot, llvm::Align(8));
    onlyIf(b_.CreateIsNotNull(p), [&] { b_.CreateAlignedStore(b_.CreateAlignedLoad(i64(), p, llvm::Align(8)), slot, llvm::Align(8)); });
    return {b_.CreateAlignedLoad(i64(), slot, llvm::Align(8)), false};
  }
  if (n == "elapsed") {
    Value* now = call(Helper::KtimeGetNs, i64(), {});
    Value* key = stackSlot(8);
    b_.CreateAlignedStore(b_.getInt32(0), key, llvm::Align(8));
    Value* p = call(Helper::MapLookupElem, ptr(), {m_.start(), key});
    BasicBlock* read = BasicBlock::Create(ctx_, "start", fn_);
    BasicBlock* done = BasicBlock::Create(ctx_, "elapsed", fn_);
    BasicBlock* from = b_.GetInsertBlock();
    b_.CreateCondBr(b_.CreateIsNotNull(p), read, done);
    b_.SetInsertPoint(read);
    Value* start = b_.CreateAlignedLoad(i64(), p, llvm::Align(8));
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    auto* phi = b_.CreatePHI(i64(), 2);
    phi->addIncoming(b_.getInt64(0), from);
    phi->addIncoming(start, read);
    return {b_.CreateSub(now, phi), false};
  }
  if (n == "comm") {
    Value* buf = zeroedBuffer(16);
    call(Helper::GetCurrentComm, i64(), {buf, b_.getInt64(16)});
    return {buf, true};
  }
  if (n == "probe") {
    if (user_.shared.empty()) return {constantString(probeName(), typeOf(id).capacity()), true};
    std::vector<std::string> names;
    for (const std::string& symbol : user_.shared) names.push_back(probeName(symbol));
    return {nameByCookie(names, typeOf(id).capacity()), true};
  }
  if (isBtfProbe(ap_->kind)) {
    const KernelSignature* k = kernelSignature();
    if (n == "func") return {constantString(ap_->function, typeOf(id).capacity()), true};
    if (n == "retval" && k) return {normalize(slotValue(k->slots, k->signature.ret), typeOf(id)), false};
    // (slotValue extends from this program's own type: a block of several
    // attach points may have unified an s32 here with an s64 elsewhere)
    if (n.size() == 4 && n.rfind("arg", 0) == 0 && k) {
      size_t i = static_cast<size_t>(n[3] - '0');
      if (i < k->signature.params.size()) {
        const Parameter& p = k->signature.params[i];
        return {normalize(slotValue(p.location.index, p.type), typeOf(id)), false};
      }
    }
  }
  if (isKprobe(ap_->kind)) {  // the kernel's struct pt_regs at the function's entry or return
    if (n == "retval") return {b_.CreateAlignedLoad(i64(), offset(fn_->getArg(0), 80), llvm::Align(8)), false};
    if (n == "func") return {constantString(ap_->function, typeOf(id).capacity()), true};
    if (n.size() == 4 && n.rfind("arg", 0) == 0) return {integerArgument(static_cast<unsigned>(n[3] - '0'), true), false};
  }
  if (isUserProbe(ap_->kind)) {
    // The context is the task's struct pt_regs (x86_64 layout).
    auto reg = [&](uint32_t off) { return Val{b_.CreateAlignedLoad(i64(), offset(fn_->getArg(0), off), llvm::Align(8)), false}; };
    if (n == "retval") return {normalize(reg(80).v, typeOf(id)), false};  // ax, masked to its DWARF type
    if (n == "func" && typeOf(id).is(TypeKind::Deferred)) {  // BPFTRACE_NO_USER_SYMBOLS: the address, as usym()
      Value* buf = zeroedBuffer(16);
      b_.CreateAlignedStore(reg(128).v, buf, llvm::Align(8));  // ip
      b_.CreateAlignedStore(b_.CreateLShr(call(Helper::GetCurrentPidTgid, i64(), {}), 32), offset(buf, 8), llvm::Align(8));
      return {buf, true};
    }
    if (n == "func" && !user_.shared.empty()) {
      std::vector<std::string> names;
      for (const std::string& symbol : user_.shared) names.push_back(functionName(symbol));
      return {nameByCookie(names, typeOf(id).capacity()), true};
    }
    if (n == "func") return {constantString(functionName(symbol_), typeOf(id).capacity()), true};
    if (n.size() == 4 && n.rfind("arg", 0) == 0) {
      unsigned i = static_cast<unsigned>(n[3] - '0');
      return {normalize(parameter(i), typeOf(id)), false};
    }
  }
  m_.unsupported(id.range, "'" + n + "'");
  return zero();
}

Val FunctionLowering::field(const ast::Field& f) {
  if (packet_ && f.base->kind == ast::ExprKind::Identifier && isPacketView(static_cast<const ast::Identifier&>(*f.base).name))
    return packetField(static_cast<const ast::Identifier&>(*f.base).name, f.field, f.range);
  if (auto v = structField(f)) return *v;
  if (f.base->kind == ast::ExprKind::Identifier && static_cast<const ast::Identifier&>(*f.base).name == "args" &&
      ap_->kind == ProbeKind::Tracepoint) {
    auto it = m_.types().imported->tracepoints.find(ap_->target + ":" + ap_->function);
    const TracepointField* tf = it == m_.types().imported->tracepoints.end() ? nullptr : it->second.field(f.field);
    if (tf) return tracepointField(it->second, *tf, typeOf(f));
  }
  if (f.base->kind == ast::ExprKind::Identifier && static_cast<const ast::Identifier&>(*f.base).name == "args" &&
      isBtfProbe(ap_->kind)) {
    if (const KernelSignature* k = kernelSignature())
      for (const Parameter& p : k->signature.params)
        if (p.name == f.field) return {normalize(slotValue(p.location.index, p.type), typeOf(f)), false};
  }
  if (f.base->kind == ast::ExprKind::Identifier && static_cast<const ast::Identifier&>(*f.base).name == "args" &&
      isUserProbe(ap_->kind)) {
    if (const FunctionSignature* signature = uprobeSignature())
      for (size_t i = 0; i < signature->params.size(); ++i)
        if (signature->params[i].name == f.field) return {normalize(parameter(static_cast<unsigned>(i)), typeOf(f)), false};
  }
  m_.unsupported(f.range, "this field");
  return zero();
}

// A field of this tracepoint's record, as the type checker typed args.NAME
// (with wildcards: the types of every matched tracepoint unified).
Val FunctionLowering::tracepointField(const TracepointFormat& format, const TracepointField& tf, const Type& type) {
  Value* ctx = fn_->getArg(0);
  if (raw_.kind != RawSyscall::Kind::None) return {normalize(syscallField(format, tf).v, type), false};
  if (tf.dataLoc) {
    // __data_loc: a u32 at the field's offset, (length << 16) | offset of
    // the bytes from the start of the record.
    Value* loc = b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt32Ty(), offset(ctx, tf.offset), llvm::Align(4)), i64());
    Value* bytes = b_.CreateGEP(b_.getInt8Ty(), ctx, b_.CreateAnd(loc, 0xffff));
    Value* buf = zeroedBuffer(slotSize(type));
    call(Helper::ProbeReadKernelStr, i64(), {buf, b_.getInt64(type.capacity()), bytes});
    return {buf, true};
  }
  if (tf.type.is(TypeKind::String) || tf.type.is(TypeKind::Array)) {  // bytes in the record
    // Copied by the helper, not by loads: LLVM would share one ctx + offset
    // between two reads of the field (one in a branch), and the verifier
    // refuses a load through a moved context pointer.
    Value* buf = zeroedBuffer(slotSize(type));
    uint32_t n = std::min(tf.size, type.capacity());
    call(Helper::ProbeReadKernel, i64(), {buf, b_.getInt64(n), offset(ctx, tf.offset)});
    return {buf, true};
  }
  if (tf.size == 1 || tf.size == 2 || tf.size == 4 || tf.size == 8) {
    Value* raw = b_.CreateAlignedLoad(b_.getIntNTy(tf.size * 8), offset(ctx, tf.offset), llvm::Align(tf.size));
    Value* wide = isSigned(tf.type) ? b_.CreateSExt(raw, i64()) : b_.CreateZExt(raw, i64());
    return {normalize(wide, type), false};
  }
  m_.unsupported(statementRange_, "the field '" + tf.name + "'");
  return zero();
}

// The attach point that fired, as bpftrace names it: the canonical kind, a
// library or program named without a path by the file it resolved to
// (uprobe:/lib/x86_64-linux-gnu/libc.so.6:malloc for uprobe:libc:malloc), and
// for a uprobe pattern the function it matched (uprobe:./up:foo1, not foo*).
std::string FunctionLowering::functionName(const std::string& symbol) const {
  return symbol.empty() ? ap_->raw : m_.demangle() ? demangled(symbol) : symbol;
}

Value* FunctionLowering::nameByCookie(const std::vector<std::string>& names, uint32_t capacity) {
  uint32_t width = (capacity + 7) / 8 * 8;
  // A power of 2 of entries, so that the cookie masked is a bounded index
  // (LLVM moves a compare after the offset's arithmetic; the verifier then
  // sees an unbounded offset: "math between map_value pointer and register").
  size_t slots = std::bit_ceil(names.size());
  std::string bytes(slots * width, '\0');
  for (size_t i = 0; i < names.size(); ++i)
    bytes.replace(i * width, std::min<size_t>(names[i].size(), capacity - 1), names[i], 0, std::min<size_t>(names[i].size(), capacity - 1));
  auto* data = llvm::ConstantDataArray::getString(ctx_, bytes, /*AddNull=*/false);
  auto* table = new llvm::GlobalVariable(m_.module(), data->getType(), /*isConstant=*/true, llvm::GlobalValue::InternalLinkage,
                                         data, fn_->getName() + "_names");
  table->setSection(".rodata");
  table->setAlignment(llvm::Align(8));
  Value* cookie = call(Helper::GetAttachCookie, i64(), {fn_->getArg(0)});
  Value* index = b_.CreateAnd(cookie, b_.getInt64(slots - 1));
  Value* from = b_.CreateGEP(b_.getInt8Ty(), table, b_.CreateMul(index, b_.getInt64(width)));
  Value* buf = zeroedBuffer(width);
  for (uint32_t at = 0; at < width; at += 8)
    b_.CreateAlignedStore(b_.CreateAlignedLoad(i64(), offset(from, at), llvm::Align(8)), offset(buf, at), llvm::Align(8));
  return buf;
}

std::string FunctionLowering::probeName(const std::string& symbol) const {
  std::string target = ap_->target;
  if (isUserProbe(ap_->kind) && target.find('/') == std::string::npos) target = findBinary(target);
  if (ap_->kind == ProbeKind::Usdt) return "usdt:" + target + ":" + symbol;  // the probe's full name, as bpftrace's
  if (isUserProbe(ap_->kind) && !symbol.empty() && hasWildcard(ap_->function))
    return std::string(probeKindName(ap_->kind)) + ":" + target + ":" + symbol;
  std::string name = canonicalAttachPoint(ap_->kind, ap_->raw);
  if (target != ap_->target)
    if (size_t at = name.find(":" + ap_->target + ":"); at != std::string::npos) name.replace(at + 1, ap_->target.size(), target);
  return name;
}

const KernelSignature* FunctionLowering::kernelSignature() const {
  auto it = m_.types().imported->kernelSignatures.find(kernelProbeKey(*ap_));
  return it == m_.types().imported->kernelSignatures.end() ? nullptr : &it->second;
}

// Slot i of a BTF probe's context: its ith argument (fexit: the return value
// after them), of BTF type t, extended from t's width (the kernel zero-extends
// a raw tracepoint's s32 into its slot); a __be value is turned into host order.
Value* FunctionLowering::slotValue(uint32_t i, const Type& t) {
  Value* v = b_.CreateAlignedLoad(i64(), offset(fn_->getArg(0), 8 * i), llvm::Align(8));
  if (t.fromNetworkOrder()) return byteSwap(v, t.bits());
  return t.isIntegerLike() ? normalize(v, t) : v;
}

const FunctionSignature* FunctionLowering::uprobeSignature() const {
  auto it = m_.types().imported->signatures.find(ap_->target + ":" + ap_->function);
  return it == m_.types().imported->signatures.end() ? nullptr : &it->second;
}

// Parameter i of a uprobe's function: from the uretprobe's record of its
// entry; a DPDK burst call's port and queue from the queue table, its other
// arguments the PMD function's; at an inlined call where DWARF says; else
// where DWARF and the calling convention put it (dwarf_signatures.h), or
// without DWARF the ith integer argument.
Value* FunctionLowering::parameter(unsigned i) {
  if (record_ != nullptr) {
    auto at = std::find(user_.saved.begin(), user_.saved.end(), i);
    if (at != user_.saved.end())
      return b_.CreateAlignedLoad(i64(), offset(record_, static_cast<uint32_t>(8 * (at - user_.saved.begin()))), llvm::Align(8));
  }
  const FunctionSignature* signature = uprobeSignature();
  if (user_.fastPath != FastPath::None && i < 4) {
    if (i == 0 && fastPort_) return fastPort_;
    if (i == 1 && fastQueue_) return fastQueue_;
    if (i >= 2) return integerArgument(i - 1);  // (queue, mbufs, count)
  }
  if (user_.site && i < user_.site->types.size())  // usdt: the operand's own size and sign at this site
    return normalize(atLocation(user_.site->params[i], user_.site->types[i]), user_.site->types[i]);
  if (user_.site && signature && i < user_.site->params.size() && i < signature->params.size())
    return atLocation(user_.site->params[i], signature->params[i].type);
  if (signature == nullptr || i >= signature->params.size()) return integerArgument(i);
  const ParameterLocation& at = signature->params[i].location;
  if (at.kind == ParameterLocation::Kind::IntegerRegister) return integerArgument(at.index);
  return stackArgument(at.index);  // the type checker let only registers and stack slots through
}

// A value where DWARF says a caller keeps it: a register of the task's
// pt_regs (by DWARF number), that plus an offset, memory there, a constant.
Value* FunctionLowering::atLocation(const ParameterLocation& at, const Type& t) {
  // pt_regs offsets of DWARF registers 0-16: ax dx cx bx si di bp sp r8-r15 ip
  static constexpr uint32_t kRegs[17] = {80, 96, 88, 40, 104, 112, 32, 152, 72, 64, 56, 48, 24, 16, 8, 0, 128};
  auto regNumbered = [&](uint64_t number) {
    return b_.CreateAlignedLoad(i64(), offset(fn_->getArg(0), kRegs[std::min<uint64_t>(number, 16)]), llvm::Align(8));
  };
  auto reg = [&] { return regNumbered(at.index); };
  switch (at.kind) {
    case ParameterLocation::Kind::Constant: return b_.getInt64(at.value);
    case ParameterLocation::Kind::Register: return reg();
    case ParameterLocation::Kind::RegisterOffset: {
      Value* v = b_.CreateAdd(reg(), b_.getInt64(static_cast<uint64_t>(at.offset)));
      return at.value ? b_.CreateAnd(v, b_.getInt64(at.value)) : v;
    }
    case ParameterLocation::Kind::IndexedMemory:
    case ParameterLocation::Kind::Memory: {
      Value* slot = stackSlot(8);
      b_.CreateAlignedStore(b_.getInt64(0), slot, llvm::Align(8));
      uint32_t size = t.isIntegerLike() ? std::max<uint32_t>(1, t.bits() / 8) : 8;
      Value* address = b_.CreateAdd(reg(), b_.getInt64(static_cast<uint64_t>(at.offset)));
      if (at.kind == ParameterLocation::Kind::IndexedMemory)
        address = b_.CreateAdd(address, b_.CreateMul(regNumbered(at.value & 0xff), b_.getInt64(at.value >> 8)));
      call(Helper::ProbeReadUser, i64(), {slot, b_.getInt64(size), b_.CreateIntToPtr(address, ptr())});
      return b_.CreateAlignedLoad(i64(), slot, llvm::Align(8));
    }
    default: return b_.getInt64(0);  // the type checker refused reading it
  }
}

// The ith integer argument: the task's pt_regs (x86_64: di si dx cx r8 r9),
// then the user stack above the return address.
Value* FunctionLowering::integerArgument(unsigned i, bool kernel) {
  static constexpr uint32_t kArgument[6] = {112, 104, 96, 88, 72, 64};
  if (i < 6) return b_.CreateAlignedLoad(i64(), offset(fn_->getArg(0), kArgument[i]), llvm::Align(8));
  return stackArgument(8 * (i - 6), kernel);
}

// The 8 bytes `offset` bytes above the return address on the stack: the
// task's (uprobes), or the kernel's (kprobes).
Value* FunctionLowering::stackArgument(uint32_t offsetAboveReturn, bool kernel) {
  Value* sp = b_.CreateAlignedLoad(i64(), offset(fn_->getArg(0), 152), llvm::Align(8));
  Value* slot = stackSlot(8);
  b_.CreateAlignedStore(b_.getInt64(0), slot, llvm::Align(8));
  Value* at = b_.CreateAdd(sp, b_.getInt64(8 + offsetAboveReturn));
  call(kernel ? Helper::ProbeReadKernel : Helper::ProbeReadUser, i64(), {slot, b_.getInt64(8), b_.CreateIntToPtr(at, ptr())});
  return b_.CreateAlignedLoad(i64(), slot, llvm::Align(8));
}

}  // namespace dptrace

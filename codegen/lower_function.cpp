// One probe block as one BPF function: expressions, statements, map updates
// and aggregations, and the ring-buffer records of printf/exit/time/print.
//
// Values are i64 (integers normalised to their type's width and sign) or
// pointers to zero-padded stack buffers in slot layout (strings, tuples).
#include <arpa/inet.h>

#include <cstring>

#include "lowering.h"
#include "syscalls.h"
#include "builtins.h"
#include "visitor.h"

namespace dptrace {
namespace {

using llvm::BasicBlock;
using llvm::Value;

constexpr uint64_t kAny = 0, kNoExist = 1;
constexpr uint32_t kStackBytes = 512;  // the BPF stack of one program

struct Val {
  Value* v = nullptr;
  bool buffer = false;  // v points at slot-layout bytes
};

struct Loop {
  BasicBlock* breakTo;
  BasicBlock* continueTo;
};

bool isSigned(const Type& t) { return t.is(TypeKind::Integer) && t.isSigned(); }

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

class FunctionLowering {
public:
  FunctionLowering(ModuleLowering& m, const ast::Probe& probe, const ast::AttachPoint& ap, const RawSyscall& raw,
                   llvm::Function* fn)
      : m_(m), probe_(probe), ap_(ap), raw_(raw), fn_(fn), ctx_(m.context()), b_(ctx_) {}

  void run() {
    entry_ = BasicBlock::Create(ctx_, "entry", fn_);
    BasicBlock* body = BasicBlock::Create(ctx_, "body", fn_);
    b_.SetInsertPoint(body);
    VariableSizes sizes(m_.types());
    sizes.visit(probe_.body);
    if (probe_.predicate) sizes.visitExpr(*probe_.predicate);
    uint32_t variableBytes = 0;
    for (auto& [name, type] : sizes.largest) {
      uint32_t size = std::max<uint32_t>(8, slotSize(type));
      variables_[name] = {entryAlloca(size), type};
      variableBytes += size;
    }
    // Temporaries live in one arena that every statement reuses: no value
    // outlives its statement (variables have their own slots above).
    arenaSize_ = variableBytes >= kStackBytes - 128 ? 64 : kStackBytes - 64 - variableBytes;
    arena_ = entryAlloca(arenaSize_);

    if (raw_.kind != RawSyscall::Kind::None) filterSyscall();
    if (probe_.predicate) {
      at(probe_.predicate->range);
      statementRange_ = probe_.predicate->range;
      BasicBlock* pass = BasicBlock::Create(ctx_, "predicate_true", fn_);
      BasicBlock* skip = BasicBlock::Create(ctx_, "predicate_false", fn_);
      b_.CreateCondBr(condition(*probe_.predicate), pass, skip);
      b_.SetInsertPoint(skip);
      b_.CreateRet(b_.getInt64(0));
      b_.SetInsertPoint(pass);
    }
    block(probe_.body);
    if (!b_.GetInsertBlock()->getTerminator()) b_.CreateRet(b_.getInt64(0));
    b_.SetInsertPoint(entry_);
    b_.CreateBr(body);
  }

private:
  // ------------------------------------------------------------ syscall tracepoints
  // On raw sys_enter the context is {struct pt_regs *regs, long id}; on raw
  // sys_exit it is {regs, long ret}, and the number is regs->orig_ax.
  Value* syscallRegister(uint32_t offsetInRegs) {
    Value* regs = b_.CreateAlignedLoad(i64(), fn_->getArg(0), llvm::Align(8));
    Value* slot = stackSlot(8);
    call(Helper::ProbeReadKernel, i64(), {slot, b_.getInt64(8), b_.CreateIntToPtr(b_.CreateAdd(regs, b_.getInt64(offsetInRegs)), ptr())});
    return b_.CreateAlignedLoad(i64(), slot, llvm::Align(8));
  }

  void filterSyscall() {
    at(probe_.range);
    arenaUsed_ = 0;
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
  Val syscallField(const TracepointFormat& format, const TracepointField& f) {
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

  // ------------------------------------------------------------ basics
  void at(SourceRange r) {
    LineColumn lc = m_.diags().file().lineColumn(r.begin);
    b_.SetCurrentDebugLocation(llvm::DILocation::get(ctx_, lc.line, lc.column, fn_->getSubprogram()));
  }

  const Type& typeOf(const ast::Expr& e) { return m_.types().of(e); }
  llvm::Type* i64() { return b_.getInt64Ty(); }
  llvm::Type* ptr() { return b_.getPtrTy(); }

  Value* entryAlloca(uint32_t size) {
    llvm::IRBuilder<> entry(entry_, entry_->begin());
    auto* slot = entry.CreateAlloca(llvm::ArrayType::get(b_.getInt8Ty(), size));
    slot->setAlignment(llvm::Align(8));
    return slot;
  }

  // A temporary buffer in the statement's part of the arena.
  Value* stackSlot(uint32_t size) {
    size = (size + 7) / 8 * 8;
    if (arenaUsed_ + size > arenaSize_) {
      if (!stackReported_)
        m_.diags().error(statementRange_, "this statement needs more than " + std::to_string(arenaSize_) +
                                              " bytes of BPF stack for its values",
                         "split it into smaller statements, or use shorter strings (str(p, 32))");
      stackReported_ = true;
      return offset(arena_, 0);
    }
    Value* p = offset(arena_, arenaUsed_);
    arenaUsed_ += size;
    return p;
  }

  Value* zeroedBuffer(uint32_t size) {
    Value* p = stackSlot(std::max<uint32_t>(size, 8));
    b_.CreateMemSet(p, b_.getInt8(0), std::max<uint32_t>(size, 8), llvm::MaybeAlign(8));
    return p;
  }

  Value* offset(Value* base, uint32_t bytes) { return bytes ? b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), base, bytes) : base; }

  Value* call(Helper h, llvm::Type* ret, std::vector<Value*> args) {
    std::vector<llvm::Type*> types;
    for (Value* a : args) types.push_back(a->getType());
    auto* fnType = llvm::FunctionType::get(ret, types, false);
    Value* callee = b_.CreateIntToPtr(b_.getInt64(static_cast<int64_t>(h)), ptr());
    return b_.CreateCall(fnType, callee, args);
  }

  Value* normalize(Value* v, const Type& t) {
    if (t.is(TypeKind::Bool)) return b_.CreateZExt(b_.CreateICmpNE(v, b_.getInt64(0)), i64());
    if (!t.is(TypeKind::Integer) || t.bits() >= 64) return v;
    Value* narrow = b_.CreateTrunc(v, b_.getIntNTy(t.bits()));
    return t.isSigned() ? b_.CreateSExt(narrow, i64()) : b_.CreateZExt(narrow, i64());
  }

  Val zero() { return {b_.getInt64(0), false}; }

  // Stores a value of type `from` into a slot of type `to` at base+off.
  void storeSlot(Value* base, uint32_t off, const Val& v, const Type& from, const Type& to) {
    Value* dst = offset(base, off);
    if (!v.buffer) {
      b_.CreateAlignedStore(normalize(v.v, to), dst, llvm::Align(8));
      return;
    }
    uint32_t n = std::min(slotSize(from), slotSize(to));
    if (n) b_.CreateMemCpy(dst, llvm::MaybeAlign(8), v.v, llvm::MaybeAlign(8), n);
  }

  Val loadSlot(Value* base, uint32_t off, const Type& t) {
    Value* src = offset(base, off);
    if (t.is(TypeKind::String) || t.is(TypeKind::Tuple)) {
      Value* copy = zeroedBuffer(slotSize(t));
      b_.CreateMemCpy(copy, llvm::MaybeAlign(8), src, llvm::MaybeAlign(8), slotSize(t));
      return {copy, true};
    }
    return {b_.CreateAlignedLoad(i64(), src, llvm::Align(8)), false};
  }

  Value* constantString(const std::string& s, uint32_t capacity) {
    Value* buf = zeroedBuffer((capacity + 7) / 8 * 8);
    for (size_t i = 0; i < s.size() && i + 1 < capacity; i += 8) {
      uint64_t word = 0;
      for (size_t j = 0; j < 8 && i + j < s.size() && i + j + 1 < capacity; ++j)
        word |= uint64_t{static_cast<unsigned char>(s[i + j])} << (8 * j);
      b_.CreateAlignedStore(b_.getInt64(word), offset(buf, static_cast<uint32_t>(i)), llvm::Align(8));
    }
    return buf;
  }

  void incrementCounter(llvm::GlobalVariable* map, uint32_t index) {
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

  // ------------------------------------------------------------ expressions
  Value* condition(const ast::Expr& e) {
    Val v = expr(e);
    return b_.CreateICmpNE(v.v, b_.getInt64(0));
  }

  Val expr(const ast::Expr& e) {
    at(e.range);
    switch (e.kind) {
      case ast::ExprKind::Integer: return {normalize(b_.getInt64(static_cast<const ast::Integer&>(e).value), typeOf(e)), false};
      case ast::ExprKind::String: {
        const auto& s = static_cast<const ast::String&>(e);
        return {constantString(s.value, typeOf(e).capacity()), true};
      }
      case ast::ExprKind::Identifier: return builtin(static_cast<const ast::Identifier&>(e));
      case ast::ExprKind::Variable: {
        const auto& v = static_cast<const ast::Variable&>(e);
        return loadSlot(variables_.at(v.name).storage, 0, typeOf(e));
      }
      case ast::ExprKind::Map: return mapRead(static_cast<const ast::Map&>(e));
      case ast::ExprKind::Unary: return unary(static_cast<const ast::Unary&>(e));
      case ast::ExprKind::Binary: return binary(static_cast<const ast::Binary&>(e));
      case ast::ExprKind::Ternary: return ternary(static_cast<const ast::Ternary&>(e));
      case ast::ExprKind::Field: return field(static_cast<const ast::Field&>(e));
      case ast::ExprKind::TupleIndex: {
        const auto& t = static_cast<const ast::TupleIndex&>(e);
        Val base = expr(*t.base);
        const Type& tt = typeOf(*t.base);
        uint32_t off = 0;
        for (uint32_t i = 0; i < t.index; ++i) off += slotSize(tt.elements()[i]);
        return loadSlot(base.v, off, tt.elements()[t.index]);
      }
      case ast::ExprKind::Cast: {
        const auto& c = static_cast<const ast::Cast&>(e);
        Val v = expr(*c.operand);
        if (c.type.pointers > 0) break;
        return {normalize(v.v, typeOf(e)), false};
      }
      case ast::ExprKind::Tuple: {
        const auto& t = static_cast<const ast::Tuple&>(e);
        Value* buf = zeroedBuffer(slotSize(typeOf(e)));
        uint32_t off = 0;
        for (const ast::ExprPtr& el : t.elements) {
          Val v = expr(*el);
          storeSlot(buf, off, v, typeOf(*el), typeOf(*el));
          off += slotSize(typeOf(*el));
        }
        return {buf, true};
      }
      case ast::ExprKind::Call: return callValue(static_cast<const ast::Call&>(e));
      default: break;
    }
    m_.unsupported(e.range, "this expression");
    return zero();
  }

  Val builtin(const ast::Identifier& id) {
    const std::string& n = id.name;
    if (n == "pid" || n == "tid") {
      Value* v = call(Helper::GetCurrentPidTgid, i64(), {});
      return {n == "pid" ? b_.CreateLShr(v, 32) : b_.CreateAnd(v, 0xffffffff), false};
    }
    if (n == "uid") return {b_.CreateAnd(call(Helper::GetCurrentUidGid, i64(), {}), 0xffffffff), false};
    if (n == "cpu") return {b_.CreateAnd(call(Helper::GetSmpProcessorId, i64(), {}), 0xffffffff), false};
    if (n == "nsecs") return {call(Helper::KtimeGetNs, i64(), {}), false};
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
    if (n == "probe") return {constantString(ap_.raw, typeOf(id).capacity()), true};
    m_.unsupported(id.range, "'" + n + "'");
    return zero();
  }

  Val field(const ast::Field& f) {
    if (f.base->kind == ast::ExprKind::Identifier && static_cast<const ast::Identifier&>(*f.base).name == "args" &&
        ap_.provider == "tracepoint") {
      auto it = m_.types().tracepoints.find(ap_.target + ":" + ap_.function);
      const TracepointField* tf = it == m_.types().tracepoints.end() ? nullptr : it->second.field(f.field);
      if (tf && raw_.kind != RawSyscall::Kind::None && tf->type.isIntegerLike()) return syscallField(it->second, *tf);
      if (tf && raw_.kind != RawSyscall::Kind::None && tf->type.is(TypeKind::Pointer))
        return syscallField(it->second, *tf);
      if (tf && !tf->dataLoc && (tf->size == 1 || tf->size == 2 || tf->size == 4 || tf->size == 8) &&
          !tf->type.is(TypeKind::String)) {
        Value* p = offset(fn_->getArg(0), tf->offset);
        Value* raw = b_.CreateAlignedLoad(b_.getIntNTy(tf->size * 8), p, llvm::Align(tf->size));
        Value* wide = isSigned(tf->type) ? b_.CreateSExt(raw, i64()) : b_.CreateZExt(raw, i64());
        return {wide, false};
      }
      if (tf && tf->type.is(TypeKind::String) && !tf->dataLoc) {
        Value* buf = zeroedBuffer(slotSize(tf->type));
        b_.CreateMemCpy(buf, llvm::MaybeAlign(8), offset(fn_->getArg(0), tf->offset), llvm::MaybeAlign(1), tf->size);
        return {buf, true};
      }
    }
    m_.unsupported(f.range, "this field");
    return zero();
  }

  Val unary(const ast::Unary& u) {
    const Type& t = typeOf(u);
    switch (u.op) {
      case ast::UnaryOp::Not: return {b_.CreateZExt(b_.CreateICmpEQ(expr(*u.operand).v, b_.getInt64(0)), i64()), false};
      case ast::UnaryOp::Negate: return {normalize(b_.CreateNeg(expr(*u.operand).v), t), false};
      case ast::UnaryOp::BitNot: return {normalize(b_.CreateNot(expr(*u.operand).v), t), false};
      case ast::UnaryOp::Deref: break;
      default: return increment(u);
    }
    m_.unsupported(u.range, "'*'");
    return zero();
  }

  Val increment(const ast::Unary& u) {
    bool up = u.op == ast::UnaryOp::PreIncrement || u.op == ast::UnaryOp::PostIncrement;
    bool post = u.op == ast::UnaryOp::PostIncrement || u.op == ast::UnaryOp::PostDecrement;
    const Type& t = typeOf(*u.operand);
    Val old = expr(*u.operand);
    Value* now = normalize(up ? b_.CreateAdd(old.v, b_.getInt64(1)) : b_.CreateSub(old.v, b_.getInt64(1)), t);
    storeTo(*u.operand, {now, false}, t);
    return {post ? old.v : now, false};
  }

  Val binary(const ast::Binary& e) {
    if (e.op == ast::BinaryOp::LogicalAnd || e.op == ast::BinaryOp::LogicalOr) return logical(e);
    const Type& lt = typeOf(*e.lhs);
    const Type& rt = typeOf(*e.rhs);
    Val l = expr(*e.lhs);
    Val r = expr(*e.rhs);
    at(e.range);
    if (l.buffer || r.buffer) {  // strings (and tuples): == and !=
      uint32_t n = std::max(slotSize(lt), slotSize(rt));
      Value* diff = b_.getInt64(0);
      for (uint32_t i = 0; i < n; i += 8) {
        Value* a = i < slotSize(lt) ? static_cast<Value*>(b_.CreateAlignedLoad(i64(), offset(l.v, i), llvm::Align(8))) : b_.getInt64(0);
        Value* c = i < slotSize(rt) ? static_cast<Value*>(b_.CreateAlignedLoad(i64(), offset(r.v, i), llvm::Align(8))) : b_.getInt64(0);
        diff = b_.CreateOr(diff, b_.CreateXor(a, c));
      }
      Value* same = b_.CreateICmpEQ(diff, b_.getInt64(0));
      return {b_.CreateZExt(e.op == ast::BinaryOp::Eq ? same : b_.CreateNot(same), i64()), false};
    }
    bool sign = isSigned(lt) && isSigned(rt);
    auto cmp = [&](llvm::CmpInst::Predicate p) { return Val{b_.CreateZExt(b_.CreateICmp(p, l.v, r.v), i64()), false}; };
    using P = llvm::CmpInst::Predicate;
    const Type& t = typeOf(e);
    switch (e.op) {
      case ast::BinaryOp::Eq: return cmp(P::ICMP_EQ);
      case ast::BinaryOp::Ne: return cmp(P::ICMP_NE);
      case ast::BinaryOp::Lt: return cmp(sign ? P::ICMP_SLT : P::ICMP_ULT);
      case ast::BinaryOp::Le: return cmp(sign ? P::ICMP_SLE : P::ICMP_ULE);
      case ast::BinaryOp::Gt: return cmp(sign ? P::ICMP_SGT : P::ICMP_UGT);
      case ast::BinaryOp::Ge: return cmp(sign ? P::ICMP_SGE : P::ICMP_UGE);
      case ast::BinaryOp::Add: return {normalize(b_.CreateAdd(l.v, r.v), t), false};
      case ast::BinaryOp::Sub: return {normalize(b_.CreateSub(l.v, r.v), t), false};
      case ast::BinaryOp::Mul: return {normalize(b_.CreateMul(l.v, r.v), t), false};
      case ast::BinaryOp::BitAnd: return {normalize(b_.CreateAnd(l.v, r.v), t), false};
      case ast::BinaryOp::BitOr: return {normalize(b_.CreateOr(l.v, r.v), t), false};
      case ast::BinaryOp::BitXor: return {normalize(b_.CreateXor(l.v, r.v), t), false};
      case ast::BinaryOp::Shl: return {normalize(b_.CreateShl(l.v, b_.CreateAnd(r.v, 63)), t), false};
      case ast::BinaryOp::Shr:
        return {normalize(isSigned(t) ? b_.CreateAShr(l.v, b_.CreateAnd(r.v, 63)) : b_.CreateLShr(l.v, b_.CreateAnd(r.v, 63)), t), false};
      case ast::BinaryOp::Div:
      case ast::BinaryOp::Mod: {
        bool div = e.op == ast::BinaryOp::Div;
        if (!isSigned(t)) return {normalize(div ? b_.CreateUDiv(l.v, r.v) : b_.CreateURem(l.v, r.v), t), false};
        // BPF v3 divides unsigned only: divide the magnitudes, then fix the sign.
        auto abs = [&](Value* x) { return b_.CreateSelect(b_.CreateICmpSLT(x, b_.getInt64(0)), b_.CreateNeg(x), x); };
        Value* q = div ? b_.CreateUDiv(abs(l.v), abs(r.v)) : b_.CreateURem(abs(l.v), abs(r.v));
        Value* negative = div ? b_.CreateICmpSLT(b_.CreateXor(l.v, r.v), b_.getInt64(0)) : b_.CreateICmpSLT(l.v, b_.getInt64(0));
        return {normalize(b_.CreateSelect(negative, b_.CreateNeg(q), q), t), false};
      }
      default: break;
    }
    m_.unsupported(e.range, "this operator");
    return zero();
  }

  Val logical(const ast::Binary& e) {
    bool isAnd = e.op == ast::BinaryOp::LogicalAnd;
    Value* left = condition(*e.lhs);
    BasicBlock* from = b_.GetInsertBlock();
    BasicBlock* rhs = BasicBlock::Create(ctx_, isAnd ? "and_rhs" : "or_rhs", fn_);
    BasicBlock* done = BasicBlock::Create(ctx_, isAnd ? "and_done" : "or_done", fn_);
    if (isAnd) b_.CreateCondBr(left, rhs, done);
    else b_.CreateCondBr(left, done, rhs);
    b_.SetInsertPoint(rhs);
    Value* right = condition(*e.rhs);
    BasicBlock* rhsEnd = b_.GetInsertBlock();
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    auto* phi = b_.CreatePHI(b_.getInt1Ty(), 2);
    phi->addIncoming(b_.getInt1(!isAnd), from);
    phi->addIncoming(right, rhsEnd);
    return {b_.CreateZExt(phi, i64()), false};
  }

  Val ternary(const ast::Ternary& t) {
    const Type& type = typeOf(t);
    Value* c = condition(*t.cond);
    BasicBlock* yes = BasicBlock::Create(ctx_, "then", fn_);
    BasicBlock* no = BasicBlock::Create(ctx_, "else", fn_);
    BasicBlock* done = BasicBlock::Create(ctx_, "endif", fn_);
    bool buffer = type.is(TypeKind::String) || type.is(TypeKind::Tuple);
    Value* result = buffer ? zeroedBuffer(slotSize(type)) : nullptr;
    b_.CreateCondBr(c, yes, no);
    auto branch = [&](BasicBlock* bb, const ast::Expr& e) -> std::pair<Value*, BasicBlock*> {
      b_.SetInsertPoint(bb);
      Val v = expr(e);
      if (buffer) storeSlot(result, 0, v, typeOf(e), type);
      Value* out = buffer ? nullptr : normalize(v.v, type);
      BasicBlock* end = b_.GetInsertBlock();
      b_.CreateBr(done);
      return {out, end};
    };
    auto [a, aEnd] = branch(yes, *t.then);
    auto [bv, bEnd] = branch(no, *t.otherwise);
    b_.SetInsertPoint(done);
    if (buffer) return {result, true};
    auto* phi = b_.CreatePHI(i64(), 2);
    phi->addIncoming(a, aEnd);
    phi->addIncoming(bv, bEnd);
    return {phi, false};
  }

  Val callValue(const ast::Call& c) {
    if (c.callee == "str") {
      const Type& t = typeOf(c);
      Val src = expr(*c.args[0].value);
      if (src.buffer) {
        Value* buf = zeroedBuffer(slotSize(t));
        storeSlot(buf, 0, src, typeOf(*c.args[0].value), t);
        return {buf, true};
      }
      Value* buf = zeroedBuffer(slotSize(t));
      call(Helper::ProbeReadUserStr, i64(), {buf, b_.getInt64(t.capacity()), b_.CreateIntToPtr(src.v, ptr())});
      return {buf, true};
    }
    if (c.callee == "ntop") {
      // An IPv4 address is an integer whose bytes, in memory, are the address
      // in network order; IPv6 addresses are already buffers.
      return expr(*c.args[0].value);
    }
    if (c.callee == "pton") {
      const std::string& text = static_cast<const ast::String&>(*c.args[0].value).value;
      unsigned char bytes[16] = {};
      if (typeOf(c).is(TypeKind::Ipv4) && inet_pton(AF_INET, text.c_str(), bytes) == 1) {
        uint64_t word = 0;
        std::memcpy(&word, bytes, 4);
        return {b_.getInt64(word), false};
      }
      if (inet_pton(AF_INET6, text.c_str(), bytes) == 1) {
        Value* buf = zeroedBuffer(16);
        for (uint32_t i = 0; i < 16; i += 8) {
          uint64_t word = 0;
          std::memcpy(&word, bytes + i, 8);
          b_.CreateAlignedStore(b_.getInt64(word), offset(buf, i), llvm::Align(8));
        }
        return {buf, true};
      }
    }
    m_.unsupported(c.range, c.callee + "() here");
    return zero();
  }

  // ------------------------------------------------------------ maps
  // The BPF key of @m[k...], plus room for a histogram bucket.
  Value* mapKey(const ast::Map& m, const MapLayout& l) {
    Value* key = zeroedBuffer(l.keySize);
    uint32_t off = 0;
    for (size_t i = 0; i < m.keys.size() && i < l.keys.size(); ++i) {
      Val k = expr(*m.keys[i]);
      storeSlot(key, off, k, typeOf(*m.keys[i]), l.keys[i]);
      off += slotSize(l.keys[i]);
    }
    return key;
  }

  Val mapRead(const ast::Map& m) {
    const MapGlobal& g = m_.map(m.name);
    const MapLayout& l = m_.layout(g);
    Value* key = mapKey(m, l);
    Value* p = call(Helper::MapLookupElem, ptr(), {g.global, key});
    bool buffer = l.value.is(TypeKind::String) || l.value.is(TypeKind::Tuple);
    Value* result = buffer ? zeroedBuffer(slotSize(l.value)) : nullptr;
    BasicBlock* from = b_.GetInsertBlock();
    BasicBlock* found = BasicBlock::Create(ctx_, "found", fn_);
    BasicBlock* done = BasicBlock::Create(ctx_, "read", fn_);
    b_.CreateCondBr(b_.CreateIsNotNull(p), found, done);
    b_.SetInsertPoint(found);
    Value* loaded = nullptr;
    if (buffer) b_.CreateMemCpy(result, llvm::MaybeAlign(8), p, llvm::MaybeAlign(8), slotSize(l.value));
    else loaded = b_.CreateAlignedLoad(i64(), p, llvm::Align(8));
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    if (buffer) return {result, true};
    auto* phi = b_.CreatePHI(i64(), 2);
    phi->addIncoming(b_.getInt64(0), from);
    phi->addIncoming(loaded, found);
    return {phi, false};
  }

  void mapStore(const ast::Map& m, const Val& v, const Type& from) {
    const MapGlobal& g = m_.map(m.name);
    const MapLayout& l = m_.layout(g);
    Value* key = mapKey(m, l);
    Value* value = zeroedBuffer(l.valueSize);
    storeSlot(value, 0, v, from, l.value);
    at(m.range);
    Value* r = call(Helper::MapUpdateElem, i64(), {g.global, key, value, b_.getInt64(kAny)});
    refusedIf(b_.CreateICmpNE(r, b_.getInt64(0)), g.index);
  }

  void refusedIf(Value* failed, size_t mapIndex) {
    BasicBlock* bad = BasicBlock::Create(ctx_, "map_full", fn_);
    BasicBlock* ok = BasicBlock::Create(ctx_, "stored", fn_);
    b_.CreateCondBr(failed, bad, ok);
    b_.SetInsertPoint(bad);
    incrementCounter(m_.refused(), static_cast<uint32_t>(mapIndex));
    b_.CreateBr(ok);
    b_.SetInsertPoint(ok);
  }

  // The per-CPU value of an aggregation entry, created zeroed if missing.
  // Continues in a block where the pointer is known not to be null; returns
  // the block to branch to when done.
  Value* aggregationEntry(const MapGlobal& g, const MapLayout& l, Value* key, BasicBlock*& done) {
    Value* p = call(Helper::MapLookupElem, ptr(), {g.global, key});
    BasicBlock* have = BasicBlock::Create(ctx_, "have_entry", fn_);
    BasicBlock* create = BasicBlock::Create(ctx_, "new_entry", fn_);
    done = BasicBlock::Create(ctx_, "aggregated", fn_);
    BasicBlock* from = b_.GetInsertBlock();
    b_.CreateCondBr(b_.CreateIsNotNull(p), have, create);
    b_.SetInsertPoint(create);
    Value* zeroValue = zeroedBuffer(l.valueSize);
    call(Helper::MapUpdateElem, i64(), {g.global, key, zeroValue, b_.getInt64(kNoExist)});
    Value* created = call(Helper::MapLookupElem, ptr(), {g.global, key});
    BasicBlock* refused = BasicBlock::Create(ctx_, "map_full", fn_);
    BasicBlock* createdEnd = b_.GetInsertBlock();
    b_.CreateCondBr(b_.CreateIsNotNull(created), have, refused);
    b_.SetInsertPoint(refused);
    incrementCounter(m_.refused(), static_cast<uint32_t>(g.index));
    b_.CreateBr(done);
    b_.SetInsertPoint(have);
    auto* entry = b_.CreatePHI(ptr(), 2);
    entry->addIncoming(p, from);
    entry->addIncoming(created, createdEnd);
    return entry;
  }

  Value* histogramBucket(Value* v, const Type& t) {
    // [0] negative, [1] zero, [2 + floor(log2 v)] otherwise
    Value* log = b_.getInt64(0);
    Value* x = v;
    for (int shift : {32, 16, 8, 4, 2, 1}) {
      Value* big = b_.CreateICmpNE(b_.CreateLShr(x, shift), b_.getInt64(0));
      x = b_.CreateSelect(big, b_.CreateLShr(x, shift), x);
      log = b_.CreateSelect(big, b_.CreateAdd(log, b_.getInt64(shift)), log);
    }
    Value* bucket = b_.CreateSelect(b_.CreateICmpEQ(v, b_.getInt64(0)), b_.getInt64(1), b_.CreateAdd(log, b_.getInt64(2)));
    if (isSigned(t)) bucket = b_.CreateSelect(b_.CreateICmpSLT(v, b_.getInt64(0)), b_.getInt64(0), bucket);
    return bucket;
  }

  Value* linearBucket(Value* v, const Type& t, const MapLayout& l) {
    bool sign = isSigned(t) || l.lhistMin < 0;
    Value* lo = b_.getInt64(l.lhistMin);
    Value* hi = b_.getInt64(l.lhistMax);
    Value* below = sign ? b_.CreateICmpSLT(v, lo) : b_.CreateICmpULT(v, lo);
    Value* above = sign ? b_.CreateICmpSGE(v, hi) : b_.CreateICmpUGE(v, hi);
    Value* inside = b_.CreateAdd(b_.CreateUDiv(b_.CreateSub(v, lo), b_.getInt64(l.lhistStep)), b_.getInt64(1));
    return b_.CreateSelect(below, b_.getInt64(0), b_.CreateSelect(above, b_.getInt64(l.buckets - 1), inside));
  }

  void aggregate(const ast::Map& m, const ast::Call& c) {
    const MapGlobal& g = m_.map(m.name);
    const MapLayout& l = m_.layout(g);
    const Type& argType = c.args.empty() ? l.value : typeOf(*c.args[0].value);
    Value* v = c.args.empty() ? b_.getInt64(0) : expr(*c.args[0].value).v;
    Value* key = mapKey(m, l);
    if (l.role == MapRole::Hist || l.role == MapRole::Lhist) {
      Value* bucket = l.role == MapRole::Hist ? histogramBucket(v, argType) : linearBucket(v, argType, l);
      b_.CreateAlignedStore(bucket, offset(key, l.keySize - 8), llvm::Align(8));
    }
    at(m.range);
    BasicBlock* done = nullptr;
    Value* p = aggregationEntry(g, l, key, done);
    auto add = [&](uint32_t off, Value* x) {
      Value* slot = offset(p, off);
      b_.CreateAlignedStore(b_.CreateAdd(b_.CreateAlignedLoad(i64(), slot, llvm::Align(8)), x), slot, llvm::Align(8));
    };
    switch (l.role) {
      case MapRole::Count:
      case MapRole::Hist:
      case MapRole::Lhist: add(0, b_.getInt64(1)); break;
      case MapRole::Sum: add(0, v); break;
      case MapRole::Avg:
      case MapRole::Stats:
        add(0, b_.getInt64(1));
        add(8, v);
        break;
      case MapRole::Min:
      case MapRole::Max: {
        Value* current = b_.CreateAlignedLoad(i64(), p, llvm::Align(8));
        Value* set = b_.CreateAlignedLoad(i64(), offset(p, 8), llvm::Align(8));
        bool sign = isSigned(argType);
        Value* better = l.role == MapRole::Min ? (sign ? b_.CreateICmpSLT(v, current) : b_.CreateICmpULT(v, current))
                                               : (sign ? b_.CreateICmpSGT(v, current) : b_.CreateICmpUGT(v, current));
        Value* take = b_.CreateOr(better, b_.CreateICmpEQ(set, b_.getInt64(0)));
        b_.CreateAlignedStore(b_.CreateSelect(take, v, current), p, llvm::Align(8));
        b_.CreateAlignedStore(b_.getInt64(1), offset(p, 8), llvm::Align(8));
        break;
      }
      case MapRole::Value: break;
    }
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
  }

  // ------------------------------------------------------------ statements
  void storeTo(const ast::Expr& target, const Val& v, const Type& from) {
    if (target.kind == ast::ExprKind::Variable) {
      const auto& var = variables_.at(static_cast<const ast::Variable&>(target).name);
      storeSlot(var.storage, 0, v, from, var.type);
      return;
    }
    if (target.kind == ast::ExprKind::Map) return mapStore(static_cast<const ast::Map&>(target), v, from);
    m_.unsupported(target.range, "assigning to this");
  }

  void assign(const ast::Assign& s) {
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
    Value* r = nullptr;
    switch (s.op) {
      case ast::AssignOp::Add: r = b_.CreateAdd(old.v, v.v); break;
      case ast::AssignOp::Sub: r = b_.CreateSub(old.v, v.v); break;
      case ast::AssignOp::Mul: r = b_.CreateMul(old.v, v.v); break;
      case ast::AssignOp::Div: r = isSigned(targetType) ? b_.CreateSDiv(old.v, v.v) : b_.CreateUDiv(old.v, v.v); break;
      case ast::AssignOp::Mod: r = isSigned(targetType) ? b_.CreateSRem(old.v, v.v) : b_.CreateURem(old.v, v.v); break;
      case ast::AssignOp::BitAnd: r = b_.CreateAnd(old.v, v.v); break;
      case ast::AssignOp::BitOr: r = b_.CreateOr(old.v, v.v); break;
      case ast::AssignOp::BitXor: r = b_.CreateXor(old.v, v.v); break;
      case ast::AssignOp::Shl: r = b_.CreateShl(old.v, b_.CreateAnd(v.v, 63)); break;
      case ast::AssignOp::Shr: r = b_.CreateLShr(old.v, b_.CreateAnd(v.v, 63)); break;
      case ast::AssignOp::Set: break;
    }
    if (isSigned(targetType) && (s.op == ast::AssignOp::Div || s.op == ast::AssignOp::Mod)) {
      m_.unsupported(s.range, "signed '/=' and '%='");
      return;
    }
    storeTo(*s.target, {normalize(r, targetType), false}, targetType);
  }

  // A ring-buffer record: kind, index, then the values.
  void event(EventKind kind, uint64_t index, const std::vector<const ast::Expr*>& args) {
    uint32_t size = 16;
    for (const ast::Expr* a : args) size += slotSize(typeOf(*a));
    if (size > 480) return m_.unsupported(args.empty() ? probe_.range : args[0]->range, "a record over 480 bytes");
    std::vector<Val> values;
    for (const ast::Expr* a : args) values.push_back(expr(*a));
    Value* record = zeroedBuffer(size);
    b_.CreateAlignedStore(b_.getInt64(static_cast<uint64_t>(kind)), record, llvm::Align(8));
    b_.CreateAlignedStore(b_.getInt64(index), offset(record, 8), llvm::Align(8));
    uint32_t off = 16;
    for (size_t i = 0; i < args.size(); ++i) {
      storeSlot(record, off, values[i], typeOf(*args[i]), typeOf(*args[i]));
      off += slotSize(typeOf(*args[i]));
    }
    Value* r = call(Helper::RingbufOutput, i64(), {m_.events(), record, b_.getInt64(size), b_.getInt64(0)});
    BasicBlock* lost = BasicBlock::Create(ctx_, "lost", fn_);
    BasicBlock* sent = BasicBlock::Create(ctx_, "sent", fn_);
    b_.CreateCondBr(b_.CreateICmpNE(r, b_.getInt64(0)), lost, sent);
    b_.SetInsertPoint(lost);
    incrementCounter(m_.lost(), 0);
    b_.CreateBr(sent);
    b_.SetInsertPoint(sent);
  }

  void callStatement(const ast::Call& c) {
    at(c.range);
    const std::string& n = c.callee;
    if (n == "printf") {
      PrintfLayout layout;
      layout.format = static_cast<const ast::String&>(*c.args[0].value).value;
      std::vector<const ast::Expr*> args;
      for (size_t i = 1; i < c.args.size(); ++i) {
        args.push_back(c.args[i].value.get());
        layout.args.push_back(typeOf(*c.args[i].value));
      }
      return event(EventKind::Printf, m_.addPrintf(std::move(layout)), args);
    }
    if (n == "exit") return event(EventKind::Exit, 0, {});
    if (n == "time") {
      std::string fmt = c.args.empty() ? "%H:%M:%S\n" : static_cast<const ast::String&>(*c.args[0].value).value;
      return event(EventKind::Time, m_.addTimeFormat(fmt), {});
    }
    if ((n == "clear" || n == "zero" || n == "print") && c.args[0].value->kind == ast::ExprKind::Map &&
        static_cast<const ast::Map&>(*c.args[0].value).keys.empty()) {
      const auto& m = static_cast<const ast::Map&>(*c.args[0].value);
      EventKind kind = n == "clear" ? EventKind::Clear : n == "zero" ? EventKind::Zero : EventKind::Print;
      return event(kind, m_.map(m.name).index, {});
    }
    if (n == "print") {  // print(x) of a value: a printf of the value and a line break
      const Type& t = typeOf(*c.args[0].value);
      PrintfLayout layout;
      layout.format = t.is(TypeKind::Integer) && t.isSigned() ? "%d\n" : t.isIntegerLike() ? "%u\n" : "%s\n";
      layout.args.push_back(t);
      return event(EventKind::Printf, m_.addPrintf(std::move(layout)), {c.args[0].value.get()});
    }
    if (n == "delete") {
      const auto& m = static_cast<const ast::Map&>(*c.args[0].value);
      const MapGlobal& g = m_.map(m.name);
      const MapLayout& l = m_.layout(g);
      if (l.role == MapRole::Hist || l.role == MapRole::Lhist) return m_.unsupported(c.range, "delete() on a histogram");
      call(Helper::MapDeleteElem, i64(), {g.global, mapKey(m, l)});
      return;
    }
    m_.unsupported(c.range, n + "()");
  }

  void statement(const ast::Stmt& s) {
    if (b_.GetInsertBlock()->getTerminator()) {  // after break/continue/return: unreachable code
      b_.SetInsertPoint(BasicBlock::Create(ctx_, "unreachable", fn_));
    }
    at(s.range);
    arenaUsed_ = 0;
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
        b_.CreateBr(head);
        b_.SetInsertPoint(head);
        b_.CreateCondBr(condition(*w.cond), body, done);
        b_.SetInsertPoint(body);
        loops_.push_back({done, head});
        block(w.body);
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
        if (j.jump == ast::JumpKind::Return) b_.CreateRet(b_.getInt64(0));
        else if (!loops_.empty()) b_.CreateBr(j.jump == ast::JumpKind::Break ? loops_.back().breakTo : loops_.back().continueTo);
        return;
      }
    }
  }

  void block(const ast::Block& b) {
    for (const ast::StmtPtr& s : b.stmts) statement(*s);
  }

  struct VariableSlot {
    Value* storage;
    Type type;
  };

  ModuleLowering& m_;
  const ast::Probe& probe_;
  const ast::AttachPoint& ap_;
  RawSyscall raw_;
  llvm::Function* fn_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> b_;
  BasicBlock* entry_ = nullptr;
  std::map<std::string, VariableSlot> variables_;
  std::vector<Loop> loops_;
  Value* arena_ = nullptr;
  uint32_t arenaSize_ = 0;
  uint32_t arenaUsed_ = 0;
  SourceRange statementRange_;
  bool stackReported_ = false;
};

}  // namespace

void lowerFunction(ModuleLowering& m, const ast::Probe& probe, const ast::AttachPoint& ap, const RawSyscall& raw,
                   llvm::Function* fn) {
  FunctionLowering(m, probe, ap, raw, fn).run();
}

}  // namespace dptrace

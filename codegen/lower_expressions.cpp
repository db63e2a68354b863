// Expressions: operators with their types' width and sign, short-circuit
// logic, ?:, casts, tuples, and the calls that produce values.
#include <arpa/inet.h>

#include <cstring>

#include "function_lowering.h"

namespace dptrace {

Value* FunctionLowering::condition(const ast::Expr& e) {
  Val v = expr(e);
  return b_.CreateICmpNE(v.v, b_.getInt64(0));
}

Val FunctionLowering::expr(const ast::Expr& e) {
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
      return loadSlot(variableAddress(v).v, 0, typeOf(e));
    }
    case ast::ExprKind::Map: return mapRead(static_cast<const ast::Map&>(e));
    case ast::ExprKind::Unary: return unary(static_cast<const ast::Unary&>(e));
    case ast::ExprKind::Binary: return binary(static_cast<const ast::Binary&>(e));
    case ast::ExprKind::Ternary: return ternary(static_cast<const ast::Ternary&>(e));
    case ast::ExprKind::Field: return field(static_cast<const ast::Field&>(e));
    case ast::ExprKind::TupleIndex: {
      const auto& t = static_cast<const ast::TupleIndex&>(e);
      const Type& tt = typeOf(*t.base);
      // $t.N reads the element where the variable keeps it, with no copy of the tuple.
      Val base = t.base->kind == ast::ExprKind::Variable ? variableAddress(static_cast<const ast::Variable&>(*t.base))
                                                         : expr(*t.base);
      uint32_t off = 0;
      for (uint32_t i = 0; i < t.index; ++i) off += slotSize(tt.elements()[i]);
      return loadSlot(base.v, off, tt.elements()[t.index]);
    }
    case ast::ExprKind::Cast: {
      const auto& c = static_cast<const ast::Cast&>(e);
      Val v = expr(*c.operand);
      if (c.type.pointers > 0) return v;  // an address stays an address
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
    case ast::ExprKind::Index: return index(static_cast<const ast::Index&>(e));
    default: break;
  }
  m_.unsupported(e.range, "this expression");
  return zero();
}

Val FunctionLowering::unary(const ast::Unary& u) {
  const Type& t = typeOf(u);
  switch (u.op) {
    case ast::UnaryOp::Not: return {b_.CreateZExt(b_.CreateICmpEQ(expr(*u.operand).v, b_.getInt64(0)), i64()), false};
    case ast::UnaryOp::Negate: return {normalize(b_.CreateNeg(expr(*u.operand).v), t), false};
    case ast::UnaryOp::BitNot: return {normalize(b_.CreateNot(expr(*u.operand).v), t), false};
    case ast::UnaryOp::Deref: return dereference(u);
    default: return increment(u);
  }
  m_.unsupported(u.range, "'*'");
  return zero();
}

Val FunctionLowering::increment(const ast::Unary& u) {
  bool up = u.op == ast::UnaryOp::PreIncrement || u.op == ast::UnaryOp::PostIncrement;
  bool post = u.op == ast::UnaryOp::PostIncrement || u.op == ast::UnaryOp::PostDecrement;
  const Type& t = typeOf(*u.operand);
  Val old = expr(*u.operand);
  Value* step = b_.getInt64(t.is(TypeKind::Pointer) ? pointerStride(t) : 1);  // $p++ moves to the next target
  Value* now = normalize(up ? b_.CreateAdd(old.v, step) : b_.CreateSub(old.v, step), t);
  storeTo(*u.operand, {now, false}, t);
  return {post ? old.v : now, false};
}

// Where a variable is kept. In xdp blocks a variable whose assignment did not
// run on this packet is absent: reading it does not continue.
Val FunctionLowering::variableAddress(const ast::Variable& v) {
  if (auto set = variableSet_.find(v.name); set != variableSet_.end())
    requirePresent(b_.CreateICmpNE(b_.CreateLoad(b_.getInt8Ty(), set->second), b_.getInt8(0)));
  const VariableSlot& slot = variables_.at(v.name);
  Value* p = variablePointer(slot);
  // A tuple variable holds its widest type's layout (stores convert to it);
  // here it is read as this occurrence's narrower one.
  const Type& here = typeOf(v);
  // An inet variable read where it last held one kind of address: the address's bytes.
  if (slot.type.is(TypeKind::Inet) && (here.is(TypeKind::Ipv4) || here.is(TypeKind::Ipv6))) return {offset(p, 8), true};
  if (slot.type.is(TypeKind::Tuple) && here.is(TypeKind::Tuple) && !(slot.type == here)) {
    Value* copy = zeroedBuffer(slotSize(here));
    storeSlot(copy, 0, {p, true}, slot.type, here);
    return {copy, true};
  }
  return {p, true};
}

Val FunctionLowering::binary(const ast::Binary& e) {
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
  if (lt.is(TypeKind::Ipv4) && rt.fromNetworkOrder()) r.v = byteSwap(r.v, 32);
  if (rt.is(TypeKind::Ipv4) && lt.fromNetworkOrder()) l.v = byteSwap(l.v, 32);
  bool sign = isSigned(lt) && isSigned(rt);
  auto cmp = [&](llvm::CmpInst::Predicate p) { return Val{b_.CreateZExt(b_.CreateICmp(p, l.v, r.v), i64()), false}; };
  using P = llvm::CmpInst::Predicate;
  switch (e.op) {
    case ast::BinaryOp::Eq: return cmp(P::ICMP_EQ);
    case ast::BinaryOp::Ne: return cmp(P::ICMP_NE);
    case ast::BinaryOp::Lt: return cmp(sign ? P::ICMP_SLT : P::ICMP_ULT);
    case ast::BinaryOp::Le: return cmp(sign ? P::ICMP_SLE : P::ICMP_ULE);
    case ast::BinaryOp::Gt: return cmp(sign ? P::ICMP_SGT : P::ICMP_UGT);
    case ast::BinaryOp::Ge: return cmp(sign ? P::ICMP_SGE : P::ICMP_UGE);
    default:
      // p + n, n + p, p - n: n of the pointer's targets.
      if (lt.is(TypeKind::Pointer) && !rt.is(TypeKind::Pointer)) r.v = b_.CreateMul(r.v, b_.getInt64(pointerStride(lt)));
      if (rt.is(TypeKind::Pointer) && !lt.is(TypeKind::Pointer)) l.v = b_.CreateMul(l.v, b_.getInt64(pointerStride(rt)));
      return {arithmetic(e.op, l.v, r.v, typeOf(e)), false};
  }
}

// How far p + 1 is from p: the size of p's target (a byte for void).
uint64_t FunctionLowering::pointerStride(const Type& pointer) {
  const Type& target = pointer.pointee();
  if (target.is(TypeKind::Void)) return 1;
  uint32_t size = elementSize(target);
  return size ? size : 1;
}

// An arithmetic or bit operator in type t, the result normalised to it; the
// compound assignments (+=, >>=, ...) use the same.
Value* FunctionLowering::arithmetic(ast::BinaryOp op, Value* l, Value* r, const Type& t) {
  Value* v = nullptr;
  switch (op) {
    case ast::BinaryOp::Add: v = b_.CreateAdd(l, r); break;
    case ast::BinaryOp::Sub: v = b_.CreateSub(l, r); break;
    case ast::BinaryOp::Mul: v = b_.CreateMul(l, r); break;
    case ast::BinaryOp::BitAnd: v = b_.CreateAnd(l, r); break;
    case ast::BinaryOp::BitOr: v = b_.CreateOr(l, r); break;
    case ast::BinaryOp::BitXor: v = b_.CreateXor(l, r); break;
    case ast::BinaryOp::Shl: v = b_.CreateShl(l, b_.CreateAnd(r, 63)); break;
    case ast::BinaryOp::Shr: v = isSigned(t) ? b_.CreateAShr(l, b_.CreateAnd(r, 63)) : b_.CreateLShr(l, b_.CreateAnd(r, 63)); break;
    case ast::BinaryOp::Div: v = divide(l, r, isSigned(t), true); break;
    case ast::BinaryOp::Mod: v = divide(l, r, isSigned(t), false); break;
    default: v = b_.getInt64(0); break;  // comparisons and logic are not arithmetic
  }
  return normalize(v, t);
}

Val FunctionLowering::logical(const ast::Binary& e) {
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

Val FunctionLowering::ternary(const ast::Ternary& t) {
  const Type& type = typeOf(t);
  Value* c = condition(*t.cond);
  BasicBlock* yes = BasicBlock::Create(ctx_, "then", fn_);
  BasicBlock* no = BasicBlock::Create(ctx_, "else", fn_);
  BasicBlock* done = BasicBlock::Create(ctx_, "endif", fn_);
  bool buffer = heldInMemory(type);
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

Val FunctionLowering::callValue(const ast::Call& c) {
  if (c.callee == "fib_lookup" && packet_) return fibLookup();
  if (c.callee == "str") {
    const Type& t = typeOf(c);
    Val src = expr(*c.args[0].value);
    if (src.buffer) {
      Value* buf = zeroedBuffer(slotSize(t));
      storeSlot(buf, 0, src, typeOf(*c.args[0].value), t);
      b_.CreateStore(b_.getInt8(0), offset(buf, t.capacity() - 1));  // cut to its capacity
      return {buf, true};
    }
    Value* buf = zeroedBuffer(slotSize(t));
    Value* size = b_.getInt64(t.capacity());
    if (c.args.size() == 2 && c.args[1].value->kind != ast::ExprKind::Integer) {
      // str(p, $n): n characters and the NUL, at most the capacity; the mask
      // shows the verifier the bound where the call is.
      Value* cap = b_.getInt64(t.capacity());
      Value* n = expr(*c.args[1].value).v;
      Value* wanted = b_.CreateSelect(b_.CreateICmpUGE(n, cap), cap, b_.CreateAdd(n, b_.getInt64(1)));
      wanted = b_.CreateSelect(b_.CreateICmpSLT(n, b_.getInt64(0)), b_.getInt64(1), wanted);  // a negative length: empty
      Value* masked = b_.CreateAnd(wanted, b_.getInt64(llvm::PowerOf2Ceil(t.capacity() + 1) - 1));
      size = b_.CreateSelect(b_.CreateICmpUGT(masked, cap), cap, masked);
    }
    Helper read = userMemory(typeOf(*c.args[0].value).space()) ? Helper::ProbeReadUserStr : Helper::ProbeReadKernelStr;
    checkHelper(read, call(read, i64(), {buf, size, b_.CreateIntToPtr(src.v, ptr())}), 2);
    return {buf, true};
  }
  if (c.callee == "buf") {  // a slot of the length read, then the bytes (Type::buffer)
    const Type& t = typeOf(c);
    const Type& from = typeOf(*c.args[0].value);
    Val src = expr(*c.args[0].value);
    uint32_t capacity = t.capacity();
    Value* length = b_.getInt64(capacity);
    if (c.args.size() == 2) {  // at most the capacity
      Value* n = expr(*c.args[1].value).v;
      length = b_.CreateSelect(b_.CreateICmpUGT(n, length), length, n);
    }
    Value* buf = zeroedBuffer(slotSize(t));
    if (src.buffer) {  // an array's (or a string's) bytes: as many as it has
      uint32_t n = std::min(capacity, from.capacity());
      if (n) b_.CreateMemCpy(offset(buf, 8), llvm::MaybeAlign(8), src.v, llvm::MaybeAlign(1), n);
      length = b_.CreateSelect(b_.CreateICmpUGT(length, b_.getInt64(n)), b_.getInt64(n), length);
    } else if (capacity > 0) {
      Helper read = userMemory(from.space()) ? Helper::ProbeReadUser : Helper::ProbeReadKernel;
      // The verifier wants the size's bounds where the call is: the mask
      // keeps it within the next power of two, the compare within the slot.
      Value* masked = b_.CreateAnd(length, b_.getInt64(llvm::PowerOf2Ceil(capacity + 1) - 1));
      Value* size = b_.CreateSelect(b_.CreateICmpUGT(masked, b_.getInt64(capacity)), b_.getInt64(capacity), masked);
      Value* result = call(read, i64(), {offset(buf, 8), size, b_.CreateIntToPtr(src.v, ptr())});
      checkHelper(read, result, 2);
      length = b_.CreateSelect(b_.CreateICmpEQ(result, b_.getInt64(0)), size, b_.getInt64(0));  // nothing read: empty
    }
    b_.CreateAlignedStore(length, buf, llvm::Align(8));
    return {buf, true};
  }
  if (c.callee == "bswap") {
    const Type& t = typeOf(c);
    return {normalize(byteSwap(expr(*c.args[0].value).v, t.bits()), t), false};
  }
  if (c.callee == "ntop") {
    // An IPv4 address is an integer whose bytes, in memory, are the address
    // in network order; IPv6 addresses are already buffers (16 bytes, as an
    // array of 16 bytes is). An array of 4 bytes becomes that integer.
    const Type& from = typeOf(*c.args.back().value);  // ntop(af, addr): the type says the family
    Val v = expr(*c.args.back().value);
    if (from.is(TypeKind::Array) && typeOf(c).is(TypeKind::Ipv4))
      return {b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt32Ty(), v.v, llvm::Align(8)), i64()), false};
    if (from.fromNetworkOrder() && from.bits() == 32) return {byteSwap(v.v, 32), false};  // back to network order
    return v;
  }
  if (c.callee == "cgroup_path") {  // the id, and 1 + the filter's index (0: every hierarchy)
    Value* buf = zeroedBuffer(16);
    b_.CreateAlignedStore(expr(*c.args[0].value).v, buf, llvm::Align(8));
    if (c.args.size() == 2)
      b_.CreateAlignedStore(b_.getInt64(1 + m_.addTimeFormat(static_cast<const ast::String&>(*c.args[1].value).value)),
                            offset(buf, 8), llvm::Align(8));
    return {buf, true};
  }
  if (c.callee == "usym" || c.callee == "ksym" || c.callee == "strerror" || c.callee == "strftime") {
    // Two words, turned into text by dptrace when it prints them: the value,
    // and the process (usym) or the format's index (strftime).
    Val v = expr(*c.args[c.callee == "strftime" ? 1 : 0].value);
    Value* buf = zeroedBuffer(16);
    b_.CreateAlignedStore(v.v, buf, llvm::Align(8));
    Value* second = nullptr;
    if (c.callee == "usym") second = b_.CreateLShr(call(Helper::GetCurrentPidTgid, i64(), {}), 32);
    if (c.callee == "strftime")
      second = b_.getInt64(m_.addTimeFormat(static_cast<const ast::String&>(*c.args[0].value).value));
    if (second) b_.CreateAlignedStore(second, offset(buf, 8), llvm::Align(8));
    return {buf, true};
  }
  if (c.callee == "kstack" || c.callee == "ustack") {
    return stack(c.callee == "ustack", StackOptions::decoded(static_cast<int64_t>(m_.types().values.at(&c))));
  }
  if (c.callee == "path") {  // bpf_d_path(path, buf, size); the verifier allows it in fentry/fexit of some functions
    const Type& t = typeOf(c);
    Value* buf = zeroedBuffer(slotSize(t));
    Value* p = b_.CreateIntToPtr(expr(*c.args[0].value).v, ptr());
    checkHelper(Helper::DPath, call(Helper::DPath, i64(), {p, buf, b_.getInt64(t.capacity())}), 2);
    return {buf, true};
  }
  if (c.callee == "uaddr") {  // the symbol's address, moved as far as the probe's own address moved
    uint64_t v = m_.types().values.at(&c);
    uint64_t address = v & ~kUaddrRelocatable;
    if (!(v & kUaddrRelocatable)) return {b_.getInt64(address), false};
    if (!user_.address) {
      m_.unsupported(c.range, "uaddr() of a position-independent binary here (the probe's address is not known)");
      return zero();
    }
    Value* ip = b_.CreateAlignedLoad(i64(), offset(fn_->getArg(0), 128), llvm::Align(8));  // the probe's address in the process
    return {b_.CreateAdd(ip, b_.getInt64(address - *user_.address)), false};
  }
  if (c.callee == "uptr" || c.callee == "kptr") return expr(*c.args[0].value);  // its type says where it points
  if (c.callee == "reg") {  // the context is (or starts with) struct pt_regs
    Value* at = offset(fn_->getArg(0), static_cast<uint32_t>(m_.types().values.at(&c)));
    return {b_.CreateAlignedLoad(i64(), at, llvm::Align(8)), false};
  }
  if (c.callee == "sizeof" || c.callee == "kaddr" || c.callee == "cgroupid") return {b_.getInt64(m_.types().values.at(&c)), false};
  if (c.callee == "strncmp") {
    // Strings are zero after their NUL: the first n bytes of both buffers
    // decide, word by word, the last word masked to what is left of n.
    const Type& at = typeOf(*c.args[0].value);
    const Type& bt = typeOf(*c.args[1].value);
    Val a = expr(*c.args[0].value);
    Val b = expr(*c.args[1].value);
    uint64_t n = m_.types().values.at(&c);
    uint32_t limit = static_cast<uint32_t>(std::min<uint64_t>(n, std::max(slotSize(at), slotSize(bt))));
    Value* diff = b_.getInt64(0);
    for (uint32_t i = 0; i < limit; i += 8) {
      auto word = [&](const Val& v, const Type& t) {
        return i < slotSize(t) ? static_cast<Value*>(b_.CreateAlignedLoad(i64(), offset(v.v, i), llvm::Align(8))) : b_.getInt64(0);
      };
      Value* x = b_.CreateXor(word(a, at), word(b, bt));
      if (limit - i < 8) x = b_.CreateAnd(x, b_.getInt64((uint64_t{1} << (8 * (limit - i))) - 1));
      diff = b_.CreateOr(diff, x);
    }
    return {b_.CreateZExt(b_.CreateICmpNE(diff, b_.getInt64(0)), i64()), false};
  }
  if (c.callee == "strcontains") return strcontains(c);
  if (c.callee == "macaddr") {  // six bytes, in memory order, as a MAC value holds them
    const Type& from = typeOf(*c.args[0].value);
    Val v = expr(*c.args[0].value);
    if (from.is(TypeKind::Mac)) return v;
    Value* bytes = v.v;
    if (from.is(TypeKind::Pointer) || from.is(TypeKind::Integer)) {
      bytes = readSlot();
      b_.CreateAlignedStore(b_.getInt64(0), bytes, llvm::Align(8));
      call(userMemory(from.space()) ? Helper::ProbeReadUser : Helper::ProbeReadKernel, i64(),
           {bytes, b_.getInt64(6), b_.CreateIntToPtr(v.v, ptr())});
    }
    Value* lo = b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt32Ty(), bytes, llvm::Align(1)), i64());
    Value* hi = b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt16Ty(), offset(bytes, 4), llvm::Align(1)), i64());
    return {b_.CreateOr(lo, b_.CreateShl(hi, 32)), false};
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

// Division and remainder with the BPF ISA's meaning: x / 0 is 0 and x % 0
// is x. LLVM's udiv by zero is undefined behaviour (the optimiser may fold a
// path that can divide by zero into poison), so the divisor is made non-zero
// first and the zero case chosen after. BPF v3 divides unsigned only: for
// signed values the magnitudes are divided and the sign fixed (the quotient
// rounds toward zero, the remainder takes the dividend's sign, as in C).
Value* FunctionLowering::divide(Value* l, Value* r, bool isSignedDivision, bool quotient) {
  Value* byZero = b_.CreateICmpEQ(r, b_.getInt64(0));
  Value* divisor = b_.CreateSelect(byZero, b_.getInt64(1), r);
  Value* result;
  if (!isSignedDivision) {
    result = quotient ? b_.CreateUDiv(l, divisor) : b_.CreateURem(l, divisor);
  } else {
    auto abs = [&](Value* x) { return b_.CreateSelect(b_.CreateICmpSLT(x, b_.getInt64(0)), b_.CreateNeg(x), x); };
    Value* q = quotient ? b_.CreateUDiv(abs(l), abs(divisor)) : b_.CreateURem(abs(l), abs(divisor));
    Value* negative =
        quotient ? b_.CreateICmpSLT(b_.CreateXor(l, divisor), b_.getInt64(0)) : b_.CreateICmpSLT(l, b_.getInt64(0));
    result = b_.CreateSelect(negative, b_.CreateNeg(q), q);
  }
  return b_.CreateSelect(byZero, quotient ? b_.getInt64(0) : l, result);
}

// strcontains(haystack, needle): 1 when needle's bytes (up to its NUL or
// its buffer's end) start at some position of haystack before its NUL, as
// bpftrace's; two bounded loops that the verifier walks (not unrolled).
Val FunctionLowering::strcontains(const ast::Call& c) {
  const Type& ht = typeOf(*c.args[0].value);
  const Type& nt = typeOf(*c.args[1].value);
  Val hay = expr(*c.args[0].value), needle = expr(*c.args[1].value);
  uint32_t hsize = ht.capacity(), nsize = nt.capacity();
  Value* found = entryAlloca(8);
  Value* i = entryAlloca(8);
  Value* j = entryAlloca(8);
  b_.CreateAlignedStore(b_.getInt64(0), found, llvm::Align(8));
  b_.CreateAlignedStore(b_.getInt64(0), i, llvm::Align(8));
  BasicBlock* outer = BasicBlock::Create(ctx_, "contains_at", fn_);
  BasicBlock* inner = BasicBlock::Create(ctx_, "contains_byte", fn_);
  BasicBlock* compare = BasicBlock::Create(ctx_, "contains_compare", fn_);
  BasicBlock* nextByte = BasicBlock::Create(ctx_, "contains_next_byte", fn_);
  BasicBlock* nextAt = BasicBlock::Create(ctx_, "contains_next_at", fn_);
  BasicBlock* yes = BasicBlock::Create(ctx_, "contains_yes", fn_);
  BasicBlock* done = BasicBlock::Create(ctx_, "contains_done", fn_);
  auto byteAt = [&](Value* base, Value* index) {
    return b_.CreateLoad(b_.getInt8Ty(), b_.CreateGEP(b_.getInt8Ty(), base, index));
  };
  auto noUnroll = [&](llvm::Instruction* backedge) {  // one copy of the body: the verifier counts each
    llvm::MDNode* disable = llvm::MDNode::get(ctx_, {llvm::MDString::get(ctx_, "llvm.loop.unroll.disable")});
    llvm::MDNode* loop = llvm::MDNode::getDistinct(ctx_, {nullptr, disable});
    loop->replaceOperandWith(0, loop);
    backedge->setMetadata(llvm::LLVMContext::MD_loop, loop);
  };
  b_.CreateBr(outer);
  // At position i: compare needle[j] with haystack[i + j] for j = 0, 1, ...
  b_.SetInsertPoint(outer);
  b_.CreateAlignedStore(b_.getInt64(0), j, llvm::Align(8));
  b_.CreateBr(inner);
  b_.SetInsertPoint(inner);
  Value* jv = b_.CreateAlignedLoad(i64(), j, llvm::Align(8));
  Value* iv = b_.CreateAlignedLoad(i64(), i, llvm::Align(8));
  BasicBlock* inNeedle = BasicBlock::Create(ctx_, "contains_in_needle", fn_);
  b_.CreateCondBr(b_.CreateICmpUGE(jv, b_.getInt64(nsize)), yes, inNeedle);  // the whole buffer matched
  b_.SetInsertPoint(inNeedle);
  Value* nb = byteAt(needle.v, jv);
  BasicBlock* inHay = BasicBlock::Create(ctx_, "contains_in_haystack", fn_);
  b_.CreateCondBr(b_.CreateICmpEQ(nb, b_.getInt8(0)), yes, inHay);  // its NUL: everything before it matched
  b_.SetInsertPoint(inHay);
  Value* at = b_.CreateAdd(iv, jv);
  b_.CreateCondBr(b_.CreateICmpUGE(at, b_.getInt64(hsize)), done, compare);  // past the haystack: no later position fits
  b_.SetInsertPoint(compare);
  Value* hb = byteAt(hay.v, at);
  b_.CreateCondBr(b_.CreateICmpEQ(hb, nb), nextByte, nextAt);
  b_.SetInsertPoint(nextByte);
  b_.CreateAlignedStore(b_.CreateAdd(jv, b_.getInt64(1)), j, llvm::Align(8));
  noUnroll(b_.CreateBr(inner));
  // The next position, unless the haystack's NUL is at this one.
  b_.SetInsertPoint(nextAt);
  Value* here = byteAt(hay.v, iv);
  Value* next = b_.CreateAdd(iv, b_.getInt64(1));
  b_.CreateAlignedStore(next, i, llvm::Align(8));
  BasicBlock* more = BasicBlock::Create(ctx_, "contains_more", fn_);
  b_.CreateCondBr(b_.CreateOr(b_.CreateICmpEQ(here, b_.getInt8(0)), b_.CreateICmpUGE(next, b_.getInt64(hsize))), done, more);
  b_.SetInsertPoint(more);
  noUnroll(b_.CreateBr(outer));
  b_.SetInsertPoint(yes);
  b_.CreateAlignedStore(b_.getInt64(1), found, llvm::Align(8));
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
  return {b_.CreateAlignedLoad(i64(), found, llvm::Align(8)), false};
}

}  // namespace dptrace

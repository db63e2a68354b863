// Reads of traced memory: struct fields through pointers, p[i] and *p.
// A struct-typed value is its address; reading a field, an element or a
// pointee copies its bytes with bpf_probe_read_user (uprobes) or
// bpf_probe_read_kernel (everything else) and widens them by their type.
// Arrays held in a value (a tracepoint's u8 saddr[4]) are indexed in place.
#include "function_lowering.h"

namespace dptrace {

uint32_t FunctionLowering::elementSize(const Type& t) {
  if (t.is(TypeKind::Struct)) {
    auto it = m_.types().imported->structs.find(t.name());
    return it == m_.types().imported->structs.end() ? 0 : it->second.size;
  }
  if (t.is(TypeKind::Integer)) return t.bits() / 8;
  if (t.is(TypeKind::Bool)) return 1;
  if (t.is(TypeKind::String)) return t.capacity();
  return 8;  // pointers
}

Val FunctionLowering::readMemory(Value* address, const Type& t, uint32_t size) {
  Helper read = userMemory() ? Helper::ProbeReadUser : Helper::ProbeReadKernel;
  if (t.is(TypeKind::Struct)) return {address, false};  // a struct is its address
  if (t.is(TypeKind::String) || t.is(TypeKind::Array)) {
    Value* buf = zeroedBuffer(slotSize(t));
    call(read, i64(), {buf, b_.getInt64(std::min(size, t.capacity())), b_.CreateIntToPtr(address, ptr())});
    return {buf, true};
  }
  Value* slot = stackSlot(8);
  b_.CreateAlignedStore(b_.getInt64(0), slot, llvm::Align(8));
  uint32_t n = std::min<uint32_t>(size ? size : 8, 8);
  call(read, i64(), {slot, b_.getInt64(n), b_.CreateIntToPtr(address, ptr())});
  Value* raw = b_.CreateAlignedLoad(b_.getIntNTy(n * 8), slot, llvm::Align(8));
  Value* wide = n == 8 ? raw : isSigned(t) ? b_.CreateSExt(raw, i64()) : b_.CreateZExt(raw, i64());
  return {normalize(wide, t), false};
}

// base->field or base.field where base is a pointer to a struct or a struct;
// null when the base is no struct.
std::optional<Val> FunctionLowering::structField(const ast::Field& f) {
  const Type& base = typeOf(*f.base);
  const Type* record = base.is(TypeKind::Struct) ? &base
                       : base.is(TypeKind::Pointer) && base.pointee().is(TypeKind::Struct) ? &base.pointee()
                                                                                           : nullptr;
  if (record == nullptr) return std::nullopt;
  auto layout = m_.types().imported->structs.find(record->name());
  if (layout == m_.types().imported->structs.end()) return std::nullopt;
  const StructField* field = layout->second.field(f.field);
  if (field == nullptr) return std::nullopt;
  Val address = expr(*f.base);
  at(f.range);
  return readMemory(b_.CreateAdd(address.v, b_.getInt64(field->offset)), typeOf(f), field->size);
}

// Where a uprobe's pointers point: the traced process. A syscall's pointer
// arguments (syscalls:sys_enter_*) point into the calling process too;
// everything else reads kernel memory.
bool FunctionLowering::userMemory() const {
  return isUserProbe(ap_->kind) || (ap_->kind == ProbeKind::Tracepoint && ap_->target == "syscalls");
}

Val FunctionLowering::index(const ast::Index& e) {
  const Type& element = typeOf(e);
  Val base = expr(*e.base);
  Val i = expr(*e.index);
  at(e.range);
  if (typeOf(*e.base).is(TypeKind::Array)) {  // in the value: a bounds-checked load, 0 past the end
    const Type& array = typeOf(*e.base);
    uint32_t size = element.bits() / 8;
    Value* inside = b_.CreateICmpULT(i.v, b_.getInt64(array.length()));
    Value* safe = b_.CreateSelect(inside, i.v, b_.getInt64(0));
    Value* at = b_.CreateGEP(b_.getInt8Ty(), base.v, b_.CreateMul(safe, b_.getInt64(size)));
    Value* raw = b_.CreateAlignedLoad(b_.getIntNTy(size * 8), at, llvm::Align(1));
    Value* wide = isSigned(element) ? b_.CreateSExt(raw, i64()) : b_.CreateZExt(raw, i64());
    return {b_.CreateSelect(inside, wide, b_.getInt64(0)), false};
  }
  uint32_t size = elementSize(element);
  Value* address = b_.CreateAdd(base.v, b_.CreateMul(i.v, b_.getInt64(size)));
  return readMemory(address, element, size);
}

Val FunctionLowering::dereference(const ast::Unary& u) {
  const Type& pointee = typeOf(u);
  Val p = expr(*u.operand);
  at(u.range);
  return readMemory(p.v, pointee, elementSize(pointee));
}

}  // namespace dptrace

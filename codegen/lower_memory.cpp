// Reads of traced memory: struct fields through pointers, p[i] and *p.
// A struct-typed value is its address; reading a field, an element or a
// pointee copies its bytes with bpf_probe_read_user (uprobes) or
// bpf_probe_read_kernel (everything else) and widens them by their type.
// Arrays held in a value (a tracepoint's u8 saddr[4]) are indexed in place,
// and so are the fields of a struct copied into a value ($st = *p; $st.a).
#include "function_lowering.h"

namespace dptrace {

uint32_t FunctionLowering::elementSize(const Type& t) {
  if (t.is(TypeKind::Struct)) {
    const StructLayout* layout = m_.types().imported->findStruct(t.name());
    return layout ? layout->size : 0;
  }
  if (t.is(TypeKind::Integer)) return t.bits() / 8;
  if (t.is(TypeKind::Bool)) return 1;
  if (t.is(TypeKind::String) || t.is(TypeKind::Record)) return t.capacity();
  return 8;  // pointers
}

Val FunctionLowering::readMemory(Value* address, const Type& t, uint32_t size, AddressSpace space) {
  Helper read = userMemory(space) ? Helper::ProbeReadUser : Helper::ProbeReadKernel;
  if (t.is(TypeKind::Struct)) return {address, false};  // a struct is its address
  if (t.is(TypeKind::String) || t.is(TypeKind::Array) || t.is(TypeKind::Record)) {
    Value* buf = zeroedBuffer(slotSize(t));
    checkHelper(read, call(read, i64(), {buf, b_.getInt64(std::min(size, t.capacity())), b_.CreateIntToPtr(address, ptr())}), 2);
    return {buf, true};
  }
  Value* slot = readSlot();
  b_.CreateAlignedStore(b_.getInt64(0), slot, llvm::Align(8));
  uint32_t n = std::min<uint32_t>(size ? size : 8, 8);
  checkHelper(read, call(read, i64(), {slot, b_.getInt64(n), b_.CreateIntToPtr(address, ptr())}), 2);
  Value* raw = b_.CreateAlignedLoad(b_.getIntNTy(n * 8), slot, llvm::Align(8));
  Value* wide = n == 8 ? raw : isSigned(t) ? b_.CreateSExt(raw, i64()) : b_.CreateZExt(raw, i64());
  return {normalize(wide, t), false};
}

// The struct field `f` reads, with its struct's layout; null when its base is no struct.
const StructField* FunctionLowering::fieldOf(const ast::Field& f, const StructLayout*& layout) {
  const Type& base = typeOf(*f.base);
  const Type* record = base.is(TypeKind::Struct) ? &base
                       : base.is(TypeKind::Pointer) && base.pointee().is(TypeKind::Struct) ? &base.pointee()
                                                                                           : nullptr;
  if (record == nullptr) return nullptr;
  layout = m_.types().imported->findStruct(record->name());
  return layout ? layout->field(f.field) : nullptr;
}

// Where `field` of the struct at `base` is: relocated for a kernel struct
// (core_types.h), at its offset for the others.
Value* FunctionLowering::fieldAddress(Value* base, const StructLayout& layout, const StructField& field) {
  if (CoreTypes::relocatable(layout) && !m_.host()) return m_.core().fieldAddress(b_, base, layout, field);
  return b_.CreateAdd(base, b_.getInt64(field.offset));
}

// base->field or base.field where base is a pointer to a struct or a struct;
// null when the base is no struct. Fields of the kernel's BTF structs are
// read through CO-RE relocations (core_types.h), in host byte order.
std::optional<Val> FunctionLowering::structField(const ast::Field& f) {
  if (typeOf(*f.base).is(TypeKind::Record)) return recordField(f);
  const StructLayout* layout = nullptr;
  const StructField* field = fieldOf(f, layout);
  if (field == nullptr) return std::nullopt;
  Val address = expr(*f.base);
  at(f.range);
  AddressSpace space = typeOf(*f.base).space();
  bool core = CoreTypes::relocatable(*layout) && !m_.host();
  if (field->bitField || (core && field->type.isIntegerLike())) {
    Val v = relocatedInteger(address.v, *layout, *field, typeOf(f), space);
    if (field->bigEndian) v.v = normalize(byteSwap(v.v, field->size * 8), typeOf(f));
    return v;
  }
  Value* at = fieldAddress(address.v, *layout, *field);
  if (!field->bigEndian || (field->size != 2 && field->size != 4 && field->size != 8))
    return readMemory(at, typeOf(f), field->size, space);
  Val v = readMemory(at, Type::integer(field->size * 8, false), field->size, space);
  return Val{normalize(byteSwap(v.v, field->size * 8), typeOf(f)), false};
}

// $st.field of a struct value: a place in its bytes (strings, arrays and
// structs), or an integer loaded from there (bit-fields shifted out, the
// kernel's big-endian fields into host order).
Val FunctionLowering::recordField(const ast::Field& f) {
  const Type& record = typeOf(*f.base);
  Val base = expr(*f.base);
  at(f.range);
  size_t i = 0;
  while (i < record.fields().size() && record.fields()[i].name != f.field) ++i;
  if (i == record.fields().size()) {  // the type checker let no such field through
    m_.unsupported(f.range, "this field");
    return zero();
  }
  const RecordField& field = record.fields()[i];
  const Type& t = record.elements()[i];
  Value* start = offset(base.v, field.bitOffset / 8);
  if (heldInMemory(t)) {
    // In place when 8-aligned; else copied, as aligned as its offset allows:
    // the verifier refuses misaligned accesses to the stack.
    uint32_t at = field.bitOffset / 8;
    if (at % 8 == 0) return {start, true};
    uint32_t align = at % 4 == 0 ? 4 : at % 2 == 0 ? 2 : 1;
    Value* copy = zeroedBuffer(slotSize(t));
    llvm::Type* chunk = b_.getIntNTy(align * 8);
    for (uint32_t k = 0; k < t.capacity(); k += align)
      b_.CreateAlignedStore(b_.CreateAlignedLoad(chunk, offset(start, k), llvm::Align(align)), offset(copy, k), llvm::Align(align));
    return {copy, true};
  }
  uint32_t bytes = field.bitSize ? (field.bitOffset % 8 + field.bitSize + 7) / 8 : elementSize(t);
  // A field at its natural alignment (the record's bytes are 8-aligned) in
  // one load; another (packed, or a bit-field's bytes) byte by byte,
  // little-endian, at most 8 of them (the type checker refuses more).
  Value* v = b_.getInt64(0);
  bool natural = (bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8) && (field.bitOffset / 8) % bytes == 0;
  if (natural) {
    v = b_.CreateZExt(b_.CreateAlignedLoad(b_.getIntNTy(bytes * 8), start, llvm::Align(bytes)), i64());
  } else {
    for (uint32_t k = 0; k < bytes && k < 8; ++k) {
      Value* byte = b_.CreateZExt(b_.CreateAlignedLoad(b_.getInt8Ty(), offset(start, k), llvm::Align(1)), i64());
      v = b_.CreateOr(v, k ? b_.CreateShl(byte, b_.getInt64(8 * k)) : byte);
    }
  }
  if (field.bitSize) {
    v = b_.CreateShl(v, b_.getInt64(64 - field.bitOffset % 8 - field.bitSize));
    v = isSigned(t) ? b_.CreateAShr(v, b_.getInt64(64 - field.bitSize)) : b_.CreateLShr(v, b_.getInt64(64 - field.bitSize));
  } else if (field.bigEndian) {
    v = byteSwap(v, bytes * 8);
  } else if (bytes < 8 && isSigned(t)) {
    v = b_.CreateAShr(b_.CreateShl(v, b_.getInt64(64 - 8 * bytes)), b_.getInt64(64 - 8 * bytes));
  }
  return {normalize(v, typeOf(f)), false};
}

Value* FunctionLowering::byteSwap(Value* v, uint32_t bits) {
  if (bits != 16 && bits != 32 && bits != 64) return v;
  Value* swapped = b_.CreateUnaryIntrinsic(llvm::Intrinsic::bswap, b_.CreateTrunc(v, b_.getIntNTy(bits)));
  return b_.CreateZExt(swapped, i64());
}

// An integer field (or bit-field) of a BTF struct: its bytes, where and as
// many as the running kernel has them (relocated), shifted into place with
// the relocated shifts -- libbpf's BPF_CORE_READ_BITFIELD_PROBED. A field
// whose size changed between kernels (an int that became a long) still reads right.
Val FunctionLowering::relocatedInteger(Value* base, const StructLayout& layout, const StructField& field, const Type& t,
                                       AddressSpace space) {
  if (!CoreTypes::relocatable(layout) || m_.host()) {
    // An anonymous struct (sk_buff's headers group) has no name to relocate
    // against: its bit-field is read at the offset this BTF gives, from the
    // bytes that hold it.
    uint32_t first = field.bitOffset / 8, last = (field.bitOffset + field.bitSize - 1) / 8;
    uint32_t bytes = last - first + 1;
    if (bytes > 8) {
      m_.unsupported(statementRange_, "a bit-field spread over more than 8 bytes");
      return zero();
    }
    Value* slot = readSlot();
    b_.CreateAlignedStore(b_.getInt64(0), slot, llvm::Align(8));
    Helper read = userMemory(space) ? Helper::ProbeReadUser : Helper::ProbeReadKernel;
    checkHelper(read, call(read, i64(), {slot, b_.getInt64(bytes), b_.CreateIntToPtr(b_.CreateAdd(base, b_.getInt64(first)), ptr())}), 2);
    Value* v = b_.CreateShl(b_.CreateAlignedLoad(i64(), slot, llvm::Align(8)),
                            b_.getInt64(64 - (field.bitOffset % 8) - field.bitSize));
    v = isSigned(field.type) ? b_.CreateAShr(v, b_.getInt64(64 - field.bitSize)) : b_.CreateLShr(v, b_.getInt64(64 - field.bitSize));
    return {normalize(v, t), false};
  }
  if (field.bitField && !m_.core().bitFieldRelocatable(layout, field)) {
    m_.diags().error(statementRange_, "bit-field '" + field.name + "' of struct " + layout.name +
                                          " straddles its storage unit (a packed struct): it cannot be read relocatably",
                     "read the bytes that hold it through a cast, e.g. *(u64 *)&..., and mask them");
    return zero();
  }
  auto info = [&](CoreTypes::FieldInfo kind) {
    return b_.CreateZExt(m_.core().fieldInfo(b_, base, layout, field, kind), i64());
  };
  Value* storage = b_.CreateAdd(base, info(CoreTypes::FieldInfo::ByteOffset));
  Value* slot = readSlot();
  b_.CreateAlignedStore(b_.getInt64(0), slot, llvm::Align(8));
  Helper read = userMemory(space) ? Helper::ProbeReadUser : Helper::ProbeReadKernel;  // -kk reports a failed read
  checkHelper(read, call(read, i64(), {slot, info(CoreTypes::FieldInfo::ByteSize), b_.CreateIntToPtr(storage, ptr())}), 2);
  Value* v = b_.CreateShl(b_.CreateAlignedLoad(i64(), slot, llvm::Align(8)), info(CoreTypes::FieldInfo::LeftShift));
  Value* right = info(CoreTypes::FieldInfo::RightShift);
  v = isSigned(field.type) ? b_.CreateAShr(v, right) : b_.CreateLShr(v, right);
  return {normalize(v, t), false};
}

// Where a uprobe's pointers point: the traced process. A syscall's pointer
// arguments (syscalls:sys_enter_*) point into the calling process too;
// everything else reads kernel memory.
bool FunctionLowering::userMemory(AddressSpace space) const {
  if (space != AddressSpace::Probe) return space == AddressSpace::User;
  return isUserProbe(ap_->kind) || (ap_->kind == ProbeKind::Tracepoint && ap_->target == "syscalls");
}

Val FunctionLowering::index(const ast::Index& e) {
  const Type& element = typeOf(e);
  // p->arr[i] of an array in traced memory: only the element is read, from
  // where the array is (relocated for a kernel struct), not the whole array.
  if (e.base->kind == ast::ExprKind::Field && typeOf(*e.base).is(TypeKind::Array)) {
    const auto& f = static_cast<const ast::Field&>(*e.base);
    const StructLayout* layout = nullptr;
    if (const StructField* field = fieldOf(f, layout)) {
      const Type& array = typeOf(*e.base);
      Val address = expr(*f.base);
      Val i = expr(*e.index);
      at(e.range);
      Value* start = fieldAddress(address.v, *layout, *field);
      uint32_t size = element.bits() / 8;
      Value* inside = b_.CreateICmpULT(i.v, b_.getInt64(array.length()));  // 0 past the end, as in a value
      Value* safe = b_.CreateSelect(inside, i.v, b_.getInt64(0));
      Val v = readMemory(b_.CreateAdd(start, b_.CreateMul(safe, b_.getInt64(size))), element, size,
                         typeOf(*f.base).space());
      return {b_.CreateSelect(inside, v.v, b_.getInt64(0)), false};
    }
  }
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
  return readMemory(address, element, size, typeOf(*e.base).space());
}

Val FunctionLowering::dereference(const ast::Unary& u) {
  const Type& pointee = typeOf(u);
  Val p = expr(*u.operand);
  at(u.range);
  return readMemory(p.v, pointee, elementSize(pointee), typeOf(*u.operand).space());
}

}  // namespace dptrace

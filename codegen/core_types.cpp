#include "core_types.h"

#include <bpf/btf.h>
#include <llvm/IR/IntrinsicsBPF.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <unordered_set>
#include <vector>

namespace dptrace {

bool CoreTypes::relocatable(const StructLayout& layout) {
  return layout.btfId != 0 && !layout.name.empty() && layout.name.front() != '(';
}

const btf* CoreTypes::btfOf(const std::string& module) {
  std::string error;
  return types_.kernel ? types_.kernel->types(module, error) : nullptr;
}

// A type's alignment is the largest of the scalars it holds, however deep:
// the most of those reachable from it through members and array elements,
// found by one walk that visits each type once (a damaged BTF may share one
// composite among many members at many levels, or contain itself) and kept
// per type. Exact for every type it is kept for, so the same whichever
// struct a script names first.
uint32_t CoreTypes::alignmentOf(const btf* b, uint32_t id) {
  id = skipTypedefs(b, id);
  if (auto it = alignments_.find({b, id}); it != alignments_.end()) return it->second;
  uint32_t align = 1;
  std::vector<uint32_t> pending{id};
  std::unordered_set<uint32_t> seen{id};
  auto reach = [&](uint32_t next) {  // a typedef's type once, whichever typedef names it
    if (next = skipTypedefs(b, next); seen.insert(next).second) pending.push_back(next);
  };
  while (!pending.empty()) {
    uint32_t at = pending.back();
    pending.pop_back();
    const btf_type* t = at ? btf__type_by_id(b, at) : nullptr;
    if (t == nullptr) continue;
    if (btf_is_int(t) || btf_is_any_enum(t) || btf_is_float(t)) {
      align = std::max(align, std::clamp<uint32_t>(t->size, 1, 8));
    } else if (btf_is_ptr(t)) {
      align = std::max<uint32_t>(align, 8);
    } else if (btf_is_array(t)) {
      reach(btf_array(t)->type);
    } else if (btf_is_composite(t)) {
      if (auto it = alignments_.find({b, at}); it != alignments_.end()) {
        align = std::max(align, it->second);
        continue;
      }
      for (uint32_t i = 0; i < btf_vlen(t); ++i) reach(btf_members(t)[i].type);
    }
  }
  return alignments_[{b, id}] = align;
}

// An IR type with the composite's size and alignment whose elements start
// at its members' byte offsets: what the intrinsics index, and what LLVM
// falls back to if a relocation cannot be made.
llvm::StructType* CoreTypes::irType(const Key& key) {
  if (auto it = irTypes_.find(key); it != irTypes_.end()) return it->second;
  const btf* b = btfOf(key.first);
  const btf_type* t = btf__type_by_id(b, key.second);
  llvm::LLVMContext& ctx = module_.getContext();
  std::vector<uint32_t> starts{0};
  for (uint32_t i = 0; btf_is_struct(t) && i < btf_vlen(t); ++i) starts.push_back(btf_member_bit_offset(t, i) / 8);
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  while (!starts.empty() && starts.back() >= t->size && starts.back() != 0) starts.pop_back();
  uint32_t align = alignmentOf(b, key.second);
  std::vector<llvm::Type*> elements{llvm::ArrayType::get(llvm::Type::getIntNTy(ctx, align * 8), 0)};
  for (size_t i = 0; i < starts.size(); ++i) {
    uint32_t end = i + 1 < starts.size() ? starts[i + 1] : t->size;
    elements.push_back(llvm::ArrayType::get(llvm::Type::getInt8Ty(ctx), end - starts[i]));
  }
  auto* type = llvm::StructType::get(ctx, elements);
  memberOffsets_[key] = starts;
  return irTypes_[key] = type;
}

uint32_t CoreTypes::gepIndex(const Key& key, uint32_t member) {
  irType(key);
  const btf_type* t = btf__type_by_id(btfOf(key.first), key.second);
  uint32_t at = btf_member_bit_offset(t, member) / 8;
  const std::vector<uint32_t>& starts = memberOffsets_[key];
  auto it = std::upper_bound(starts.begin(), starts.end(), at);
  return static_cast<uint32_t>(it - starts.begin());  // element 0 is the alignment
}

// One preserve_*_access_index call per step of the field's BTF path: the
// struct, then each anonymous struct or union the field is in.
llvm::Value* CoreTypes::accessChain(llvm::IRBuilder<>& b, llvm::Value* base, const StructLayout& layout,
                                    const StructField& field) {
  const btf* bt = btfOf(layout.btfModule);
  Key key{layout.btfModule, layout.btfId};
  llvm::Value* p = b.CreateIntToPtr(base, b.getPtrTy());
  for (uint32_t member : field.btfPath) {
    const btf_type* t = btf__type_by_id(bt, key.second);
    read_[key].insert(member);
    llvm::Value* next = btf_is_union(t) ? b.CreatePreserveUnionAccessIndex(p, member, nullptr)
                                        : b.CreatePreserveStructAccessIndex(irType(key), p, gepIndex(key, member), member, nullptr);
    calls_.emplace_back(llvm::cast<llvm::CallInst>(next), key);
    p = next;
    key.second = skipTypedefs(bt, btf_members(t)[member].type);
  }
  return p;
}

bool CoreTypes::bitFieldRelocatable(const StructLayout& layout, const StructField& field) {
  const btf* bt = btfOf(layout.btfModule);
  if (bt == nullptr || field.btfPath.empty()) return false;
  uint32_t record = layout.btfId;  // the innermost struct or union that holds the member
  for (size_t i = 0; i + 1 < field.btfPath.size(); ++i)
    record = skipTypedefs(bt, btf_members(btf__type_by_id(bt, record))[field.btfPath[i]].type);
  const btf_type* t = btf__type_by_id(bt, record);
  uint32_t offset = btf_member_bit_offset(t, field.btfPath.back());
  uint32_t size = btf_member_bitfield_size(t, field.btfPath.back());
  if (size == 0) size = field.size * 8;
  // As LLVM's BPFAbstractMemberAccess finds the storage of a bit-field.
  uint32_t align = alignmentOf(bt, record);
  if (align > 8) {
    if (offset / 64 != (offset + size) / 64) return false;
    align = 8;
  }
  uint32_t alignBits = align * 8;
  if (size > alignBits) return false;
  uint32_t start = offset & ~(alignBits - 1);
  return start + alignBits >= offset + size;
}

llvm::Value* CoreTypes::fieldAddress(llvm::IRBuilder<>& b, llvm::Value* base, const StructLayout& layout,
                                     const StructField& field) {
  return b.CreatePtrToInt(accessChain(b, base, layout, field), b.getInt64Ty());
}

llvm::Value* CoreTypes::fieldInfo(llvm::IRBuilder<>& b, llvm::Value* base, const StructLayout& layout,
                                  const StructField& field, FieldInfo kind) {
  llvm::Value* member = accessChain(b, base, layout, field);
  llvm::Function* info = llvm::Intrinsic::getDeclaration(&module_, llvm::Intrinsic::bpf_preserve_field_info, {b.getPtrTy()});
  return b.CreateCall(info, {member, b.getInt64(static_cast<uint64_t>(kind))});
}

// The debug-info type of BTF type `id`: `full` for a member some read goes
// through or reads (its kind is what libbpf checks against the kernel's),
// else a byte array of its size.
llvm::DIType* CoreTypes::diType(const std::string& module, uint32_t id, bool full) {
  const btf* b = btfOf(module);
  uint32_t real = skipTypedefs(b, id);
  const btf_type* t = real ? btf__type_by_id(b, real) : nullptr;
  llvm::DIType* byte = di_.createBasicType("unsigned char", 8, llvm::dwarf::DW_ATE_unsigned_char);
  long size = btf__resolve_size(b, real);
  if (size < 0) size = 0;
  if (!full || t == nullptr) {
    llvm::Metadata* range = di_.getOrCreateSubrange(0, size);
    return di_.createArrayType(static_cast<uint64_t>(size) * 8, 8, byte, di_.getOrCreateArray({range}));
  }
  std::string name = btfName(b, t);
  if (btf_is_int(t)) {
    uint8_t encoding = btf_int_encoding(t);
    unsigned dwarf = encoding & BTF_INT_BOOL     ? llvm::dwarf::DW_ATE_boolean
                     : encoding & BTF_INT_CHAR   ? llvm::dwarf::DW_ATE_signed_char
                     : encoding & BTF_INT_SIGNED ? llvm::dwarf::DW_ATE_signed
                                                 : llvm::dwarf::DW_ATE_unsigned;
    return di_.createBasicType(name, t->size * 8, dwarf);
  }
  if (btf_is_any_enum(t)) {  // libbpf matches enums by name
    llvm::DIType* underlying = di_.createBasicType(btf_kflag(t) ? "long" : "unsigned long", t->size * 8,
                                                   btf_kflag(t) ? llvm::dwarf::DW_ATE_signed : llvm::dwarf::DW_ATE_unsigned);
    return di_.createEnumerationType(file_, name, file_, 0, t->size * 8, t->size * 8, di_.getOrCreateArray({}), underlying);
  }
  if (btf_is_ptr(t)) return di_.createPointerType(nullptr, 64);
  if (btf_is_array(t)) {
    const struct btf_array* a = btf_array(t);
    llvm::Metadata* range = di_.getOrCreateSubrange(0, a->nelems);
    return di_.createArrayType(static_cast<uint64_t>(size) * 8, 8, diType(module, a->type, true), di_.getOrCreateArray({range}));
  }
  if (btf_is_composite(t)) return diComposite({module, real});
  llvm::Metadata* range = di_.getOrCreateSubrange(0, size);
  return di_.createArrayType(static_cast<uint64_t>(size) * 8, 8, byte, di_.getOrCreateArray({range}));
}

llvm::DICompositeType* CoreTypes::diComposite(const Key& key) {
  if (auto it = composites_.find(key); it != composites_.end()) return it->second;
  const btf* b = btfOf(key.first);
  const btf_type* t = btf__type_by_id(b, key.second);
  std::string name = btfName(b, t);
  uint64_t bits = static_cast<uint64_t>(t->size) * 8;
  uint32_t align = alignmentOf(b, key.second) * 8;
  // Members are scoped to the file: the composite is made after them (a
  // uniqued node is not changed after it is made), and nothing reads the scope.
  auto read = read_.find(key);
  std::vector<llvm::Metadata*> members;
  for (uint32_t i = 0; i < btf_vlen(t); ++i) {
    const btf_member& m = btf_members(t)[i];
    bool full = read != read_.end() && read->second.count(i);
    uint32_t offset = btf_member_bit_offset(t, i);
    uint32_t bitSize = btf_member_bitfield_size(t, i);
    std::string memberName = btfString(b, m.name_off);
    if (bitSize != 0) {
      llvm::DIType* type = diType(key.first, m.type, true);
      members.push_back(di_.createBitFieldMemberType(file_, memberName, file_, 0, bitSize, offset, 0,
                                                     llvm::DINode::FlagZero, type));
      continue;
    }
    llvm::DIType* type = diType(key.first, m.type, full);
    members.push_back(di_.createMemberType(file_, memberName, file_, 0, type->getSizeInBits(), 8, offset,
                                           llvm::DINode::FlagZero, type));
  }
  llvm::DINodeArray elements = di_.getOrCreateArray(members);
  llvm::DICompositeType* composite =
      btf_is_union(t) ? di_.createUnionType(file_, name, file_, 0, bits, align, llvm::DINode::FlagZero, elements)
                      : di_.createStructType(file_, name, file_, 0, bits, align, llvm::DINode::FlagZero, nullptr, elements);
  return composites_[key] = composite;
}

void CoreTypes::finalize() {
  for (auto& [call, key] : calls_) call->setMetadata(llvm::LLVMContext::MD_preserve_access_index, diComposite(key));
}

}  // namespace dptrace

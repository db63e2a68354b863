// Kernel struct reads that stay right on another kernel (CO-RE): every read
// of a field of a BTF struct goes through LLVM's preserve-access-index
// intrinsics, with debug-info types that mirror the BTF types, so that the
// BPF back end emits the relocations (.BTF.ext) that libbpf applies at load
// against the running kernel's BTF.
//
// The debug-info types are built once the whole module is lowered: a
// composite holds every member of its BTF type (indices are BTF's), the
// members a script reads with their real types and the others as byte
// arrays of their size, so the object's BTF stays small. Anonymous root
// types ("(anon N)") have no name to relocate against and are read at fixed
// offsets. Private to codegen/.
#pragma once

#include <llvm/IR/DIBuilder.h>
#include <llvm/IR/IRBuilder.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sema/type_check.h"

struct btf;

namespace dptrace {

class CoreTypes {
public:
  CoreTypes(llvm::Module& module, llvm::DIBuilder& di, llvm::DIFile* file, const ImportedTypes& types)
      : module_(module), di_(di), file_(file), types_(types) {}

  // Whether reads of `layout`'s fields are relocated: a named BTF struct.
  static bool relocatable(const StructLayout& layout);

  // The address (an i64) of `field` of the struct at `base` (an i64).
  llvm::Value* fieldAddress(llvm::IRBuilder<>& b, llvm::Value* base, const StructLayout& layout, const StructField& field);
  // The bit-field `field` of the struct at `base`: its storage's byte offset
  // and size, and the shifts that extract it from a u64 holding those bytes
  // (kinds of llvm.bpf.preserve.field.info), each a relocated i32.
  enum class FieldInfo : uint64_t { ByteOffset = 0, ByteSize = 1, LeftShift = 4, RightShift = 5 };
  llvm::Value* fieldInfo(llvm::IRBuilder<>& b, llvm::Value* base, const StructLayout& layout, const StructField& field,
                         FieldInfo kind);

  // Whether LLVM can relocate the bit-field: its storage unit (by its
  // record's alignment) must hold it whole, which a packed struct may not.
  bool bitFieldRelocatable(const StructLayout& layout, const StructField& field);

  // Builds the debug-info types and attaches them to the calls; before
  // DIBuilder::finalize().
  void finalize();

private:
  using Key = std::pair<std::string, uint32_t>;  // module ("" vmlinux), BTF type id
  const struct btf* btfOf(const std::string& module);
  llvm::Value* accessChain(llvm::IRBuilder<>& b, llvm::Value* base, const StructLayout& layout, const StructField& field);
  llvm::StructType* irType(const Key& key);
  uint32_t gepIndex(const Key& key, uint32_t member);
  uint32_t alignmentOf(const struct btf* b, uint32_t id);
  llvm::DIType* diType(const std::string& module, uint32_t id, bool full);
  llvm::DICompositeType* diComposite(const Key& key);

  llvm::Module& module_;
  llvm::DIBuilder& di_;
  llvm::DIFile* file_;
  const ImportedTypes& types_;
  std::map<std::pair<const struct btf*, uint32_t>, uint32_t> alignments_;  // composites' alignment
  std::map<Key, std::set<uint32_t>> read_;       // composite -> the members on some read's path
  std::vector<std::pair<llvm::CallInst*, Key>> calls_;
  std::map<Key, llvm::StructType*> irTypes_;
  std::map<Key, std::vector<uint32_t>> memberOffsets_;  // byte offsets that start an IR element
  std::map<Key, llvm::DICompositeType*> composites_;
};

}  // namespace dptrace

// Function signatures from a binary's DWARF: the typed parameters of a
// uprobe's function (args.NAME, argN) and its return type (retval).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "type.h"

namespace dptrace {

// Where the x86-64 System V calling convention puts a parameter at a
// function's first instruction: the Nth integer register (rdi rsi rdx rcx r8
// r9), or the stack above the return address. Floating-point parameters go
// to SSE registers, counted apart; a struct passed by value takes registers
// by its eightbytes' classes, or the stack when it is larger than 16 bytes or
// the registers ran out.
struct ParameterLocation {
  enum class Kind { IntegerRegister, Stack, Elsewhere } kind = Kind::Elsewhere;
  uint32_t index = 0;  // the integer register's number, or the byte offset above the return address
};

struct Parameter {
  std::string name;
  Type type;           // void: dptrace cannot read it (`unreadable` says why)
  ParameterLocation location;
  std::string unreadable;  // "a double (floating point)", "a struct passed by value"
};

struct FunctionSignature {
  std::vector<Parameter> params;
  Type ret;
  std::string retUnreadable;  // a float or struct return value: not readable
  bool outOfLine = false;     // false: DWARF knows it only inlined into callers
};

// The signature of `function` in the ELF file at `path`. nullopt when the
// file has no DWARF or no entry for the function (`error` says which).
std::optional<FunctionSignature> readDwarfSignature(const std::string& path, const std::string& function,
                                                    std::string& error);

// A struct's layout: its size and its fields with byte offsets (members of
// anonymous structs and unions are flattened into it; arrays other than of
// chars and integers have a void type: not readable yet). Bit-fields are
// readable in BTF's layouts (their reads are relocated like the others).
struct StructField {
  std::string name;
  uint32_t offset = 0;
  uint32_t size = 0;
  Type type;
  bool bitField = false;
  uint32_t bitOffset = 0, bitSize = 0;  // bit-fields: from the struct's start
  bool bigEndian = false;               // BTF __be16/__be32/__be64: read into host order
  std::vector<uint32_t> btfPath;        // BTF: member indices from the struct through anonymous members
};
struct StructLayout {
  std::string name;
  uint32_t size = 0;
  std::vector<StructField> fields;
  uint32_t btfId = 0;      // from BTF (kernel_btf.h): its type id there; reads are CO-RE relocations
  std::string btfModule;   // whose BTF: "" vmlinux, else the module's (split over vmlinux)
  const StructField* field(const std::string& n) const {
    for (const StructField& f : fields)
      if (f.name == n) return &f;
    return nullptr;
  }
};

// The layouts of the named structs (or unions) that the DWARF of the file at
// `path` defines, in one pass over it.
std::map<std::string, StructLayout> readDwarfStructs(const std::string& path, const std::set<std::string>& names);

// A library named without a directory (libc.so.6) is looked up in the
// standard library directories; a path is used as given.
std::string findBinary(const std::string& name);

}  // namespace dptrace

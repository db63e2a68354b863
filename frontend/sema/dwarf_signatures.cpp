#include "dwarf_signatures.h"

#include "child_call.h"
#include "symbol_versions.h"
#include "type_codecs.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <algorithm>
#include <functional>
#include <string>
#include <cxxabi.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dptrace {
namespace {

// The type behind typedefs and qualifiers.
Dwarf_Die* strip(Dwarf_Die* die, Dwarf_Die& storage) {
  for (int i = 0; die && i < 16; ++i) {
    int tag = dwarf_tag(die);
    if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type &&
        tag != DW_TAG_restrict_type && tag != DW_TAG_atomic_type)
      return die;
    Dwarf_Attribute attr;
    if (dwarf_attr_integrate(die, DW_AT_type, &attr) == nullptr || dwarf_formref_die(&attr, &storage) == nullptr)
      return nullptr;
    die = &storage;
  }
  return die;
}

// Our type for a DWARF type DIE; void when it is something dptrace cannot
// read yet (arrays, functions).
Type typeOf(Dwarf_Die* die, int depth = 0) {
  if (die == nullptr || depth > 16) return Type();
  Dwarf_Attribute attr;
  Dwarf_Die inner;
  auto innerType = [&]() -> Dwarf_Die* {
    if (dwarf_attr_integrate(die, DW_AT_type, &attr) == nullptr) return nullptr;
    return dwarf_formref_die(&attr, &inner);
  };
  switch (dwarf_tag(die)) {
    case DW_TAG_base_type: {
      Dwarf_Word encoding = 0;
      if (dwarf_attr(die, DW_AT_encoding, &attr)) dwarf_formudata(&attr, &encoding);
      int size = dwarf_bytesize(die);
      if (encoding == DW_ATE_boolean) return Type::boolean();
      if (size != 1 && size != 2 && size != 4 && size != 8) return Type();
      bool isSigned = encoding == DW_ATE_signed || encoding == DW_ATE_signed_char;
      if (encoding != DW_ATE_signed && encoding != DW_ATE_unsigned && encoding != DW_ATE_signed_char &&
          encoding != DW_ATE_unsigned_char)
        return Type();  // floats
      return Type::integer(static_cast<uint32_t>(size) * 8, isSigned);
    }
    case DW_TAG_typedef:
    case DW_TAG_const_type:
    case DW_TAG_volatile_type:
    case DW_TAG_restrict_type:
    case DW_TAG_atomic_type:
      return typeOf(innerType(), depth + 1);
    case DW_TAG_pointer_type: {
      Dwarf_Die* pointee = innerType();
      if (pointee == nullptr) return Type::pointer(Type());
      // Pointers to structs keep the struct's name; others their target's type.
      Dwarf_Die step;
      Dwarf_Die* resolved = strip(pointee, step);
      int tag = resolved ? dwarf_tag(resolved) : 0;
      if (resolved && (tag == DW_TAG_structure_type || tag == DW_TAG_union_type)) {
        const char* name = dwarf_diename(resolved);
        return Type::pointer(Type::structure(name ? name : "(anonymous)"));
      }
      return Type::pointer(typeOf(pointee, depth + 1));
    }
    case DW_TAG_enumeration_type: {
      // Signed as its underlying type (DWARF 3's DW_AT_type), else as soon
      // as one of its values is negative.
      int size = dwarf_bytesize(die);
      if (size <= 0 || size > 8) return Type();
      bool isSigned = false;
      if (Dwarf_Die* under = innerType()) {
        Type t = typeOf(under, depth + 1);
        isSigned = t.is(TypeKind::Integer) && t.isSigned();
      } else if (Dwarf_Die e; dwarf_child(die, &e) == 0) {
        do {
          Dwarf_Sword v = 0;
          if (dwarf_tag(&e) == DW_TAG_enumerator && dwarf_attr(&e, DW_AT_const_value, &attr) &&
              dwarf_formsdata(&attr, &v) == 0 && v < 0 && attr.form != DW_FORM_udata)
            isSigned = true;
        } while (!isSigned && dwarf_siblingof(&e, &e) == 0);
      }
      return Type::integer(static_cast<uint32_t>(size) * 8, isSigned);
    }
    case DW_TAG_structure_type:
    case DW_TAG_union_type: {
      const char* name = dwarf_diename(die);
      return Type::structure(name ? name : "(anonymous)");
    }
    default:
      return Type();
  }
}

// ---- the x86-64 System V classification of parameters

enum class ArgClass { None, Integer, Sse, Memory };

// Calls visit(member name or null, byte offset, member DIE, its type DIE or
// null) for every member of a struct or union.
template <typename Visit>
void forEachMember(Dwarf_Die* record, Visit visit) {
  Dwarf_Die member;
  if (dwarf_child(record, &member) != 0) return;
  do {
    if (dwarf_tag(&member) != DW_TAG_member) continue;
    Dwarf_Attribute attr;
    Dwarf_Word offset = 0;
    if (dwarf_attr(&member, DW_AT_data_member_location, &attr) && dwarf_formudata(&attr, &offset) != 0) {
      // DWARF 2 writes it as a location expression: DW_OP_plus_uconst N.
      Dwarf_Op* ops = nullptr;
      size_t n = 0;
      offset = 0;
      if (dwarf_getlocation(&attr, &ops, &n) == 0 && n == 1 &&
          (ops[0].atom == DW_OP_plus_uconst || ops[0].atom == DW_OP_constu))
        offset = ops[0].number;
    }
    Dwarf_Die type;
    bool hasType = dwarf_attr_integrate(&member, DW_AT_type, &attr) && dwarf_formref_die(&attr, &type);
    if (!visit(dwarf_diename(&member), offset, &member, hasType ? &type : nullptr)) return;
  } while (dwarf_siblingof(&member, &member) == 0);
}

Dwarf_Word sizeOf(Dwarf_Die* type) {
  Dwarf_Word size = 0;
  return type && dwarf_aggregate_size(type, &size) == 0 ? size : 0;
}

// Marks the eightbytes of a value of `type` at `offset` with the classes of
// its scalars (an eightbyte holding any integer is INTEGER). False when a
// part needs memory (long double, unaligned fields).
bool markEightbytes(Dwarf_Die* die, Dwarf_Word offset, std::vector<ArgClass>& eightbytes, int depth = 0) {
  Dwarf_Die storage;
  Dwarf_Die* type = strip(die, storage);
  if (type == nullptr || depth > 8) return false;
  int tag = dwarf_tag(type);
  Dwarf_Word size = sizeOf(type);
  if (tag == DW_TAG_structure_type || tag == DW_TAG_union_type || tag == DW_TAG_class_type) {
    bool ok = true;
    forEachMember(type, [&](const char*, Dwarf_Word at, Dwarf_Die*, Dwarf_Die* memberType) {
      ok = !memberType || markEightbytes(memberType, offset + at, eightbytes, depth + 1);
      return ok;
    });
    return ok;
  }
  if (tag == DW_TAG_array_type) {
    Dwarf_Attribute attr;
    Dwarf_Die element;
    if (dwarf_attr_integrate(type, DW_AT_type, &attr) == nullptr || dwarf_formref_die(&attr, &element) == nullptr)
      return false;
    Dwarf_Word elementSize = sizeOf(&element);
    if (elementSize == 0) return true;
    for (Dwarf_Word at = 0; at + elementSize <= size; at += elementSize)
      if (!markEightbytes(&element, offset + at, eightbytes, depth + 1)) return false;
    return true;
  }
  ArgClass c = ArgClass::Integer;
  if (tag == DW_TAG_base_type) {
    Dwarf_Attribute attr;
    Dwarf_Word encoding = 0;
    if (dwarf_attr(type, DW_AT_encoding, &attr)) dwarf_formudata(&attr, &encoding);
    if (encoding == DW_ATE_float || encoding == DW_ATE_complex_float) {
      if (size > 8 && encoding == DW_ATE_float) return false;  // long double: x87, memory
      c = ArgClass::Sse;
    }
  }
  if (size == 0 || offset % std::min<Dwarf_Word>(size, 8) != 0) return size == 0;
  for (Dwarf_Word at = offset; at < offset + size; at += 8) {
    size_t i = at / 8;
    if (i >= eightbytes.size()) return false;
    if (eightbytes[i] == ArgClass::None || c == ArgClass::Integer) eightbytes[i] = c;
  }
  return true;
}

// The classes of a parameter's eightbytes, or {Memory}.
std::vector<ArgClass> classify(Dwarf_Die* die, Dwarf_Word& size) {
  Dwarf_Die storage;
  Dwarf_Die* type = strip(die, storage);
  size = sizeOf(type);
  if (type == nullptr || size == 0) return {ArgClass::Memory};
  int tag = dwarf_tag(type);
  bool aggregate = tag == DW_TAG_structure_type || tag == DW_TAG_union_type || tag == DW_TAG_class_type;
  if (size > 16 || (!aggregate && size > 8 && tag != DW_TAG_base_type)) return {ArgClass::Memory};
  std::vector<ArgClass> eightbytes((size + 7) / 8, ArgClass::None);
  if (!markEightbytes(type, 0, eightbytes)) return {ArgClass::Memory};
  return eightbytes;  // an eightbyte of padding alone (None) takes no register
}

// What a parameter is, for a message when it cannot be read.
std::string describe(Dwarf_Die* die) {
  Dwarf_Die storage;
  Dwarf_Die* type = strip(die, storage);
  if (type == nullptr) return "of an unknown type";
  switch (dwarf_tag(type)) {
    case DW_TAG_base_type: {
      Dwarf_Attribute attr;
      Dwarf_Word encoding = 0;
      if (dwarf_attr(type, DW_AT_encoding, &attr)) dwarf_formudata(&attr, &encoding);
      const char* name = dwarf_diename(type);
      if (encoding == DW_ATE_float || encoding == DW_ATE_complex_float)
        return std::string("a ") + (name ? name : "float") + " (floating point)";
      return std::string("a ") + (name ? name : "value") + " of " + std::to_string(sizeOf(type)) + " bytes";
    }
    case DW_TAG_structure_type: return "a struct passed by value";
    case DW_TAG_union_type: return "a union passed by value";
    default: return "of a type dptrace cannot read";
  }
}

// A type as C spells it, as bpftrace -lv prints it: typedef names kept
// (size_t), "const char*", "struct addrinfo**".
std::string cTypeName(Dwarf_Die* die, int depth = 0) {
  if (die == nullptr) return "void";
  if (depth > 16) return "?";
  Dwarf_Attribute attr;
  Dwarf_Die inner;
  Dwarf_Die* next = dwarf_attr_integrate(die, DW_AT_type, &attr) ? dwarf_formref_die(&attr, &inner) : nullptr;
  const char* name = dwarf_diename(die);
  switch (dwarf_tag(die)) {
    case DW_TAG_base_type:
    case DW_TAG_typedef: return name ? name : "?";
    case DW_TAG_structure_type: return std::string("struct ") + (name ? name : "(anonymous)");
    case DW_TAG_class_type: return std::string("class ") + (name ? name : "(anonymous)");
    case DW_TAG_union_type: return std::string("union ") + (name ? name : "(anonymous)");
    case DW_TAG_enumeration_type: return std::string("enum ") + (name ? name : "(anonymous)");
    case DW_TAG_pointer_type:
    case DW_TAG_reference_type: {
      if (next && dwarf_tag(next) == DW_TAG_subroutine_type) {  // int (*)(int, char*)
        std::string params;
        Dwarf_Die p;
        if (dwarf_child(next, &p) == 0) do {
            int tag = dwarf_tag(&p);
            if (tag != DW_TAG_formal_parameter && tag != DW_TAG_unspecified_parameters) continue;
            Dwarf_Attribute a;
            Dwarf_Die pt;
            Dwarf_Die* t = dwarf_attr_integrate(&p, DW_AT_type, &a) ? dwarf_formref_die(&a, &pt) : nullptr;
            params += (params.empty() ? "" : ", ") + (tag == DW_TAG_unspecified_parameters ? "..." : cTypeName(t, depth + 1));
          } while (dwarf_siblingof(&p, &p) == 0);
        Dwarf_Attribute a;
        Dwarf_Die rt;
        Dwarf_Die* ret = dwarf_attr_integrate(next, DW_AT_type, &a) ? dwarf_formref_die(&a, &rt) : nullptr;
        return cTypeName(ret, depth + 1) + " (*)(" + (params.empty() ? "void" : params) + ")";
      }
      std::string target = cTypeName(next, depth + 1);
      return target + (dwarf_tag(die) == DW_TAG_pointer_type ? "*" : "&");
    }
    case DW_TAG_const_type:
    case DW_TAG_volatile_type: {
      // A qualified pointer is written after it (char** const), anything else before (const char).
      const char* q = dwarf_tag(die) == DW_TAG_const_type ? "const" : "volatile";
      if (next && dwarf_tag(next) == DW_TAG_pointer_type) return cTypeName(next, depth + 1) + " " + q;
      return std::string(q) + " " + cTypeName(next, depth + 1);
    }
    case DW_TAG_restrict_type:
    case DW_TAG_atomic_type: return cTypeName(next, depth + 1);
    case DW_TAG_subroutine_type: return cTypeName(next, depth + 1) + " ()";
    case DW_TAG_array_type: return cTypeName(next, depth + 1) + "[]";
    default: return name ? name : "?";
  }
}

void readSignature(Dwarf_Die* subprogram, FunctionSignature& out) {
  Dwarf_Attribute attr;
  Dwarf_Die ret;
  if (dwarf_attr_integrate(subprogram, DW_AT_type, &attr) && dwarf_formref_die(&attr, &ret)) {
    out.ret = typeOf(&ret);
    out.retCType = cTypeName(&ret);
    if (out.ret.is(TypeKind::Void) || out.ret.is(TypeKind::Struct)) out.retUnreadable = describe(&ret);
  }
  Dwarf_Die child;
  if (dwarf_child(subprogram, &child) != 0) return;
  uint32_t integerRegisters = 0, sseRegisters = 0, stack = 0;
  do {
    if (dwarf_tag(&child) != DW_TAG_formal_parameter) continue;
    const char* name = dwarf_diename(&child);
    Parameter p;
    p.name = name ? name : "";
    Dwarf_Die type;
    if (!(dwarf_attr_integrate(&child, DW_AT_type, &attr) && dwarf_formref_die(&attr, &type))) {
      p.unreadable = "of an unknown type";
      out.params.push_back(std::move(p));
      continue;
    }
    p.type = typeOf(&type);
    p.cType = cTypeName(&type);
    Dwarf_Word size = 0;
    std::vector<ArgClass> classes = classify(&type, size);
    uint32_t ints = static_cast<uint32_t>(std::count(classes.begin(), classes.end(), ArgClass::Integer));
    uint32_t sses = static_cast<uint32_t>(std::count(classes.begin(), classes.end(), ArgClass::Sse));
    bool memory = classes.front() == ArgClass::Memory || integerRegisters + ints > 6 || sseRegisters + sses > 8;
    if (memory) {  // on the stack, in eightbytes; 16-byte scalars (long double, __int128) 16-aligned
      Dwarf_Die storage;
      Dwarf_Die* bare = strip(&type, storage);
      if (bare && dwarf_tag(bare) == DW_TAG_base_type && size == 16) stack = (stack + 15) / 16 * 16;
      p.location = {ParameterLocation::Kind::Stack, stack};
      stack += static_cast<uint32_t>((std::max<Dwarf_Word>(size, 1) + 7) / 8 * 8);
    } else {
      if (ints == 1 && sses == 0) p.location = {ParameterLocation::Kind::IntegerRegister, integerRegisters};
      integerRegisters += ints;
      sseRegisters += sses;
    }
    // Readable: a scalar dptrace has a type for, in one integer register or one stack slot.
    bool scalar = !p.type.is(TypeKind::Void) && !p.type.is(TypeKind::Struct) && size <= 8;
    if (!scalar || p.location.kind == ParameterLocation::Kind::Elsewhere) {
      p.unreadable = describe(&type);
      p.type = Type();
    }
    out.params.push_back(std::move(p));
  } while (dwarf_siblingof(&child, &child) == 0);
}

// A one-dimensional array member: `char name[16]` is a string of 16 bytes
// (char by name, signed or not), other integer elements an array
// (`uint8_t mac[6]` is u8[6]); anything else is not readable yet.
Type arrayType(Dwarf_Die* array, uint32_t size) {
  Dwarf_Die subrange;
  int subranges = 0;
  if (dwarf_child(array, &subrange) == 0) do {
      subranges += dwarf_tag(&subrange) == DW_TAG_subrange_type;
    } while (dwarf_siblingof(&subrange, &subrange) == 0);
  Dwarf_Attribute attr;
  Dwarf_Die elementDie, storage;
  if (subranges != 1 || size == 0 || dwarf_attr_integrate(array, DW_AT_type, &attr) == nullptr ||
      dwarf_formref_die(&attr, &elementDie) == nullptr)
    return Type();
  Dwarf_Die* element = strip(&elementDie, storage);
  const char* name = element ? dwarf_diename(element) : nullptr;
  if (element && dwarf_tag(element) == DW_TAG_base_type && name && std::string(name) == "char") return Type::string(size);
  Type t = typeOf(&elementDie);
  if (!t.is(TypeKind::Integer) || size % (t.bits() / 8) != 0) return Type();
  return Type::array(t, size / (t.bits() / 8));
}

// `nested` is called with the DIE of each named struct or union that a
// member holds by value (struct rte_mbuf_sched sched) or points to (struct
// leaf *lp: `pointer` true), so that its layout can be read too without
// another pass.
void flattenMembers(Dwarf_Die* record, uint32_t base, StructLayout& out, int depth,
                    const std::function<void(Dwarf_Die*, bool pointer)>& nested) {
  if (depth > 8) return;
  forEachMember(record, [&](const char* name, Dwarf_Word offset, Dwarf_Die* member, Dwarf_Die* type) {
    if (name == nullptr) {  // anonymous struct or union: its members belong to this one
      if (type) flattenMembers(type, base + static_cast<uint32_t>(offset), out, depth + 1, nested);
      return true;
    }
    if (type) {
      Dwarf_Die storage, pointeeStorage, targetStorage;
      Dwarf_Die* bare = strip(type, storage);
      bool pointer = bare && dwarf_tag(bare) == DW_TAG_pointer_type;
      if (pointer) {
        Dwarf_Attribute attr;
        Dwarf_Die* pointee = dwarf_attr_integrate(bare, DW_AT_type, &attr) ? dwarf_formref_die(&attr, &pointeeStorage) : nullptr;
        bare = pointee ? strip(pointee, targetStorage) : nullptr;
      }
      int tag = bare ? dwarf_tag(bare) : 0;
      if ((tag == DW_TAG_structure_type || tag == DW_TAG_union_type) && dwarf_diename(bare) &&
          !dwarf_hasattr(bare, DW_AT_declaration))
        nested(bare, pointer);
    }
    StructField f;
    f.name = name;
    f.offset = base + static_cast<uint32_t>(offset);
    if (type) {
      // The size of arrays from their bounds (they have no DW_AT_byte_size:
      // `char name[16]` was one byte), through typedefs.
      f.size = static_cast<uint32_t>(sizeOf(type));
      Dwarf_Die storage;
      Dwarf_Die* bare = strip(type, storage);
      f.type = bare && dwarf_tag(bare) == DW_TAG_array_type ? arrayType(bare, f.size) : typeOf(type);
    }
    if (Dwarf_Attribute attr; dwarf_attr(member, DW_AT_bit_size, &attr)) {
      // Its bits from the struct's start: DWARF 4's DW_AT_data_bit_offset, or
      // DWARF 2's DW_AT_bit_offset, counted from the high bit of its storage unit.
      f.bitField = true;
      Dwarf_Word bits = 0, at = 0, unit = 0;
      dwarf_formudata(&attr, &bits);
      f.bitSize = static_cast<uint32_t>(bits);
      if (dwarf_attr(member, DW_AT_data_bit_offset, &attr) && dwarf_formudata(&attr, &at) == 0) {
        f.bitOffset = base * 8 + static_cast<uint32_t>(at);
      } else if (dwarf_attr(member, DW_AT_bit_offset, &attr) && dwarf_formudata(&attr, &at) == 0) {
        if (!dwarf_attr(member, DW_AT_byte_size, &attr) || dwarf_formudata(&attr, &unit) != 0) unit = f.size;
        f.bitOffset = static_cast<uint32_t>((base + offset) * 8 + unit * 8 - at - bits);
      } else {
        f.type = Type();
      }
      if (!f.type.isIntegerLike() || f.bitSize == 0 || f.bitSize > 64) f.type = Type();
      f.offset = f.bitOffset / 8;
    }
    out.fields.push_back(std::move(f));
    return true;
  });
}

// Calls visit() on every top-level DIE of every compilation unit of the ELF
// file at `path`, until it returns true. False (with `error`) when the file
// cannot be opened or has no DWARF.
bool forEachTopLevelDie(const std::string& path, std::string& error, const std::function<bool(Dwarf_Die*)>& visit,
                        bool separate = true) {
  int fd = -1;
  Dwarf* dwarf = openDwarf(path, fd, separate);
  if (dwarf == nullptr) {
    error = fd == -2 ? "it cannot be opened" : "it has no DWARF debug information";
    return false;
  }
  Dwarf_Off offset = 0, next = 0;
  size_t headerSize = 0;
  bool done = false;
  while (!done && dwarf_nextcu(dwarf, offset, &next, &headerSize, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu, die;
    if (dwarf_offdie(dwarf, offset + headerSize, &cu) && dwarf_child(&cu, &die) == 0) {
      do done = visit(&die);
      while (!done && dwarf_siblingof(&die, &die) == 0);
    }
    offset = next;
  }
  dwarf_end(dwarf);
  close(fd);
  return true;
}

// The GNU build id in a note section's data, in hex; "" if it holds none.
static std::string buildIdNote(Elf_Data* data) {
  std::string buildId;
  GElf_Nhdr note;
  size_t at = 0, nameAt = 0, descAt = 0;
  while ((at = gelf_getnote(data, at, &note, &nameAt, &descAt)) > 0) {
    if (note.n_type != NT_GNU_BUILD_ID || note.n_namesz != 4 ||
        std::memcmp(static_cast<const char*>(data->d_buf) + nameAt, "GNU", 4) != 0)
      continue;
    static const char* const kHex = "0123456789abcdef";
    for (size_t i = 0; i < note.n_descsz && descAt + i < data->d_size; ++i) {
      auto b = static_cast<const unsigned char*>(data->d_buf)[descAt + i];
      buildId += kHex[b >> 4];
      buildId += kHex[b & 15];
    }
  }
  return buildId;
}

}  // namespace

std::string elfBuildId(const std::string& path) {
  std::string buildId;
  int fd = openBinary(path);
  if (fd < 0) return buildId;
  elf_version(EV_CURRENT);
  if (Elf* elf = elf_begin(fd, ELF_C_READ, nullptr)) {
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(elf, scn)) != nullptr) {
      GElf_Shdr shdr;
      if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != SHT_NOTE) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      if (data != nullptr && data->d_buf != nullptr) buildId += buildIdNote(data);
    }
    elf_end(elf);
  }
  close(fd);
  return buildId;
}

std::string separateDebugFile(const std::string& path) {
  // Asked for by each reader of a file's DWARF (signatures, inlined calls,
  // structs) and by the symbolizer: found once.
  static std::map<std::string, std::string> found;
  if (auto it = found.find(path); it != found.end()) return it->second;
  std::string& debug = found[path];
  int fd = openBinary(path);
  if (fd < 0) return {};
  elf_version(EV_CURRENT);
  if (Elf* elf = elf_begin(fd, ELF_C_READ, nullptr)) {
    std::string buildId, debugLink;
    Elf_Scn* scn = nullptr;
    size_t strings = 0;
    elf_getshdrstrndx(elf, &strings);
    while ((scn = elf_nextscn(elf, scn)) != nullptr) {
      GElf_Shdr shdr;
      if (gelf_getshdr(scn, &shdr) == nullptr) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      if (data == nullptr || data->d_buf == nullptr) continue;
      const char* name = elf_strptr(elf, strings, shdr.sh_name);
      if (shdr.sh_type == SHT_NOTE) {
        buildId += buildIdNote(data);
      } else if (name && std::string(name) == ".gnu_debuglink") {
        debugLink.assign(static_cast<const char*>(data->d_buf), strnlen(static_cast<const char*>(data->d_buf), data->d_size));
      }
    }
    elf_end(elf);
    // Where gdb and bpftrace look: by build id, then by the debug link
    // beside the file, in its .debug directory and under /usr/lib/debug.
    std::vector<std::string> candidates;
    if (buildId.size() > 2)
      candidates.push_back("/usr/lib/debug/.build-id/" + buildId.substr(0, 2) + "/" + buildId.substr(2) + ".debug");
    if (!debugLink.empty() && debugLink.find('/') == std::string::npos) {
      std::string dir = path.substr(0, path.find_last_of('/') + 1);
      if (dir.empty()) dir = "./";
      for (const std::string& c : {dir + ".debug/" + debugLink, "/usr/lib/debug/" + dir + debugLink})
        candidates.push_back(c);
    }
    struct stat st;
    for (const std::string& c : candidates)
      if (c != path && stat(c.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        debug = c;
        break;
      }
  }
  close(fd);
  return debug;
}

Dwarf* openDwarf(const std::string& path, int& fd, bool separate, bool* fromSeparate) {
  if (fromSeparate) *fromSeparate = false;
  fd = openBinary(path);
  if (fd < 0) {
    fd = -2;
    return nullptr;
  }
  if (Dwarf* dwarf = dwarf_begin(fd, DWARF_C_READ)) return dwarf;
  close(fd);
  fd = -1;
  std::string debug = separate ? separateDebugFile(path) : std::string();
  if (debug.empty()) return nullptr;
  fd = openBinary(debug);
  if (fd < 0) return fd = -1, nullptr;
  if (Dwarf* dwarf = dwarf_begin(fd, DWARF_C_READ)) {
    if (fromSeparate) *fromSeparate = true;
    return dwarf;
  }
  close(fd);
  fd = -1;
  return nullptr;
}

namespace {

// Where the named function symbols are, in the ELF file's .symtab, else its
// .dynsym, in one pass: each one's address, and whether it is a GNU indirect
// function (glibc's strlen: the address is its resolver's, whose DWARF is not
// the function's). A versioned name in a debug file's .symtab
// (fopen@@GLIBC_2.2.5) is the function's too.
struct SymbolAddress {
  Dwarf_Addr address = 0;
  bool indirect = false;
};
std::map<std::string, SymbolAddress> functionAddresses(Elf* elf, const std::set<std::string>& names) {
  std::map<std::string, SymbolAddress> out;
  if (elf == nullptr) return out;
  // A name in several versions is its default one's (symbol_versions.h), as
  // the probe's (elf_symbols.cpp): sched_setaffinity@@GLIBC_2.3.4 takes a
  // size before the set, @GLIBC_2.3.3 did not.
  std::set<std::string> byDefault;
  Elf_Data* versions = symbolVersions(elf);
  for (Elf64_Word want : {SHT_SYMTAB, SHT_DYNSYM}) {
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(elf, scn)) != nullptr) {
      GElf_Shdr shdr;
      if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != want || shdr.sh_entsize == 0) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      if (data == nullptr) continue;
      size_t count = shdr.sh_size / shdr.sh_entsize;
      for (size_t i = 0; i < count; ++i) {
        GElf_Sym sym;
        if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr || sym.st_value == 0 ||
            (GELF_ST_TYPE(sym.st_info) != STT_FUNC && GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC))
          continue;
        const char* n = elf_strptr(elf, shdr.sh_link, sym.st_name);
        if (n == nullptr) continue;
        std::string name(n, strcspn(n, "@"));
        if (!names.count(name) || byDefault.count(name)) continue;
        bool isDefault = isDefaultVersion(n, want == SHT_DYNSYM, versions, i);
        if (out.count(name) && !isDefault) continue;
        out[name] = {sym.st_value, GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC};
        if (isDefault) byDefault.insert(name);
      }
    }
  }
  return out;
}

// The signature of the function whose code starts at `address`, from the
// compilation unit .debug_aranges gives for it (an alias -- glibc's malloc is
// __libc_malloc -- is found by its address). Null when that unit has no such
// subprogram.
std::optional<FunctionSignature> signatureAt(Dwarf* dwarf, Dwarf_Addr address) {
  Dwarf_Die cu, die;
  if (dwarf_addrdie(dwarf, address, &cu) == nullptr || dwarf_child(&cu, &die) != 0) return std::nullopt;
  do {
    // Its entry at the address (a function split into hot and cold parts
    // has DW_AT_ranges and no DW_AT_low_pc: the symbol is its entry).
    Dwarf_Addr entry = 0;
    if (dwarf_tag(&die) == DW_TAG_subprogram &&
        ((dwarf_entrypc(&die, &entry) == 0 && entry == address) ||
         (!dwarf_hasattr(&die, DW_AT_low_pc) && dwarf_haspc(&die, address) == 1))) {
      FunctionSignature s;
      readSignature(&die, s);
      s.outOfLine = true;
      return s;
    }
  } while (dwarf_siblingof(&die, &die) == 0);
  return std::nullopt;
}

}  // namespace

namespace in_process {

std::map<std::string, FunctionSignature> readDwarfSignatures(const std::string& path, const std::set<std::string>& functions,
                                                              bool separate, std::map<std::string, std::string>* why) {
  std::map<std::string, FunctionSignature> found;
  auto say = [&](const std::string& f, std::string reason) {
    if (why) (*why)[f] = std::move(reason);
  };
  // First by each symbol's address, which needs no walk over every unit (a
  // large binary's, or libc's separate debug file, takes 100s of ms).
  int fd = -1;
  bool fromSeparate = false;
  Dwarf* dwarf = openDwarf(path, fd, separate, &fromSeparate);
  if (dwarf == nullptr) {
    for (const std::string& f : functions) say(f, fd == -2 ? "it cannot be opened" : "it has no DWARF debug information");
    return found;
  }
  std::map<std::string, SymbolAddress> addresses = functionAddresses(dwarf_getelf(dwarf), functions);
  std::set<std::string> rest;
  for (const std::string& f : functions) {
    auto a = addresses.find(f);
    if (a != addresses.end() && a->second.indirect) {
      say(f, "'" + f + "' is a GNU indirect function (IFUNC), whose DWARF describes the resolver that picks its code, "
                 "not the function");
    } else if (auto at = a != addresses.end() ? signatureAt(dwarf, a->second.address) : std::nullopt) {
      found.emplace(f, std::move(*at));
    } else if (a != addresses.end() && fromSeparate) {
      // A symbol that a separate debug file (libc's) does not describe at
      // its address is assembly (memcpy's variants): no walk of the whole file.
      say(f, "its DWARF has no function '" + f + "'");
    } else {
      rest.insert(f);
    }
  }
  dwarf_end(dwarf);
  close(fd);
  if (rest.empty()) return found;
  // Then by name: an out-of-line definition wins over an inlined-only one.
  size_t outOfLines = 0;
  std::string error;
  forEachTopLevelDie(path, error, [&](Dwarf_Die* die) {
    if (dwarf_tag(die) != DW_TAG_subprogram) return false;
    const char* name = dwarf_diename(die);
    if (name == nullptr || !rest.count(name)) return false;
    bool outOfLine = dwarf_hasattr(die, DW_AT_low_pc) || dwarf_hasattr(die, DW_AT_ranges);
    auto it = found.find(name);
    if (it == found.end() || (outOfLine && !it->second.outOfLine)) {
      FunctionSignature sig;
      readSignature(die, sig);
      sig.outOfLine = outOfLine;
      found[name] = std::move(sig);
      outOfLines += outOfLine;
    }
    return outOfLines == rest.size();  // each one's out-of-line definition: done
  }, separate);
  for (const std::string& f : rest)
    if (!found.count(f)) say(f, "its DWARF has no function '" + f + "'");
  return found;
}

std::map<std::string, StructLayout> readDwarfStructs(const std::string& path, const std::set<std::string>& names) {
  std::map<std::string, StructLayout> found;
  size_t wanted = 0;  // of `names`, found
  // A struct's layout, and those of the structs its members hold by value
  // (a copy of it, $st = *p, shows them) or point to, three pointers deep
  // (a->b->c->d), depth first.
  std::function<void(Dwarf_Die*, int, int)> add = [&](Dwarf_Die* die, int depth, int pointers) {
    const char* n = dwarf_diename(die);
    if (n == nullptr || found.count(n) || depth > 16 || pointers > 3) return;
    if (names.count(n)) ++wanted;
    StructLayout& layout = found[n];
    layout.name = n;
    layout.size = static_cast<uint32_t>(std::max(dwarf_bytesize(die), 0));
    flattenMembers(die, 0, layout, 0, [&](Dwarf_Die* member, bool pointer) { add(member, depth + 1, pointers + pointer); });
  };
  std::string error;
  forEachTopLevelDie(path, error, [&](Dwarf_Die* die) {
    int tag = dwarf_tag(die);
    if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type) return false;
    const char* n = dwarf_diename(die);
    if (n == nullptr || !names.count(n) || found.count(n) || dwarf_hasattr(die, DW_AT_declaration)) return false;
    add(die, 0, 0);
    return wanted == names.size();
  });
  return found;
}

}  // namespace in_process

namespace {

constexpr int kDwarfSeconds = 120;

// Why a child reading a binary's DWARF brought back nothing, in words that
// follow "cannot probe F in B: ".
std::string childFailure(const ChildEnd& end) {
  switch (end.how) {
    case ChildEnd::How::Answered: return "";
    case ChildEnd::How::CannotStart: return "its DWARF could not be read (no process to read it in: " + end.detail + ")";
    case ChildEnd::How::Late:
      return "reading its DWARF took more than " + std::to_string(end.seconds) +
             " s (DPTRACE_DWARF_SECONDS=N gives it longer)";
    case ChildEnd::How::Crashed: return "libdw crashed reading its DWARF (" + end.detail + "): it is damaged";
    case ChildEnd::How::NoAnswer: break;
  }
  return "reading its DWARF ended without an answer (" + end.detail + ")";
}

int dwarfSeconds() { return secondsFromEnvironment("DPTRACE_DWARF_SECONDS", kDwarfSeconds); }

// The binaries whose DWARF libdw could not read, with why: asked again, the
// answer is the same at once (one bound per binary, not per probe).
std::map<std::string, std::string>& failedBinaries() {
  static std::map<std::string, std::string> failed;
  return failed;
}

// `work`'s answer from a child reading `path`; `failure` says why there is
// none, and is remembered for `path`.
template <class T, class Work>
void readInChild(const std::string& path, Work&& work, T& result, std::string& failure) {
  if (auto known = failedBinaries().find(path); known != failedBinaries().end()) {
    failure = known->second;
    return;
  }
  ChildEnd end = callInChild(std::forward<Work>(work), dwarfSeconds(), result);
  if (!end.answered()) failure = failedBinaries()[path] = childFailure(end);
}

struct SignaturesAnswer {
  std::map<std::string, FunctionSignature> found;
  std::map<std::string, std::string> why;
};

}  // namespace

template <>
struct CodecFields<SignaturesAnswer> {
  template <class Codec, class V>
  static void walk(Codec& c, V& a) {
    c(a.found), c(a.why);
  }
};

// libdw reads files other people made: each reader runs in a child process
// (child_call.h), and a crash or a hang there is an answer in words.
std::map<std::string, FunctionSignature> readDwarfSignatures(const std::string& path, const std::set<std::string>& functions,
                                                              bool separate, std::map<std::string, std::string>* why,
                                                              std::string* failure) {
  SignaturesAnswer answer;
  std::string failed;
  readInChild(
      path,
      [&] {
        SignaturesAnswer a;
        a.found = in_process::readDwarfSignatures(path, functions, separate, &a.why);
        return a;
      },
      answer, failed);
  if (!failed.empty())
    for (const std::string& f : functions) answer.why[f] = failed;
  if (why)
    for (auto& [f, reason] : answer.why) (*why)[f] = std::move(reason);
  if (failure) *failure = failed;
  return std::move(answer.found);
}

std::map<std::string, StructLayout> readDwarfStructs(const std::string& path, const std::set<std::string>& names,
                                                     std::string* failure) {
  std::map<std::string, StructLayout> found;
  std::string failed;
  readInChild(path, [&] { return in_process::readDwarfStructs(path, names); }, found, failed);
  if (failure) *failure = failed;
  return found;
}

std::vector<InlinedSite> readInlinedSites(const std::string& path, const std::string& function,
                                          const std::vector<std::string>& names, std::string* failure) {
  std::vector<InlinedSite> sites;
  std::string failed;
  readInChild(path, [&] { return in_process::readInlinedSites(path, function, names); }, sites, failed);
  if (failure) *failure = failed;
  return sites;
}

namespace {

// The libraries of /etc/ld.so.cache (glibc's "glibc-ld.so.cache1.1"
// format: a header, then 24-byte entries whose key and value are offsets of
// the soname and the path in the file), x86-64 ones only, in the cache's order.
std::vector<std::pair<std::string, std::string>> ldCacheLibraries() {
  std::ifstream in("/etc/ld.so.cache", std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  constexpr std::string_view kMagic = "glibc-ld.so.cache1.1";
  std::vector<std::pair<std::string, std::string>> out;
  if (data.size() < 48 || data.compare(0, kMagic.size(), kMagic) != 0) return out;
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    std::memcpy(&v, data.data() + at, 4);
    return v;
  };
  auto text = [&](uint32_t at) {
    return at < data.size() ? std::string(data.c_str() + at, strnlen(data.c_str() + at, data.size() - at)) : std::string();
  };
  uint32_t count = u32(20);
  constexpr uint32_t kElfLibc6 = 0x0003, kTypeMask = 0x00ff, kX8664Lib64 = 0x0300, kRequiredMask = 0xff00;
  for (uint32_t i = 0; i < count && 48 + size_t{i + 1} * 24 <= data.size(); ++i) {
    size_t entry = 48 + size_t{i} * 24;
    uint32_t flags = u32(entry);
    if ((flags & kTypeMask) != kElfLibc6 || (flags & kRequiredMask) != kX8664Lib64) continue;
    out.emplace_back(text(u32(entry + 4)), text(u32(entry + 8)));
  }
  return out;
}

}  // namespace

std::string demangled(const std::string& name) {
  if (name.rfind("_Z", 0) != 0) return name;
  int status = 0;
  char* text = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  std::string out = status == 0 && text ? text : name;
  std::free(text);
  return out;
}

namespace {

std::string resolveBinary(const std::string& name) {
  // A file, not a directory: /usr/lib/python3 is one, python3 is on $PATH.
  auto isFile = [](const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  };
  auto isElf = [](const std::string& path) {
    char magic[4] = {};
    std::ifstream in(path, std::ios::binary);
    in.read(magic, 4);
    return in && std::memcmp(magic, "\x7f" "ELF", 4) == 0;
  };
  for (const char* dir : {"/lib/x86_64-linux-gnu/", "/usr/lib/x86_64-linux-gnu/", "/lib64/", "/usr/lib64/", "/lib/",
                          "/usr/lib/", "/usr/local/lib/"})
    if (isFile(std::string(dir) + name)) return std::string(dir) + name;
  if (isFile(name)) return name;  // in the current directory
  // As bpftrace: a program on $PATH (uprobe:bash:readline; python3 before
  // libpython3.11.so, as bpftrace picks /usr/bin/python3), then a library by
  // its short name (uprobe:libc:malloc is the ld.so.cache's first libc.so*).
  if (const char* path = std::getenv("PATH")) {
    std::string dirs = path;
    for (size_t at = 0; at <= dirs.size();) {
      size_t colon = dirs.find(':', at);
      std::string dir = dirs.substr(at, colon == std::string::npos ? std::string::npos : colon - at);
      // An ELF file: a shell-script shim (pyenv's python3) stands for a program elsewhere on $PATH.
      if (!dir.empty() && isFile(dir + "/" + name) && access((dir + "/" + name).c_str(), X_OK) == 0 && isElf(dir + "/" + name))
        return dir + "/" + name;
      if (colon == std::string::npos) break;
      at = colon + 1;
    }
  }
  std::string soname = (name.rfind("lib", 0) == 0 ? name : "lib" + name) + ".so";
  for (const auto& [library, path] : ldCacheLibraries())
    if (library.rfind(soname, 0) == 0 && access(path.c_str(), F_OK) == 0) return path;
  return name;
}

}  // namespace

int openBinary(const std::string& path) {
  // Looked at before it is opened (opening a device may do something, and a
  // socket does not open), and again after (it may have been replaced).
  auto refuse = [](const struct stat& st) {
    errno = S_ISDIR(st.st_mode) ? EISDIR : ENOEXEC;
    return -1;
  };
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) return -1;
  if (!S_ISREG(st.st_mode)) return refuse(st);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO put there since opens without a writer
  if (fd < 0) return -1;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return refuse(st);
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

std::string openBinaryError(int error) {
  if (error == EISDIR) return "it is a directory";
  if (error == ENOEXEC) return "it is not a regular file (a FIFO, socket or device), so not a binary";
  return std::strerror(error);
}

std::string findBinary(const std::string& name) {
  if (name.find('/') != std::string::npos || name.empty()) return name;
  // Asked for at every stage (attach points, types, code, listing): resolved once.
  static std::map<std::string, std::string> resolved;
  auto it = resolved.find(name);
  if (it == resolved.end()) it = resolved.emplace(name, resolveBinary(name)).first;
  return it->second;
}

}  // namespace dptrace

#include "dwarf_signatures.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>

#include <algorithm>
#include <functional>
#include <unistd.h>

namespace dptrace {
namespace {

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
      int tag = dwarf_tag(pointee);
      // Pointers to structs keep the struct's name; others their target's type.
      Dwarf_Die* resolved = pointee;
      Dwarf_Die step;
      for (int i = 0; i < 8 && resolved && (tag == DW_TAG_typedef || tag == DW_TAG_const_type || tag == DW_TAG_volatile_type); ++i) {
        Dwarf_Attribute a;
        if (dwarf_attr_integrate(resolved, DW_AT_type, &a) == nullptr) { resolved = nullptr; break; }
        resolved = dwarf_formref_die(&a, &step);
        tag = resolved ? dwarf_tag(resolved) : 0;
      }
      if (resolved && (tag == DW_TAG_structure_type || tag == DW_TAG_union_type)) {
        const char* name = dwarf_diename(resolved);
        return Type::pointer(Type::structure(name ? name : "(anonymous)"));
      }
      return Type::pointer(typeOf(pointee, depth + 1));
    }
    case DW_TAG_enumeration_type: {
      int size = dwarf_bytesize(die);
      return size > 0 && size <= 8 ? Type::integer(static_cast<uint32_t>(size) * 8, false) : Type();
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

void readSignature(Dwarf_Die* subprogram, FunctionSignature& out) {
  Dwarf_Attribute attr;
  Dwarf_Die ret;
  if (dwarf_attr_integrate(subprogram, DW_AT_type, &attr) && dwarf_formref_die(&attr, &ret)) out.ret = typeOf(&ret);
  Dwarf_Die child;
  if (dwarf_child(subprogram, &child) != 0) return;
  do {
    if (dwarf_tag(&child) != DW_TAG_formal_parameter) continue;
    const char* name = dwarf_diename(&child);
    Dwarf_Die type;
    Type t;
    if (dwarf_attr_integrate(&child, DW_AT_type, &attr) && dwarf_formref_die(&attr, &type)) t = typeOf(&type);
    out.params.emplace_back(name ? name : "", t);
  } while (dwarf_siblingof(&child, &child) == 0);
}

uint32_t byteSize(Dwarf_Die* type, int depth = 0) {
  if (type == nullptr || depth > 16) return 0;
  int size = dwarf_bytesize(type);
  if (size > 0) return static_cast<uint32_t>(size);
  Dwarf_Attribute attr;
  Dwarf_Die inner;
  if (dwarf_attr_integrate(type, DW_AT_type, &attr) && dwarf_formref_die(&attr, &inner)) return byteSize(&inner, depth + 1);
  return 0;
}

void flattenMembers(Dwarf_Die* record, uint32_t base, StructLayout& out, int depth) {
  Dwarf_Die member;
  if (depth > 8 || dwarf_child(record, &member) != 0) return;
  do {
    if (dwarf_tag(&member) != DW_TAG_member) continue;
    Dwarf_Attribute attr;
    Dwarf_Word offset = 0;
    if (dwarf_attr(&member, DW_AT_data_member_location, &attr)) dwarf_formudata(&attr, &offset);
    Dwarf_Die type;
    bool hasType = dwarf_attr_integrate(&member, DW_AT_type, &attr) && dwarf_formref_die(&attr, &type);
    const char* name = dwarf_diename(&member);
    if (name == nullptr) {  // anonymous struct or union: its members belong to this one
      if (hasType) flattenMembers(&type, base + static_cast<uint32_t>(offset), out, depth + 1);
      continue;
    }
    StructField f;
    f.name = name;
    f.offset = base + static_cast<uint32_t>(offset);
    if (hasType) {
      f.size = byteSize(&type);
      Dwarf_Die resolved = type;
      // char arrays read as strings
      if (dwarf_tag(&type) == DW_TAG_array_type) {
        Dwarf_Attribute element;
        Dwarf_Die elementType;
        if (dwarf_attr_integrate(&type, DW_AT_type, &element) && dwarf_formref_die(&element, &elementType) &&
            byteSize(&elementType) == 1 && f.size > 0)
          f.type = Type::string(f.size);
      } else {
        f.type = typeOf(&resolved);
      }
    }
    if (dwarf_hasattr(&member, DW_AT_bit_size)) f.type = Type();
    out.fields.push_back(std::move(f));
  } while (dwarf_siblingof(&member, &member) == 0);
}

// Calls visit() on every top-level DIE of every compilation unit of the ELF
// file at `path`, until it returns true. False (with `error`) when the file
// cannot be opened or has no DWARF.
bool forEachTopLevelDie(const std::string& path, std::string& error, const std::function<bool(Dwarf_Die*)>& visit) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "it cannot be opened";
    return false;
  }
  Dwarf* dwarf = dwarf_begin(fd, DWARF_C_READ);
  if (dwarf == nullptr) {
    close(fd);
    error = "it has no DWARF debug information";
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

}  // namespace

std::optional<FunctionSignature> readDwarfSignature(const std::string& path, const std::string& function,
                                                    std::string& error) {
  std::optional<FunctionSignature> found;
  bool readable = forEachTopLevelDie(path, error, [&](Dwarf_Die* die) {
    if (dwarf_tag(die) != DW_TAG_subprogram) return false;
    const char* name = dwarf_diename(die);
    if (name == nullptr || function != name) return false;
    bool outOfLine = dwarf_hasattr(die, DW_AT_low_pc) || dwarf_hasattr(die, DW_AT_ranges);
    if (!found || (outOfLine && !found->outOfLine)) {
      FunctionSignature s;
      readSignature(die, s);
      s.outOfLine = outOfLine;
      found = std::move(s);
    }
    return found->outOfLine;  // an out-of-line definition is what we look for
  });
  if (readable && !found) error = "its DWARF has no function '" + function + "'";
  return found;
}

std::map<std::string, StructLayout> readDwarfStructs(const std::string& path, const std::set<std::string>& names) {
  std::map<std::string, StructLayout> found;
  std::string error;
  forEachTopLevelDie(path, error, [&](Dwarf_Die* die) {
    int tag = dwarf_tag(die);
    if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type) return false;
    const char* n = dwarf_diename(die);
    if (n == nullptr || !names.count(n) || found.count(n) || dwarf_hasattr(die, DW_AT_declaration)) return false;
    StructLayout layout;
    layout.name = n;
    layout.size = static_cast<uint32_t>(std::max(dwarf_bytesize(die), 0));
    flattenMembers(die, 0, layout, 0);
    found.emplace(n, std::move(layout));
    return found.size() == names.size();
  });
  return found;
}

std::string findBinary(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  for (const char* dir : {"/lib/x86_64-linux-gnu/", "/usr/lib/x86_64-linux-gnu/", "/lib64/", "/usr/lib64/", "/lib/",
                          "/usr/lib/", "/usr/local/lib/"})
    if (access((std::string(dir) + name).c_str(), F_OK) == 0) return std::string(dir) + name;
  return name;
}

}  // namespace dptrace

// The inlined instances of a function, from DWARF: each one's entry address
// in its caller and where each parameter is there (dwarf_signatures.h).
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <string>

#include "dwarf_signatures.h"

namespace dptrace {
namespace {

// What the caller's frame base is at `pc`: a register and an offset, from
// the subprogram's DW_AT_frame_base (usually DW_OP_call_frame_cfa, the CFA,
// which the call-frame information gives as a register plus an offset).
bool frameBase(Dwarf* dwarf, Dwarf_Die* subprogram, Dwarf_Addr pc, uint32_t& reg, int64_t& offset) {
  Dwarf_Attribute attr;
  Dwarf_Op* ops = nullptr;
  size_t n = 0;
  if (subprogram == nullptr || dwarf_attr(subprogram, DW_AT_frame_base, &attr) == nullptr ||
      dwarf_getlocation_addr(&attr, pc, &ops, &n, 1) != 1 || n != 1)
    return false;
  if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
    reg = ops[0].atom - DW_OP_breg0;
    offset = static_cast<int64_t>(ops[0].number);
    return true;
  }
  if (ops[0].atom != DW_OP_call_frame_cfa) return false;
  for (Dwarf_CFI* cfi : {dwarf_getcfi_elf(dwarf_getelf(dwarf)), dwarf_getcfi(dwarf)}) {
    Dwarf_Frame* frame = nullptr;
    if (cfi == nullptr || dwarf_cfi_addrframe(cfi, pc, &frame) != 0) continue;
    Dwarf_Op* cfa = nullptr;
    size_t m = 0;
    bool ok = dwarf_frame_cfa(frame, &cfa, &m) == 0 && m == 1;
    if (ok && cfa[0].atom == DW_OP_bregx) reg = static_cast<uint32_t>(cfa[0].number), offset = static_cast<int64_t>(cfa[0].number2);
    else if (ok && cfa[0].atom >= DW_OP_breg0 && cfa[0].atom <= DW_OP_breg31)
      reg = cfa[0].atom - DW_OP_breg0, offset = static_cast<int64_t>(cfa[0].number);
    else ok = false;
    free(frame);
    if (ok) return true;
  }
  return false;
}

// A parameter's location at `pc` as dptrace reads it; "" or why not.
std::string locate(Dwarf* dwarf, Dwarf_Die* param, Dwarf_Die* subprogram, Dwarf_Addr pc, ParameterLocation& at) {
  Dwarf_Attribute attr;
  if (dwarf_attr(param, DW_AT_const_value, &attr)) {
    Dwarf_Word u = 0;
    Dwarf_Sword s = 0;
    if (dwarf_formudata(&attr, &u) == 0) at = {ParameterLocation::Kind::Constant, 0, 0, u};
    else if (dwarf_formsdata(&attr, &s) == 0) at = {ParameterLocation::Kind::Constant, 0, 0, static_cast<uint64_t>(s)};
    else return "a constant of a form dptrace does not read";
    return "";
  }
  Dwarf_Op* ops = nullptr;
  size_t n = 0;
  if (dwarf_attr(param, DW_AT_location, &attr) == nullptr || dwarf_getlocation_addr(&attr, pc, &ops, &n, 1) != 1 || n == 0)
    return "optimised out there";
  bool value = ops[n - 1].atom == DW_OP_stack_value;  // the expression computes the value, not its address
  size_t len = value ? n - 1 : n;
  unsigned a = ops[0].atom;
  // REG+OFFSET, then a load of 8 bytes, as the value: memory at REG+OFFSET.
  if (value && len == 2 && (ops[1].atom == DW_OP_deref || (ops[1].atom == DW_OP_deref_size && ops[1].number == 8)))
    value = false, len = 1;
  // REG+OFFSET masked (clang: DW_OP_bregN 0, DW_OP_constu 0xffff, DW_OP_and).
  uint64_t mask = 0;
  if (value && len == 3 && ops[1].atom == DW_OP_constu && ops[2].atom == DW_OP_and && ops[1].number != 0)
    mask = ops[1].number, len = 1;
  if (mask && !((a >= DW_OP_breg0 && a <= DW_OP_breg31) || a == DW_OP_bregx || a == DW_OP_fbreg))
    return "at a location dptrace does not read (a DWARF expression of " + std::to_string(n) + " operations)";
  if (len == 1 && !value && a >= DW_OP_reg0 && a <= DW_OP_reg31) at = {ParameterLocation::Kind::Register, a - DW_OP_reg0};
  else if (len == 1 && !value && a == DW_OP_regx) at = {ParameterLocation::Kind::Register, static_cast<uint32_t>(ops[0].number)};
  else if (len == 1 && value && a >= DW_OP_lit0 && a <= DW_OP_lit31) at = {ParameterLocation::Kind::Constant, 0, 0, a - DW_OP_lit0};
  else if (len == 1 && value && (a == DW_OP_const1u || a == DW_OP_const2u || a == DW_OP_const4u || a == DW_OP_const8u ||
                                 a == DW_OP_constu || a == DW_OP_const1s || a == DW_OP_const2s || a == DW_OP_const4s ||
                                 a == DW_OP_const8s || a == DW_OP_consts))
    at = {ParameterLocation::Kind::Constant, 0, 0, ops[0].number};
  else if (len == 1 && !value && a == DW_OP_implicit_value) {
    Dwarf_Block block;
    if (dwarf_getlocation_implicit_value(&attr, &ops[0], &block) != 0 || block.length > 8) return "a constant of more than 8 bytes";
    uint64_t v = 0;
    for (size_t i = block.length; i-- > 0;) v = v << 8 | block.data[i];
    at = {ParameterLocation::Kind::Constant, 0, 0, v};
  } else if (len == 1 && ((a >= DW_OP_breg0 && a <= DW_OP_breg31) || a == DW_OP_bregx || a == DW_OP_fbreg)) {
    uint32_t reg = a == DW_OP_bregx ? static_cast<uint32_t>(ops[0].number) : a - DW_OP_breg0;
    int64_t offset = static_cast<int64_t>(a == DW_OP_bregx ? ops[0].number2 : ops[0].number);
    if (a == DW_OP_fbreg) {
      int64_t base = 0;
      if (!frameBase(dwarf, subprogram, pc, reg, base)) return "relative to a frame base dptrace cannot find";
      offset += base;
    }
    if (mask && !value) return "at a location dptrace does not read (a masked memory read)";
    at = {value ? ParameterLocation::Kind::RegisterOffset : ParameterLocation::Kind::Memory, reg, offset, mask};
  } else if (a == DW_OP_entry_value || a == DW_OP_GNU_entry_value) {
    return "known only as the value it had when the caller was entered";
  } else {
    return "at a location dptrace does not read (a DWARF expression of " + std::to_string(n) + " operations)";
  }
  if ((at.kind == ParameterLocation::Kind::Register || at.kind == ParameterLocation::Kind::RegisterOffset ||
       at.kind == ParameterLocation::Kind::Memory) && at.index > 16)
    return "in a vector or floating-point register";
  return "";
}

struct Search {
  Dwarf* dwarf;
  const std::vector<std::string>* names;
  std::vector<InlinedSite>* sites;
};

int visitInstance(Dwarf_Die* instance, void* arg) {
  Search& s = *static_cast<Search*>(arg);
  if (dwarf_tag(instance) != DW_TAG_inlined_subroutine) return DWARF_CB_OK;
  InlinedSite site;
  // Its entry: DW_AT_entry_pc (gcc), else the start of its code when that
  // is one piece (clang gives no entry_pc: a call in several pieces may be
  // an unrolled loop's copies, or one copy with a cold part; which piece is
  // entered is not said).
  Dwarf_Addr entry = 0;
  size_t pieces = 0;
  if (dwarf_entrypc(instance, &entry) != 0) {
    Dwarf_Addr base = 0, start = 0, end = 0;
    for (ptrdiff_t at = 0; (at = dwarf_ranges(instance, at, &base, &start, &end)) > 0; ++pieces)
      if (pieces == 0 || start < entry) entry = start;
    if (pieces == 0) return DWARF_CB_OK;  // no code of its own
  }
  if (pieces > 1)
    site.unknownEntry = "its code is in " + std::to_string(pieces) +
                        " pieces and DWARF does not say where the call enters (no DW_AT_entry_pc: clang gives none)";
  site.address = entry;
  // Its caller: the innermost subprogram around it.
  Dwarf_Die* scopes = nullptr;
  Dwarf_Die* caller = nullptr;
  int depth = dwarf_getscopes_die(instance, &scopes);
  for (int i = 1; i < depth && caller == nullptr; ++i)
    if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram) caller = &scopes[i];
  if (caller && dwarf_diename(caller)) site.caller = dwarf_diename(caller);
  Dwarf_Attribute attr;
  Dwarf_Word line = 0, file = 0;
  if (dwarf_attr(instance, DW_AT_call_line, &attr)) dwarf_formudata(&attr, &line);
  site.line = static_cast<uint32_t>(line);
  Dwarf_Die cu;
  Dwarf_Files* files = nullptr;
  size_t nfiles = 0;
  if (dwarf_attr(instance, DW_AT_call_file, &attr) && dwarf_formudata(&attr, &file) == 0 &&
      dwarf_diecu(instance, &cu, nullptr, nullptr) && dwarf_getsrcfiles(&cu, &files, &nfiles) == 0 && file < nfiles)
    if (const char* name = dwarf_filesrc(files, file, nullptr, nullptr)) site.file = name;
  site.params.resize(s.names->size());
  site.unavailable.assign(s.names->size(), "optimised out there");
  Dwarf_Die child;
  if (dwarf_child(instance, &child) == 0) do {
      if (dwarf_tag(&child) != DW_TAG_formal_parameter) continue;
      const char* name = dwarf_diename(&child);  // through its abstract origin
      auto it = name ? std::find(s.names->begin(), s.names->end(), name) : s.names->end();
      if (it == s.names->end()) continue;
      size_t i = static_cast<size_t>(it - s.names->begin());
      site.unavailable[i] = locate(s.dwarf, &child, caller, entry, site.params[i]);
    } while (dwarf_siblingof(&child, &child) == 0);
  free(scopes);
  s.sites->push_back(std::move(site));
  return DWARF_CB_OK;
}

}  // namespace

namespace in_process {

std::vector<InlinedSite> readInlinedSites(const std::string& path, const std::string& function,
                                          const std::vector<std::string>& names) {
  std::vector<InlinedSite> sites;
  int fd = -1;
  Dwarf* dwarf = openDwarf(path, fd);
  if (dwarf == nullptr) return sites;
  // The abstract definition of the function in each compilation unit (a
  // static inline function of a header has one per unit that uses it).
  Search search{dwarf, &names, &sites};
  Dwarf_Off offset = 0, next = 0;
  size_t headerSize = 0;
  while (dwarf_nextcu(dwarf, offset, &next, &headerSize, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu, die;
    if (dwarf_offdie(dwarf, offset + headerSize, &cu) && dwarf_child(&cu, &die) == 0) do {
        const char* name = dwarf_tag(&die) == DW_TAG_subprogram ? dwarf_diename(&die) : nullptr;
        if (name && function == name && dwarf_func_inline(&die) == 1)
          dwarf_func_inline_instances(&die, visitInstance, &search);
      } while (dwarf_siblingof(&die, &die) == 0);
    offset = next;
  }
  // Link-time optimisation inlines across units: the calls then point at an
  // abstract definition in another unit, which only a walk of every unit finds.
  if (sites.empty()) {
    std::function<void(Dwarf_Die*, int)> walk = [&](Dwarf_Die* die, int depth) {
      Dwarf_Die child;
      if (depth > 64 || dwarf_child(die, &child) != 0) return;
      do {
        if (dwarf_tag(&child) == DW_TAG_inlined_subroutine) {
          const char* name = dwarf_diename(&child);  // through its abstract origin
          if (name && function == name) visitInstance(&child, &search);
        }
        walk(&child, depth + 1);
      } while (dwarf_siblingof(&child, &child) == 0);
    };
    offset = 0;
    while (dwarf_nextcu(dwarf, offset, &next, &headerSize, nullptr, nullptr, nullptr) == 0) {
      Dwarf_Die cu;
      if (dwarf_offdie(dwarf, offset + headerSize, &cu)) walk(&cu, 0);
      offset = next;
    }
  }
  dwarf_end(dwarf);
  close(fd);
  std::sort(sites.begin(), sites.end(), [](const InlinedSite& a, const InlinedSite& b) { return a.address < b.address; });
  sites.erase(std::unique(sites.begin(), sites.end(),
                          [](const InlinedSite& a, const InlinedSite& b) { return a.address == b.address; }),
              sites.end());
  return sites;
}

}  // namespace in_process

}  // namespace dptrace

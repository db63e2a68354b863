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

struct Dwarf;  // libdw's

namespace dptrace {

// Where the x86-64 System V calling convention puts a parameter at a
// function's first instruction: the Nth integer register (rdi rsi rdx rcx r8
// r9), or the stack above the return address. Floating-point parameters go
// to SSE registers, counted apart; a struct passed by value takes registers
// by its eightbytes' classes, or the stack when it is larger than 16 bytes or
// the registers ran out.
//
// At an inlined call (InlinedSite) a parameter is wherever the caller's code
// keeps it at that address, as its DWARF location says: in a register (by
// its DWARF number: 0 rax, 1 rdx, 2 rcx, 3 rbx, 4 rsi, 5 rdi, 6 rbp, 7 rsp,
// 8-15 r8-r15), a register plus an offset (an address the caller computed),
// memory at such an address, or a constant.
struct ParameterLocation {
  // IndexedMemory (USDT's 8@(%rdi,%rdx,8)): memory at register `index` +
  // register (value & 0xff) * (value >> 8) + offset.
  enum class Kind { IntegerRegister, Stack, Elsewhere, Register, RegisterOffset, Memory, Constant, IndexedMemory } kind = Kind::Elsewhere;
  uint32_t index = 0;  // the integer register's number, the byte offset above the return address, or a DWARF register
  int64_t offset = 0;  // RegisterOffset and Memory: added to the register
  uint64_t value = 0;  // Constant; RegisterOffset: a mask applied after (0: none)
  bool operator==(const ParameterLocation&) const = default;
};

struct Parameter {
  std::string name;
  std::string cType;   // as C spells it, as bpftrace -lv prints it: "const char*", "size_t"
  Type type;           // void: dptrace cannot read it (`unreadable` says why)
  ParameterLocation location;
  std::string unreadable;  // "a double (floating point)", "a struct passed by value"
};

struct FunctionSignature {
  std::vector<Parameter> params;
  Type ret;
  std::string retCType;       // as C spells it ("" for void)
  std::string retUnreadable;  // a float or struct return value: not readable
  bool outOfLine = false;     // false: DWARF knows it only inlined into callers
};

// An inlined instance of a function (DW_TAG_inlined_subroutine): where its
// body starts in the caller, and where each parameter is at that address.
struct InlinedSite {
  uint64_t address = 0;                    // the instance's entry (DW_AT_entry_pc), a virtual address
  std::string caller;                      // the function it was inlined into
  std::string file;                        // the call's source file and line
  uint32_t line = 0;
  std::vector<ParameterLocation> params;   // one per parameter of the signature, in order
  std::vector<std::string> unavailable;    // per parameter: why it cannot be read here ("" when it can)
  std::string unknownEntry;                // why the call's entry is not known ("" when it is)
  std::vector<Type> types;                 // USDT (usdt.h): each argument's own type; empty for DWARF's sites
  uint64_t semaphore = 0;                  // USDT: the file offset of the probe's semaphore (0: none)
  bool operator==(const InlinedSite&) const = default;
};

// libdw reads files other people made: the readers below (readInlinedSites,
// readDwarfSignatures, readDwarfStructs) run it in a child process
// (child_call.h), bounded by DPTRACE_DWARF_SECONDS (120 s by default), and
// a crash or a hang there is an answer in words ("libdw crashed reading its
// DWARF (Segmentation fault): it is damaged"), never a dead dptrace. Their
// in_process:: twins run libdw here, for the fuzzer (its sanitizers and
// coverage see libdw's calls).

// Every inlined instance of `function` in the ELF file at `path`, in address
// order; `names` are the signature's parameter names (the order of params).
// `failure`: why libdw gave no answer ("" when it did).
std::vector<InlinedSite> readInlinedSites(const std::string& path, const std::string& function,
                                          const std::vector<std::string>& names, std::string* failure = nullptr);

// The separate debug file of the ELF file at `path` (Debian's -dbg
// packages): /usr/lib/debug/.build-id/NN/REST.debug by its build id, else its
// .gnu_debuglink name beside it, in its .debug directory or under
// /usr/lib/debug; "" when there is none.
std::string separateDebugFile(const std::string& path);

// The DWARF of the ELF file at `path`, or (`separate`) of its separate debug
// file when it has none; `fd` is the file it was read from (close it after
// dwarf_end), -1 when neither has DWARF, -2 when `path` cannot be opened.
// A separate file costs its decompression (libc's: about 60 ms).
Dwarf* openDwarf(const std::string& path, int& fd, bool separate = true, bool* fromSeparate = nullptr);

// The signatures of several functions of one file (-lv, a script's uprobes),
// its DWARF opened once and its symbols read once; those it has none for are
// left out, with the reason in `why`. `failure`: why libdw gave no answer at
// all ("" when it did); a binary it failed on fails again at once.
std::map<std::string, FunctionSignature> readDwarfSignatures(const std::string& path, const std::set<std::string>& functions,
                                                              bool separate = true,
                                                              std::map<std::string, std::string>* why = nullptr,
                                                              std::string* failure = nullptr);

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

// The GNU build id of the ELF file at `path`, in hex; "" if it has none.
std::string elfBuildId(const std::string& path);

// The layouts of the named structs (or unions) that the DWARF of the file at
// `path` defines, in one pass over it. `failure`: why libdw gave no answer.
std::map<std::string, StructLayout> readDwarfStructs(const std::string& path, const std::set<std::string>& names,
                                                     std::string* failure = nullptr);

namespace in_process {
std::vector<InlinedSite> readInlinedSites(const std::string& path, const std::string& function,
                                          const std::vector<std::string>& names);
std::map<std::string, FunctionSignature> readDwarfSignatures(const std::string& path, const std::set<std::string>& functions,
                                                              bool separate, std::map<std::string, std::string>* why);
std::map<std::string, StructLayout> readDwarfStructs(const std::string& path, const std::set<std::string>& names);
}  // namespace in_process

// A library named without a directory (libc.so.6) is looked up in the
// standard library directories, then the current one; a short library name
// (libc, pthread) in /etc/ld.so.cache and a program's name on $PATH, as
// bpftrace does; a path is used as given.
std::string findBinary(const std::string& name);

// Opens a binary, library or debug file a script names, read-only: -1 with
// errno set when it cannot be, EISDIR for a directory and ENOEXEC for any
// other file that is not a regular one (a FIFO would block the reader, a
// device never end; neither can hold code a uprobe reaches).
int openBinary(const std::string& path);
// What openBinary's errno means: "it is a directory", or strerror's text.
std::string openBinaryError(int error);

// A C++ symbol's name as its source spells it (_ZN2ns1K4boomEi is
// ns::K::boom(int)), as bpftrace prints func, usym and ustack; any other
// name as it is.
std::string demangled(const std::string& name);

}  // namespace dptrace

// C definitions and #include lines of a script, parsed with the Clang
// libraries into struct layouts and enums.
//
// Clang lives in a module of its own (libdptrace_cimport.so) that dptrace
// loads only when a script holds C text: linking libclang-cpp into the
// binary would cost every start ~6 ms of static initialisers.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ast.h"
#include "dwarf_signatures.h"

namespace dptrace {

// What the importer is given: the script with everything but its C text
// blanked out (line breaks kept), so that Clang's line:column are the script's.
struct CImportRequest {
  std::string fileName;
  std::string code;
  std::vector<std::string> includeDirs;  // searched in this order for #include <...>
  std::string resourceDir;               // Clang's own headers (stddef.h, stdint.h)
  std::vector<std::string> defines;      // predefined macros, NAME or NAME=VALUE
  std::vector<std::string> includes;     // headers included before the code (--include FILE)
};

struct CImportMessage {
  bool error = true;
  uint32_t offset = 0;  // in the script: the C text, or the #include that led to the header
  std::string text;     // Clang's message, with "in HEADER:LINE:" when it is in a header
  bool fromScript = true;  // false: no #include of the script led there (a header of --include)
};

// A C integer constant as written: its magnitude and sign, so that
// 0xffffffffffffffff stays the unsigned literal it is (not -1).
struct CConstant {
  uint64_t magnitude = 0;
  bool negative = false;
};

struct CImportResult {
  std::map<std::string, StructLayout> structs;  // struct and union tags
  std::map<std::string, Type> enums;            // enum tag -> its integer type
  // Integer constants a script may name: enum constants, and object-like
  // macros whose value is an integer literal (maybe negated, in parentheses,
  // or naming another such macro or enum constant): AF_INET, TASK_COMM_LEN.
  std::map<std::string, CConstant> constants;
  std::vector<CImportMessage> messages;
};

// The entry point of the module, looked up with dlsym.
using CImportFunction = void (*)(const CImportRequest&, CImportResult&);
inline constexpr const char* kCImportSymbol = "dptrace_import_c";

// Why the C definitions could not be imported: the module is missing
// (`system`: exit 2), or Clang crashed or hung on them (exit 1).
struct CImportFailure {
  std::string message, hint;
  bool system = false;
};

// Builds the request for `script`, loads the module and runs it in a child
// process, so that a crash or a hang inside Clang is an error at the C text,
// not a dead dptrace (DPTRACE_CIMPORT_SECONDS bounds it, 60 by default).
std::optional<CImportFailure> importCDefinitions(const std::string& fileName, const std::string& script,
                                                 const std::vector<std::pair<uint32_t, uint32_t>>& cRanges,
                                                 const std::vector<std::string>& userIncludeDirs, CImportResult& result,
                                                 const std::vector<std::string>& includes = {});

// Replaces the identifiers that name C constants (and nothing of the
// language: builtins and packet views win) with the integers they stand for,
// as bpftrace's preprocessor does: `LIMIT` after `#define LIMIT 8` is 8.
void substituteCConstants(ast::Program& program, const std::map<std::string, CConstant>& constants);

// The directories #include <...> searches after the -I ones: the stdlib of
// this build or of the installation.
std::vector<std::string> stdlibIncludeDirs();

}  // namespace dptrace

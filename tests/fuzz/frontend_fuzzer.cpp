// Any bytes through every compiler stage before loading: parse, resolve
// attach points, check names, import types, type check, print the (typed)
// AST, lower to LLVM IR (verified, O2), emit the BPF object, and render the diagnostics. A crash, a leak, a sanitizer report or a hang (-timeout) is a
// bug. run-fuzz.sh points DPTRACE_TRACEFS at the test fixture, so tracepoint
// formats come from files and the fuzzer never mounts anything.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "ast_printer.h"
#include "codegen.h"
#include "check_names.h"
#include "diagnostics.h"
#include "parse.h"
#include "resolve_attach_points.h"
#include "sema/type_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dptrace::SourceFile file("fuzz.dpt", std::string(reinterpret_cast<const char*>(data), size));
  dptrace::Diagnostics diags(file);
  dptrace::ast::Program program = dptrace::parse(file, diags);
  if (!diags.hasErrors()) dptrace::resolveAttachPoints(program, diags);
  if (!diags.hasErrors()) dptrace::checkNames(program, diags);
  std::ostringstream out;
  if (!diags.hasErrors()) dptrace::printAst(program, out);
  dptrace::ImportedTypes imported;
  dptrace::ImportOptions imports;
  // C text goes to Clang in a child process (c_import.cpp), the answer back
  // through codec.h: both under test; a crash inside Clang is an error.
  imports.kernelTypes = false;   // nor the BTF importer (each input would parse vmlinux BTF again)
  if (!diags.hasErrors()) dptrace::importTypes(program, imports, diags, imported);
  dptrace::TypeTable types(imported);
  if (!diags.hasErrors()) dptrace::typeCheck(program, diags, types);
  if (!diags.hasErrors()) dptrace::printTypedAst(program, types, out);
  // All the way to the BPF object (O2 and the BPF back end) and its
  // assembly text; the object must be an ELF file.
  if (!diags.hasErrors()) {
    auto compiled = dptrace::compileScript(program, types, dptrace::CodegenOptions{}, diags,
                                           dptrace::CodegenOutput::Object, nullptr);
    if (compiled && !diags.hasErrors() && (compiled->object.size() < 4 || compiled->object[0] != 0x7f)) __builtin_trap();
  }
  diags.print(out, size % 2 == 0);  // with and without colour
  return 0;
}

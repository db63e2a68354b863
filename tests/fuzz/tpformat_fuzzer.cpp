// Tracepoint format files (tracefs: events/CATEGORY/NAME/format) as the
// kernel might write them, or a damaged tracefs: the parser, then a script
// that reads every field of the event (a map per field, str() of each
// __data_loc string) through the type checker and code generation to the BPF
// object. The input is the format's text, written as events/fz/ev/format of
// a tracefs tree of the fuzzer's own (DPTRACE_TRACEFS); the type checker
// reads it as it reads the kernel's.
#include <unistd.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "codegen.h"
#include "check_names.h"
#include "diagnostics.h"
#include "parse.h"
#include "resolve_attach_points.h"
#include "sema/tracepoint_format.h"
#include "sema/type_check.h"

namespace {

std::string root, formatPath;

void removeTree() { (void)!system(("rm -rf " + root).c_str()); }

bool identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char dir[] = "/tmp/tpformat-fuzz.XXXXXX";
  if (!mkdtemp(dir)) std::abort();
  root = dir;
  if (system(("mkdir -p " + root + "/events/fz/ev").c_str()) != 0) std::abort();
  std::atexit(removeTree);
  formatPath = root + "/events/fz/ev/format";
  setenv("DPTRACE_TRACEFS", root.c_str(), 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto format = dptrace::parseTracepointFormat(text, error);
  if (!format) return 0;
  {
    std::ofstream out(formatPath, std::ios::trunc | std::ios::binary);
    out << text;
  }
  std::string script = "tracepoint:fz:ev {";
  int n = 0;
  for (const dptrace::TracepointField& f : format->fields) {
    if (!identifier(f.name) || n == 8) continue;
    script += f.dataLoc ? " @f" + std::to_string(n) + " = str(args." + f.name + ");"
                        : " @f" + std::to_string(n) + " = args." + f.name + ";";
    ++n;
  }
  script += " }";
  dptrace::SourceFile file("fuzz.dpt", script);
  dptrace::Diagnostics diags(file);
  dptrace::ast::Program program = dptrace::parse(file, diags);
  if (!diags.hasErrors()) dptrace::resolveAttachPoints(program, diags);
  if (!diags.hasErrors()) dptrace::checkNames(program, diags);
  dptrace::ImportedTypes imported;
  dptrace::ImportOptions imports;
  imports.kernelTypes = false;
  if (!diags.hasErrors()) dptrace::importTypes(program, imports, diags, imported);
  dptrace::TypeTable types(imported);
  if (!diags.hasErrors()) dptrace::typeCheck(program, diags, types);
  if (!diags.hasErrors()) {
    auto compiled = dptrace::compileScript(program, types, dptrace::CodegenOptions{}, diags,
                                           dptrace::CodegenOutput::Object, nullptr);
    if (compiled && !diags.hasErrors() && (compiled->object.size() < 4 || compiled->object[0] != 0x7f)) __builtin_trap();
  }
  std::ostringstream out;
  diags.print(out, false);
  return 0;
}

// The entry point of libdptrace_codegen.so and libdptrace_codegen_host.so
// (see codegen_module.h).
#include "codegen_module.h"

extern "C" __attribute__((visibility("default"))) void dptrace_compile_script(const dptrace::CodegenCall& call) {
  *call.result = dptrace::compileScript(*call.program, *call.types, *call.options, *call.diags, call.output, call.text);
}

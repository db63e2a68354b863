// The code generator's host target (x86-64, for afxdp bodies), in one of
// the two builds of the code generator module: libdptrace_codegen_host.so
// has it (host_target_x86.cpp), libdptrace_codegen.so does not
// (host_target_none.cpp). The loader picks the module (codegen_module.h).
#pragma once

namespace dptrace {

// Registers LLVM's x86-64 target once; false when this module has none.
bool initializeHostTarget();

}  // namespace dptrace

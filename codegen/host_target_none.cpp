// The host target of libdptrace_codegen.so: none. Scripts without afxdp
// blocks need no x86-64 back end, and leaving it out makes the module load in
// about half the time (codegen/CMakeLists.txt).
#include "host_target.h"

namespace dptrace {

bool initializeHostTarget() { return false; }

}  // namespace dptrace

// The text of deferred values (Type::deferred), made when a record or map
// is printed, as bpftrace makes it: usym(addr) and ksym(addr) as the name of
// the function that holds addr (else the address in hex), username as the
// name of the uid (else the number), strftime(fmt, ns) as the wall-clock
// time of a monotonic-clock time, strerror(errno) as the C library's text.
#pragma once

#include <functional>

#include <cstdint>
#include <string>
#include <vector>

#include "output/value.h"
#include "sema/type.h"

namespace dptrace {

// word[0] and word[1] of the value's two slots.
std::string deferredText(Deferred kind, uint64_t value, uint64_t extra);

// cgroup_path(): the paths of cgroup `id` in the hierarchies under
// /sys/fs/cgroup whose names `filter` matches, as bpftrace prints them.
std::string cgroupPaths(uint64_t id, const std::string& filter);

// The formats strftime() refers to by index (CompiledScript::timeFormats).
void setStrftimeFormats(const std::vector<std::string>* formats);

// kstack/ustack: the frames of stack `id` of the stack-trace map of its
// depth (found by name through setStackMaps), as "function+offset" (else the
// address in hex), or in perf mode as "\tADDRESS function+offset" with the
// file of a user frame after it; `extra` is the value's second word
// (program_info.h: ustack's process, the depth, the mode). An id below 0
// (the kernel could not take the stack) has no frames.
StackValue stackOf(Deferred kind, int64_t id, uint64_t extra);
void setStackMaps(std::function<int(const std::string&)> mapFd);
// C++ names in stacks and usym() demangled (the default), or as the symbol
// table has them (BPFTRACE_NO_CPP_DEMANGLE=1).
void setDemangling(bool on);
// usym() and user stack frames by name (the default), or as addresses
// (BPFTRACE_NO_USER_SYMBOLS=1).
void setUserSymbols(bool on);

}  // namespace dptrace

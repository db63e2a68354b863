// The text of deferred values (Type::deferred), made when a record or map
// is printed, as bpftrace makes it: usym(addr) and ksym(addr) as the name of
// the function that holds addr (else the address in hex), username as the
// name of the uid (else the number), strftime(fmt, ns) as the wall-clock
// time of a monotonic-clock time, strerror(errno) as the C library's text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "output/value.h"
#include "sema/type.h"

namespace dptrace {

// word[0] and word[1] of the value's two slots.
std::string deferredText(Deferred kind, uint64_t value, uint64_t extra);

// The formats strftime() refers to by index (CompiledScript::timeFormats).
void setStrftimeFormats(const std::vector<std::string>* formats);

// kstack/ustack: the frames of stack `id` of the stack-trace map (set by
// setStackMap), as "function+offset" (else the address in hex); ustack's
// through process `pid`. An id below 0 (the kernel could not take the
// stack) has no frames.
StackValue stackOf(Deferred kind, int64_t id, uint64_t pid);
void setStackMap(int fd);

}  // namespace dptrace

// Reads a BPF map whole and turns it into typed entries (per-CPU values
// summed), as MapSnapshot for the printers.
#pragma once

#include "output/value.h"
#include "program_info.h"

namespace dptrace {

MapSnapshot readMap(int fd, const MapLayout& layout);
// Removes every entry (clear) or sets every value to zero (zero).
void clearMap(int fd, const MapLayout& layout);
void zeroMap(int fd, const MapLayout& layout);
// The sum over CPUs of a per-CPU array of u64 counters, at `index`.
uint64_t readCounter(int fd, uint32_t index);

}  // namespace dptrace

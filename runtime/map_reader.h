// Reads a BPF map whole and turns it into typed entries (per-CPU values
// summed), as MapSnapshot for the printers.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "output/value.h"
#include "program_info.h"

namespace dptrace {

// The BPF keys of an array map's entries that zero() set to 0: they still
// print (as 0, as bpftrace prints a zeroed entry), unlike untouched ones.
using ZeroedKeys = std::set<std::vector<uint8_t>>;

MapSnapshot readMap(int fd, const MapLayout& layout, const ZeroedKeys& zeroed = {});
// Removes every entry (clear) or sets every value to zero (zero); zeroMap
// adds to `zeroed` the array entries that held something.
void clearMap(int fd, const MapLayout& layout);
void zeroMap(int fd, const MapLayout& layout, ZeroedKeys* zeroed = nullptr);
// The sum over CPUs of a per-CPU array of u64 counters, at `index`.
uint64_t readCounter(int fd, uint32_t index);

}  // namespace dptrace

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

class UserMap;

// A map's entries wherever it lives: a BPF map (by fd) or a user-space map
// of afxdp bodies. Values come as one per CPU (`cpus()` of them, each
// rounded up to 8 bytes), as bpf_map_lookup_elem returns a per-CPU map's.
class MapAccess {
public:
  static MapAccess kernel(int fd);
  static MapAccess user(UserMap& map);
  std::vector<std::vector<uint8_t>> keys() const;
  // Every entry's key and values (per CPU, each rounded up to 8 bytes): a
  // kernel array in batches (one syscall for its 65,536 slots, not two a
  // slot), other maps key by key. `skipZero`: leave out the slots of an
  // array whose values are all zero (no probe wrote them).
  std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> entries(bool skipZero = false) const;
  bool lookup(const std::vector<uint8_t>& key, std::vector<uint8_t>& values) const;
  void update(const std::vector<uint8_t>& key, const std::vector<uint8_t>& values) const;
  void remove(const std::vector<uint8_t>& key) const;
  int cpus(const MapLayout& l) const;
  bool valid() const { return fd_ >= 0 || user_ != nullptr; }

private:
  int fd_ = -1;
  uint32_t keySize_ = 0, valuesSize_ = 0;  // a BPF map's, from the kernel
  bool array_ = false;                     // an array or per-CPU array: read in batches
  UserMap* user_ = nullptr;
};

MapSnapshot readMap(const MapAccess& map, const MapLayout& layout, const ZeroedKeys& zeroed = {});
// Removes every entry (clear) or sets every value to zero (zero); zeroMap
// adds to `zeroed` the array entries that held something.
void clearMap(const MapAccess& map, const MapLayout& layout);
void zeroMap(const MapAccess& map, const MapLayout& layout, ZeroedKeys* zeroed = nullptr);
// The sum over CPUs of a per-CPU array of u64 counters, at `index`.
uint64_t readCounter(const MapAccess& map, uint32_t index);

// Whether a layout read from a file (a pin's dptrace-layout, an object cache
// entry) is one the reader can read: its sizes are what the code generator
// gives such a map, so that a record written by someone else, or damaged,
// cannot make the reader walk past a key or a value.
bool readableLayout(const MapLayout& layout);

}  // namespace dptrace

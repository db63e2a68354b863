// --pin DIR and --maps DIR: a script's maps pinned in the BPF file system,
// reused by the next run with the same maps, and read by another dptrace
// that loads no program.
//
// DIR is under /sys/fs/bpf unless absolute. Each map is pinned as its name
// (without '@'; the unnamed map as "@"), and beside them "dptrace-layout",
// an array of one element, holds every pinned map's layout (key and value
// types, aggregation, buckets: encodeMapLayouts) and the id of the BPF map
// pinned for it -- what a reader needs to print them, and what the next run
// compares its own maps with. A map replaced by another since (another id)
// is not taken for dptrace's. A name with a '-' cannot be a script's map, so
// it never collides with one.
#pragma once

#include <bpf/libbpf.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "program_info.h"

namespace dptrace {

inline constexpr const char* kLayoutPin = "dptrace-layout";

std::string pinDirectory(const std::string& dir);
std::string pinName(const MapLayout& layout);

// Why a map cannot be pinned (its values name what only this run knows:
// strftime() formats, stack traces, cgroup_path() filters), or empty.
std::string unpinnable(const MapLayout& layout);

struct PinRefusal {
  std::string message, hint;
};

// What a --pin run pins, and what it leaves out (with the reason).
struct PinPlan {
  std::string dir;  // pinDirectory()
  int lock = -1;    // the directory, flock()ed for the run: a second run on it is refused (closed at exit)
  std::vector<const MapLayout*> pinned;
  std::vector<std::pair<const MapLayout*, std::string>> skipped;
};

// Before bpf_object__load: makes DIR (on a BPF file system), checks every map
// of the script that is already pinned there -- made by dptrace for a map
// filled the same way and of the same size, else a refusal that says what
// differs -- then sets every pinnable kernel map's pin path, so that libbpf
// reuses what is pinned and pins what is not. `bySymbol`: the object's maps.
std::optional<PinRefusal> preparePins(const CompiledScript& script, const std::string& dir,
                                      const std::map<std::string, bpf_map*>& bySymbol, PinPlan& plan);

// After loading: records the layouts and map ids of what is pinned in the
// plan's directory (this script's maps, and those an earlier script left
// that are still pinned). `fdOf` gives a map's fd by its symbol.
std::optional<PinRefusal> recordLayouts(const PinPlan& plan, const std::function<int(const std::string&)>& fdOf);

struct PinnedMap {
  MapLayout layout;
  int fd = -1;  // owned by the PinnedMaps
};

// --maps DIR: every map dptrace pinned in `dir`, opened and checked against
// its recorded layout.
class PinnedMaps {
public:
  PinnedMaps() = default;
  PinnedMaps(const PinnedMaps&) = delete;
  PinnedMaps& operator=(const PinnedMaps&) = delete;
  ~PinnedMaps();
  std::optional<PinRefusal> open(const std::string& dir);
  const std::vector<PinnedMap>& maps() const { return maps_; }
  const std::vector<std::string>& missing() const { return missing_; }  // recorded, since removed

private:
  std::vector<PinnedMap> maps_;
  std::vector<std::string> missing_;
};

}  // namespace dptrace

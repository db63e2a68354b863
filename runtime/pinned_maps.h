// --pin DIR and --maps DIR: a script's maps pinned in the BPF file system,
// reused by the next run with the same maps, and read by another dptrace
// that loads no program.
//
// DIR is under /sys/fs/bpf unless absolute. Each map is pinned as its name
// (without '@'; the unnamed map as "@"), and beside them "dptrace-layout",
// an array of one element, holds every pinned map's layout (key and value
// types, aggregation, buckets: encodeMapLayouts) -- what a reader needs to
// print them and what the next run compares its own maps with. A name
// with a '-' cannot be a script's map, so it never collides with one.
#pragma once

#include <bpf/libbpf.h>

#include <optional>
#include <string>
#include <vector>

#include "program_info.h"

namespace dptrace {

inline constexpr const char* kLayoutPin = "dptrace-layout";

std::string pinDirectory(const std::string& dir);
std::string pinName(const MapLayout& layout);

struct PinRefusal {
  std::string message, hint;
};

// Before bpf_object__load: every map of the script that is already pinned in
// `dir` must have the layout and size this run gives it (else a refusal
// that says what differs); then every kernel map gets its pin path, so that
// libbpf reuses what is pinned and pins what is not. nullopt when it can go on.
std::optional<PinRefusal> preparePins(bpf_object* obj, const CompiledScript& script, const std::string& dir);

// After loading: writes the layouts of the maps pinned in `dir` (this
// script's, and those an earlier script left that are still pinned).
std::optional<PinRefusal> recordLayouts(const CompiledScript& script, const std::string& dir);

struct PinnedMap {
  MapLayout layout;
  int fd = -1;  // owned by the PinnedMaps
};

// --maps DIR: every map dptrace pinned in `dir`, opened.
class PinnedMaps {
public:
  PinnedMaps() = default;
  PinnedMaps(const PinnedMaps&) = delete;
  PinnedMaps& operator=(const PinnedMaps&) = delete;
  ~PinnedMaps();
  std::optional<PinRefusal> open(const std::string& dir);
  const std::vector<PinnedMap>& maps() const { return maps_; }

private:
  std::vector<PinnedMap> maps_;
};

}  // namespace dptrace

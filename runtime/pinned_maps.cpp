#include "pinned_maps.h"

#include <bpf/bpf.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>

#include "object_cache.h"

namespace dptrace {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// "key [u32], values of count()": the map's keys and what fills it.
std::string describe(const MapLayout& l) {
  std::string keys;
  for (const Type& k : l.keys) keys += (keys.empty() ? "" : ", ") + k.str();
  std::string what;
  switch (l.role) {
    case MapRole::Value: what = l.value.str() + " values"; break;
    case MapRole::Count: what = "count()"; break;
    case MapRole::Sum: what = "sum() of " + l.value.str(); break;
    case MapRole::Min: what = "min() of " + l.value.str(); break;
    case MapRole::Max: what = "max() of " + l.value.str(); break;
    case MapRole::Avg: what = "avg() of " + l.value.str(); break;
    case MapRole::Stats: what = "stats() of " + l.value.str(); break;
    case MapRole::Hist: what = "hist() of " + l.value.str(); break;
    case MapRole::Lhist:
      what = "lhist(" + std::to_string(l.lhistMin) + ", " + std::to_string(l.lhistMax) + ", " + std::to_string(l.lhistStep) +
             ") of " + l.value.str();
      break;
  }
  return (keys.empty() ? std::string("no key") : "keys [" + keys + "]") + ", " + what;
}

// The layouts recorded in `dir`: empty when there are none; nullopt with
// `why` when the record is there but unreadable (another dptrace's format).
std::optional<std::vector<MapLayout>> readLayouts(const std::string& dir, std::string& why) {
  std::string path = dir + "/" + kLayoutPin;
  if (!exists(path)) return std::vector<MapLayout>{};
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) {
    why = "cannot open " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  bpf_map_info info{};
  uint32_t infoSize = sizeof info;
  std::optional<std::vector<MapLayout>> layouts;
  if (bpf_obj_get_info_by_fd(fd, &info, &infoSize) == 0 && info.type == BPF_MAP_TYPE_ARRAY && info.key_size == 4 &&
      info.max_entries == 1) {
    std::string bytes(info.value_size, '\0');
    uint32_t key = 0;
    if (bpf_map_lookup_elem(fd, &key, bytes.data()) == 0) layouts = decodeMapLayouts(bytes);
  }
  close(fd);
  if (!layouts) why = path + " was not written by this version of dptrace";
  return layouts;
}

}  // namespace

namespace {

bool isBpfFs(const char* path) {
  struct statfs st {};
  return ::statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

// The BPF file system relative names go under: /sys/fs/bpf. In a network
// namespace entered with `ip netns exec` (a /sys of its own, without it),
// the host's as PID 1 sees it, so that pins outlive the command as they do
// outside. Where neither can be reached, one is mounted at /sys/fs/bpf,
// with a warning: it lives as long as this mount namespace.
std::string bpfFsRoot() {
  static const std::string root = [] {
    if (isBpfFs("/sys/fs/bpf")) return std::string("/sys/fs/bpf");
    if (isBpfFs("/proc/1/root/sys/fs/bpf")) return std::string("/proc/1/root/sys/fs/bpf");
    if (::mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") == 0)
      std::cerr << "dptrace: warning: /sys/fs/bpf was not mounted here (ip netns exec gives a command a /sys of its "
                   "own) and the host's cannot be reached: pins made now vanish when this command ends\n"
                   "hint: give --pin and --maps an absolute path on a BPF file system mounted outside /sys "
                   "(mount -t bpf bpf /run/bpf; --pin /run/bpf/NAME)\n";
    return std::string("/sys/fs/bpf");
  }();
  return root;
}

}  // namespace

std::string pinDirectory(const std::string& dir) { return !dir.empty() && dir[0] == '/' ? dir : bpfFsRoot() + "/" + dir; }

std::string pinName(const MapLayout& layout) { return layout.name.empty() ? "@" : layout.name; }

std::optional<PinRefusal> preparePins(bpf_object* obj, const CompiledScript& script, const std::string& dirName) {
  std::string dir = pinDirectory(dirName);
  std::string why;
  auto recorded = readLayouts(dir, why);
  if (!recorded)
    return PinRefusal{why, "pin elsewhere, or remove the directory's maps: rm -r " + dir};
  std::map<std::string, const MapLayout*> before;
  for (const MapLayout& l : *recorded) before[pinName(l)] = &l;
  for (const MapLayout& l : script.maps) {
    if (l.userSpace) continue;  // afxdp bodies' maps live in dptrace, not in the kernel
    std::string path = dir + "/" + pinName(l);
    bpf_map* m = bpf_object__find_map_by_name(obj, l.symbol.c_str());
    if (!m) continue;
    if (exists(path)) {
      auto old = before.find(pinName(l));
      if (old == before.end())
        return PinRefusal{path + " is pinned, but not by dptrace (" + dir + "/" + kLayoutPin + " does not describe it)",
                          "pin elsewhere, or remove it: rm " + path};
      MapLayout mine = l, theirs = *old->second;
      mine.symbol = theirs.symbol;  // the object's name may differ between builds
      if (!(mine == theirs))
        return PinRefusal{"@" + l.name + " pinned at " + path + " holds " + describe(theirs) + "; this script's @" + l.name +
                              " holds " + describe(l),
                          "a pinned map is reused only by a script that fills it the same way: pin elsewhere, or "
                          "remove it: rm " + path};
      int fd = bpf_obj_get(path.c_str());
      bpf_map_info info{};
      uint32_t infoSize = sizeof info;
      if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &infoSize) != 0) {
        if (fd >= 0) close(fd);
        return PinRefusal{"cannot open " + path + ": " + std::strerror(errno), ""};
      }
      close(fd);
      if (info.max_entries != bpf_map__max_entries(m) || info.type != bpf_map__type(m))
        return PinRefusal{"@" + l.name + " pinned at " + path + " holds " + std::to_string(info.max_entries) +
                              " entries; this run's holds " + std::to_string(bpf_map__max_entries(m)),
                          "run with the --map-size it was pinned with, or remove it: rm " + path};
    }
    if (bpf_map__set_pin_path(m, path.c_str()) != 0)
      return PinRefusal{"cannot pin @" + l.name + " at " + path + ": " + std::strerror(errno), ""};
  }
  return std::nullopt;
}

std::optional<PinRefusal> recordLayouts(const CompiledScript& script, const std::string& dirName) {
  std::string dir = pinDirectory(dirName);
  std::string why;
  std::vector<MapLayout> layouts;
  for (const MapLayout& l : script.maps)
    if (!l.userSpace) layouts.push_back(l);
  if (auto recorded = readLayouts(dir, why))
    for (const MapLayout& l : *recorded) {  // an earlier script's maps that are still pinned here
      bool mine = false;
      for (const MapLayout& m : layouts) mine |= pinName(m) == pinName(l);
      if (!mine && exists(dir + "/" + pinName(l))) layouts.push_back(l);
    }
  std::string bytes = encodeMapLayouts(layouts);
  std::string path = dir + "/" + kLayoutPin;
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "dptrace_layout", 4, static_cast<uint32_t>(bytes.size()), 1, nullptr);
  uint32_t key = 0;
  if (fd < 0 || bpf_map_update_elem(fd, &key, bytes.data(), BPF_ANY) != 0) {
    std::string error = std::strerror(errno);
    if (fd >= 0) close(fd);
    return PinRefusal{"cannot record the pinned maps' layout: " + error, ""};
  }
  ::unlink(path.c_str());  // the new record replaces the old one
  int pinned = bpf_obj_pin(fd, path.c_str());
  std::string error = std::strerror(errno);
  close(fd);
  if (pinned != 0) return PinRefusal{"cannot pin " + path + ": " + error, ""};
  return std::nullopt;
}

PinnedMaps::~PinnedMaps() {
  for (PinnedMap& m : maps_)
    if (m.fd >= 0) close(m.fd);
}

std::optional<PinRefusal> PinnedMaps::open(const std::string& dirName) {
  std::string dir = pinDirectory(dirName);
  if (!exists(dir)) return PinRefusal{"no pinned maps at " + dir, "dptrace --pin " + dirName + " script.dpt pins them"};
  std::string why;
  auto recorded = readLayouts(dir, why);
  if (!recorded) return PinRefusal{why, ""};
  if (recorded->empty())
    return PinRefusal{dir + " holds no maps that dptrace pinned (no " + kLayoutPin + ")",
                      "dptrace --pin " + dirName + " script.dpt pins them"};
  for (const MapLayout& l : *recorded) {
    std::string path = dir + "/" + pinName(l);
    if (!exists(path)) continue;  // removed since
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) return PinRefusal{"cannot open " + path + ": " + std::strerror(errno), ""};
    maps_.push_back({l, fd});
  }
  return std::nullopt;
}

}  // namespace dptrace

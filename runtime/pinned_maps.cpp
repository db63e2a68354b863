#include "pinned_maps.h"

#include <bpf/bpf.h>
#include <linux/magic.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "aggregation.h"
#include "map_reader.h"
#include "object_cache.h"

namespace dptrace {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool isBpfFs(const std::string& path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

// The BPF file system relative names go under: /sys/fs/bpf. In a network
// namespace entered with `ip netns exec` (a /sys of its own, without it),
// the one the parent process (the shell that ran ip) or PID 1 sees, so that
// pins outlive the command as they do outside. Where none can be reached,
// one is mounted at /sys/fs/bpf, with a warning: it lives as long as this
// mount namespace.
std::string bpfFsRoot() {
  static const std::string root = [] {
    if (isBpfFs("/sys/fs/bpf")) return std::string("/sys/fs/bpf");
    for (std::string pid : {std::to_string(getppid()), std::string("1")}) {
      std::string path = "/proc/" + pid + "/root/sys/fs/bpf";
      if (isBpfFs(path)) return path;
    }
    if (::mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") == 0)
      std::cerr << "dptrace: warning: /sys/fs/bpf was not mounted here (ip netns exec gives a command a /sys of its "
                   "own) and the host's cannot be reached: pins made now vanish when this command ends\n"
                   "hint: give --pin and --maps an absolute path on a BPF file system mounted outside /sys "
                   "(mount -t bpf bpf /run/bpf; --pin /run/bpf/NAME)\n";
    return std::string("/sys/fs/bpf");
  }();
  return root;
}

// "keys [u32], count()": the map's keys and what fills it.
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
  std::string kind = l.array ? " (a per-CPU array of " + std::to_string(l.arraySlots) + (l.arraySlots == 1 ? " slot)" : " slots)")
                             : l.perCpu ? " (a per-CPU hash)" : " (a hash)";
  return (keys.empty() ? std::string("no key") : "keys [" + keys + "]") + ", " + what + kind;
}

bool holdsDeferred(const Type& t, int depth = 0) {
  if (depth > 8) return false;
  if (t.is(TypeKind::Deferred)) {
    Deferred d = t.deferredKind();
    return d == Deferred::Strftime || d == Deferred::Kstack || d == Deferred::Ustack || d == Deferred::CgroupPath;
  }
  if (t.is(TypeKind::Tuple) || t.is(TypeKind::Record))
    for (const Type& e : t.elements())
      if (holdsDeferred(e, depth + 1)) return true;
  return false;
}

uint32_t bpfType(const MapLayout& l) {
  if (l.array) return BPF_MAP_TYPE_PERCPU_ARRAY;
  return l.perCpu ? BPF_MAP_TYPE_PERCPU_HASH : BPF_MAP_TYPE_HASH;
}

std::optional<bpf_map_info> infoOf(int fd) {
  bpf_map_info info{};
  uint32_t size = sizeof info;
  if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &size) != 0) return std::nullopt;
  return info;
}

// The BPF map pinned at `path`, or nullopt (errno says why).
std::optional<bpf_map_info> pinnedInfo(const std::string& path) {
  int fd = bpf_obj_get(path.c_str());
  auto info = infoOf(fd);
  if (fd >= 0) close(fd);
  return info;
}

struct Record {
  std::vector<MapLayout> layouts;
  std::vector<uint64_t> ids;
};

// The record in `dir`: empty when there is none; nullopt with `why` when it
// is there but unreadable (another dptrace's format, or not dptrace's).
std::optional<Record> readRecord(const std::string& dir, std::string& why) {
  std::string path = dir + "/" + kLayoutPin;
  if (!exists(path)) return Record{};
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) {
    why = "cannot open " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::optional<Record> record;
  auto info = infoOf(fd);
  if (info && info->type == BPF_MAP_TYPE_ARRAY && info->key_size == 4 && info->max_entries == 1 &&
      info->value_size <= (1u << 24)) {
    std::string bytes(info->value_size, '\0');
    uint32_t key = 0;
    if (bpf_map_lookup_elem(fd, &key, bytes.data()) == 0)
      if (auto decoded = decodeMapLayouts(bytes)) record = Record{std::move(decoded->first), std::move(decoded->second)};
  }
  close(fd);
  if (!record) why = path + " was not written by this version of dptrace";
  return record;
}

// Makes `dir` and the directories above it that are missing, on a BPF file system.
std::optional<PinRefusal> makeDirectory(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
    return PinRefusal{dir + " is not a directory (a pinned map or another object)", "give --pin a directory name"};
  std::string existing = dir;
  std::vector<std::string> missing;
  while (!exists(existing)) {
    missing.push_back(existing);
    size_t slash = existing.rfind('/');
    if (slash == std::string::npos || slash == 0) break;
    existing.resize(slash);
  }
  if (!isBpfFs(existing))
    return PinRefusal{dir + " is not on a BPF file system (" + existing + " is not one), where maps are pinned",
                      "give a name under /sys/fs/bpf (--pin NAME), or mount one first: mount -t bpf bpf DIR"};
  for (auto it = missing.rbegin(); it != missing.rend(); ++it)
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST)
      return PinRefusal{"cannot make " + *it + ": " + std::strerror(errno), ""};
  return std::nullopt;
}

const char* typeName(uint32_t type) {
  switch (type) {
    case BPF_MAP_TYPE_HASH: return "hash";
    case BPF_MAP_TYPE_PERCPU_HASH: return "per-CPU hash";
    case BPF_MAP_TYPE_PERCPU_ARRAY: return "per-CPU array";
    case BPF_MAP_TYPE_ARRAY: return "array";
    default: return "other";
  }
}

}  // namespace

std::string pinDirectory(const std::string& dir) {
  std::string path = !dir.empty() && dir[0] == '/' ? dir : bpfFsRoot() + "/" + dir;
  std::string normal = std::filesystem::path(path).lexically_normal().string();  // a/../../b is b's parent's b
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

std::string pinName(const MapLayout& layout) { return layout.name.empty() ? "@" : layout.name; }

std::string unpinnable(const MapLayout& l) {
  bool deferred = holdsDeferred(l.value);
  for (const Type& k : l.keys) deferred |= holdsDeferred(k);
  if (!deferred) return "";
  return "it holds strftime(), kstack, ustack or cgroup_path() values, which name what only this run knows "
         "(a format, a stack map, a filter)";
}

// Two runs pinning in one directory at once would both add to its maps
// (every count twice): the directory is flock()ed for the run, and a second
// run is refused, naming the first (/proc/locks has its pid).
static std::optional<PinRefusal> lockDirectory(PinPlan& plan) {
  int fd = open(plan.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;  // makeDirectory made it: not expected; nothing to lock then
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
    plan.lock = fd;
    return std::nullopt;
  }
  struct stat st{};
  fstat(fd, &st);
  close(fd);
  std::string holder;
  char inode[64];
  snprintf(inode, sizeof inode, ":%llu ", static_cast<unsigned long long>(st.st_ino));
  std::ifstream locks("/proc/locks");
  for (std::string line; std::getline(locks, line);) {
    if (line.find("FLOCK") == std::string::npos || line.find(inode) == std::string::npos) continue;
    std::istringstream words(line);
    std::string w;
    for (int i = 0; i < 5 && words >> w; ++i) {
    }
    holder = w;  // the fifth field: the pid
    break;
  }
  std::string who = holder.empty() ? "another dptrace" : "another dptrace (process " + holder + ")";
  return PinRefusal{plan.dir + " is in use by " + who + ": two runs at once would both add to its maps",
                    "end that run first, or pin elsewhere (--pin OTHER); dptrace --maps " + plan.dir +
                        " reads the maps while it runs"};
}

std::optional<PinRefusal> preparePins(const CompiledScript& script, const std::string& dirName,
                                      const std::map<std::string, bpf_map*>& bySymbol, PinPlan& plan) {
  if (dirName.empty()) return PinRefusal{"--pin needs a directory name", "for example: --pin lab11 (/sys/fs/bpf/lab11)"};
  plan.dir = pinDirectory(dirName);
  if (auto refusal = makeDirectory(plan.dir)) return refusal;
  if (auto refusal = lockDirectory(plan)) return refusal;
  std::string why;
  auto recorded = readRecord(plan.dir, why);
  if (!recorded) return PinRefusal{why, "pin elsewhere, or remove the directory's maps: rm -r " + plan.dir};
  for (const MapLayout& l : script.maps) {
    if (l.userSpace) continue;  // afxdp bodies' maps live in dptrace, not in the kernel
    auto found = bySymbol.find(l.symbol);
    if (found == bySymbol.end()) continue;
    bpf_map* m = found->second;
    if (std::string reason = unpinnable(l); !reason.empty()) {
      plan.skipped.push_back({&l, reason});
      continue;
    }
    std::string path = plan.dir + "/" + pinName(l);
    if (exists(path)) {
      size_t i = 0;
      while (i < recorded->layouts.size() && pinName(recorded->layouts[i]) != pinName(l)) ++i;
      std::string remove = "pin elsewhere, or remove it: rm " + path;
      if (i == recorded->layouts.size())
        return PinRefusal{path + " is pinned, but not by dptrace (" + plan.dir + "/" + kLayoutPin + " does not describe it)",
                          remove};
      auto info = pinnedInfo(path);
      if (!info) return PinRefusal{"cannot open " + path + ": " + std::strerror(errno), remove};
      if (info->id != recorded->ids[i])
        return PinRefusal{path + " is not the map dptrace pinned there: it was replaced since", remove};
      MapLayout mine = l, theirs = recorded->layouts[i];
      mine.symbol = theirs.symbol;  // the object's name may differ between scripts, and what
      mine.source = theirs.source;  // fills it, and whether it clears it, as long as it is filled the same way
      mine.reset = theirs.reset;
      if (!(mine == theirs))
        return PinRefusal{"@" + l.name + " pinned at " + path + " holds " + describe(theirs) + "; this script's @" + l.name +
                              " holds " + describe(l),
                          "a pinned map is reused only by a script that fills it the same way: " + remove};
      if (info->type != bpf_map__type(m) || info->max_entries != bpf_map__max_entries(m))
        return PinRefusal{"@" + l.name + " pinned at " + path + " is a " + typeName(info->type) + " of " +
                              std::to_string(info->max_entries) + " entries; this run's is a " +
                              typeName(bpf_map__type(m)) + " of " + std::to_string(bpf_map__max_entries(m)),
                          "run with the --map-size it was pinned with, or " + remove};
    }
    if (bpf_map__set_pin_path(m, path.c_str()) != 0)
      return PinRefusal{"cannot pin @" + l.name + " at " + path + ": " + std::strerror(errno), ""};
    plan.pinned.push_back(&l);
  }
  return std::nullopt;
}

std::optional<PinRefusal> recordLayouts(const PinPlan& plan, const std::function<int(const std::string&)>& fdOf) {
  Record record;
  for (const MapLayout* l : plan.pinned) {
    auto info = infoOf(fdOf(l->symbol));
    if (!info) return PinRefusal{"cannot read the map pinned as " + plan.dir + "/" + pinName(*l), ""};
    record.layouts.push_back(*l);
    record.ids.push_back(info->id);
  }
  std::string why;
  if (auto earlier = readRecord(plan.dir, why))
    for (size_t i = 0; i < earlier->layouts.size(); ++i) {  // an earlier script's maps that are still pinned here
      const MapLayout& l = earlier->layouts[i];
      bool mine = false;
      for (const MapLayout& m : record.layouts) mine |= pinName(m) == pinName(l);
      auto info = mine ? std::nullopt : pinnedInfo(plan.dir + "/" + pinName(l));
      if (info && info->id == earlier->ids[i]) record.layouts.push_back(l), record.ids.push_back(earlier->ids[i]);
    }
  std::string bytes = encodeMapLayouts(record.layouts, record.ids);
  std::string path = plan.dir + "/" + kLayoutPin;
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
  if (dirName.empty()) return PinRefusal{"--maps needs a directory name", "for example: --maps lab11 (/sys/fs/bpf/lab11)"};
  std::string dir = pinDirectory(dirName);
  std::string pin = "dptrace --pin " + dirName + " script.dpt pins them";
  if (!exists(dir)) return PinRefusal{"no pinned maps at " + dir, pin};
  std::string why;
  auto recorded = readRecord(dir, why);
  if (!recorded) return PinRefusal{why, ""};
  if (recorded->layouts.empty())
    return PinRefusal{dir + " holds no maps that dptrace pinned (no " + kLayoutPin + ")", pin};
  for (size_t i = 0; i < recorded->layouts.size(); ++i) {
    const MapLayout& l = recorded->layouts[i];
    std::string path = dir + "/" + pinName(l);
    if (!exists(path)) {
      missing_.push_back("@" + l.name);
      continue;
    }
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) return PinRefusal{"cannot open " + path + ": " + std::strerror(errno), ""};
    maps_.push_back({l, fd});
    auto info = infoOf(fd);
    if (!info || info->id != recorded->ids[i] || !readableLayout(l) || info->type != bpfType(l) ||
        info->key_size != l.keySize || info->value_size != l.valueSize)
      return PinRefusal{path + " is not the map dptrace pinned there as @" + l.name + ": it was replaced since",
                        "remove it (rm " + path + "): the next --pin run pins a new one"};
  }
  return std::nullopt;
}

}  // namespace dptrace

// Binaries through inotify, interfaces through their XDP links' info.
#include "target_watch.h"

#include <utility>

#include <bpf/bpf.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

#include "dwarf_signatures.h"

namespace dptrace {

BinaryWatch::~BinaryWatch() {
  if (fd_ >= 0) close(fd_);
}

namespace {
int64_t modifiedNs(const struct stat& st) { return int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec; }

// The build id of a file a writer may be in the middle of (a copy truncates
// it first): read once it has stood still for 100 ms, waiting 1 s at most.
std::string settledBuildId(const std::string& path) {
  std::string id;
  for (int i = 0; i < 10; ++i) {
    struct stat first{}, then{};
    stat(path.c_str(), &first);
    id = elfBuildId(path);
    usleep(100'000);
    if (stat(path.c_str(), &then) == 0 && modifiedNs(then) == modifiedNs(first) && then.st_size == first.st_size) break;
  }
  return id;
}
}  // namespace

BinaryWatch::Identity BinaryWatch::identify(const std::string& path) {
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) return {};
  return {st.st_dev, st.st_ino, modifiedNs(st), elfBuildId(path), true};
}

void BinaryWatch::add(const std::string& path, const Identity& before) {
  for (const Watched& w : watched_)
    if (w.path == path) return;
  if (fd_ < 0) fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) return;
  Watched w;
  w.path = path;
  char* resolved = realpath(path.c_str(), nullptr);
  w.real = resolved ? resolved : path;
  std::free(resolved);
  size_t slash = w.real.rfind('/');
  w.dir = slash == std::string::npos ? "." : slash == 0 ? "/" : w.real.substr(0, slash);
  w.name = slash == std::string::npos ? w.real : w.real.substr(slash + 1);
  struct stat st{};
  bool exists = stat(w.real.c_str(), &st) == 0;
  if (exists) w.device = st.st_dev, w.inode = st.st_ino;
  // Replaced, gone or rewritten since the probes were attached (under load,
  // the watch may start well after): the file watched from here is not the
  // one probed, or not the code.
  w.buildId = before.exists ? before.buildId : elfBuildId(w.real);
  if (before.exists && (!exists || st.st_dev != before.device || st.st_ino != before.inode)) {
    w.early = exists ? Change::Replaced : Change::Gone;
    if (!exists) w.device = before.device, w.inode = before.inode;
    else w.buildId = elfBuildId(w.real);
  } else if (before.exists && modifiedNs(st) != before.modifiedNs) {
    std::string now = settledBuildId(w.real);
    if (before.buildId.empty() || now != before.buildId) w.early = Change::Rewritten;
  }
  w.file = inotify_add_watch(fd_, w.real.c_str(), IN_MODIFY | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB);
  w.parent = inotify_add_watch(fd_, w.dir.c_str(), IN_CREATE | IN_MOVED_TO);
  watched_.push_back(std::move(w));
}

bool BinaryWatch::sameFile(const Watched& w) const {
  struct stat st{};
  return stat(w.real.c_str(), &st) == 0 && st.st_dev == w.device && st.st_ino == w.inode;
}

bool BinaryWatch::pending() const {
  for (const Watched& w : watched_)
    if (w.goneAt || w.early) return true;
  return false;
}

std::vector<BinaryWatch::Event> BinaryWatch::read(uint64_t nowNs) {
  std::vector<Event> events;
  if (fd_ < 0) return events;
  auto say = [&](Watched& w, Change c) {
    w.goneAt = 0;
    if (w.said[static_cast<int>(c)]) return;
    w.said[static_cast<int>(c)] = true;
    events.push_back({w.path, c});
  };
  for (Watched& w : watched_)
    if (auto change = std::exchange(w.early, std::nullopt)) say(w, *change);
  alignas(inotify_event) char buffer[16 * (sizeof(inotify_event) + NAME_MAX + 1)];
  for (;;) {
    ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n <= 0) break;
    for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      for (Watched& w : watched_) {
        if (e->wd == w.file) {
          if (e->mask & IN_MODIFY) w.modified = true;
          // Written and closed: the same code again (a build id unchanged) is no change.
          if ((e->mask & IN_CLOSE_WRITE) && w.modified) {
            w.modified = false;
            std::string now = elfBuildId(w.real);
            if (w.buildId.empty() || now != w.buildId) say(w, Change::Rewritten);
          }
          // Renamed away, or its last name removed (IN_ATTRIB: the link count; the
          // file itself lives on while a process runs it): gone, unless its name
          // holds it again soon.
          if ((e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB)) && !sameFile(w) && !w.goneAt &&
              !w.said[static_cast<int>(Change::Gone)] && !w.said[static_cast<int>(Change::Replaced)])
            w.goneAt = nowNs;
        }
        if (e->wd == w.parent && e->len > 0 && w.name == e->name) {
          if (sameFile(w)) w.goneAt = 0;  // moved back
          else say(w, Change::Replaced);
        }
      }
    }
  }
  for (Watched& w : watched_)
    if (w.goneAt && nowNs - w.goneAt >= kGoneNs) {
      if (sameFile(w)) w.goneAt = 0;
      else say(w, Change::Gone);
    }
  return events;
}

bool interfaceGone(int linkFd) {
  bpf_link_info info{};
  uint32_t length = sizeof info;
  if (bpf_obj_get_info_by_fd(linkFd, &info, &length) != 0) return false;
  return info.type == BPF_LINK_TYPE_XDP && info.xdp.ifindex == 0;
}

}  // namespace dptrace

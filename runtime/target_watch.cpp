// Binaries through inotify, interfaces through their XDP links' info.
#include "target_watch.h"

#include <bpf/bpf.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <climits>
#include <cstring>

namespace dptrace {

BinaryWatch::~BinaryWatch() {
  if (fd_ >= 0) close(fd_);
}

void BinaryWatch::add(const std::string& path) {
  for (const Watched& w : watched_)
    if (w.path == path) return;
  if (fd_ < 0) fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) return;
  Watched w;
  w.path = path;
  size_t slash = path.rfind('/');
  w.dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  w.name = slash == std::string::npos ? path : path.substr(slash + 1);
  w.file = inotify_add_watch(fd_, path.c_str(), IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB);
  w.parent = inotify_add_watch(fd_, w.dir.c_str(), IN_CREATE | IN_MOVED_TO);
  watched_.push_back(std::move(w));
}

std::vector<BinaryWatch::Event> BinaryWatch::read() {
  std::vector<Event> events;
  if (fd_ < 0) return events;
  alignas(inotify_event) char buffer[16 * (sizeof(inotify_event) + NAME_MAX + 1)];
  auto say = [&](Watched& w, Change c) {
    if (w.said[static_cast<int>(c)]) return;
    w.said[static_cast<int>(c)] = true;
    events.push_back({w.path, c});
  };
  for (;;) {
    ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n <= 0) break;
    for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      for (Watched& w : watched_) {
        if (e->wd == w.file) {
          if (e->mask & IN_CLOSE_WRITE) say(w, Change::Rewritten);
          if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) say(w, Change::Deleted);
          // rm of the last name: a link count of 0 (IN_DELETE_SELF waits for the last user).
          if ((e->mask & IN_ATTRIB) && access(w.path.c_str(), F_OK) != 0) say(w, Change::Deleted);
        }
        if (e->wd == w.parent && e->len > 0 && w.name == e->name) say(w, Change::Replaced);
      }
    }
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

// What a run's probes stand on, watched while it runs: the binaries its
// uprobes are in (rebuilt, replaced, deleted) and the interfaces its XDP
// programs are on (deleted). Each change is said once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "diagnostics.h"

namespace dptrace {

// The uprobes' binaries, through inotify: the file itself (written, deleted,
// renamed away) and its directory (a new file under its name).
class BinaryWatch {
public:
  enum class Change { Rewritten, Replaced, Deleted };
  struct Event {
    std::string path;
    Change change;
  };
  BinaryWatch() = default;
  BinaryWatch(const BinaryWatch&) = delete;
  BinaryWatch& operator=(const BinaryWatch&) = delete;
  ~BinaryWatch();
  void add(const std::string& path);  // opens the inotify descriptor on first use; -1 fd if it cannot
  int fd() const { return fd_; }
  // What happened since the last call, one event per binary and kind.
  std::vector<Event> read();

private:
  struct Watched {
    std::string path, dir, name;
    int file = -1, parent = -1;
    bool said[3] = {false, false, false};
  };
  int fd_ = -1;
  std::vector<Watched> watched_;
};

// An XDP program's bpf_link and where the script named its interface.
struct AttachedInterface {
  std::string name;
  SourceRange where;
  int linkFd = -1;
  bool gone = false;
};

// True when the interface of an XDP link is gone (the kernel detached the
// link: it reports ifindex 0).
bool interfaceGone(int linkFd);

}  // namespace dptrace

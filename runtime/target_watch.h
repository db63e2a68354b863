// What a run's probes stand on, watched while it runs: the binaries its
// uprobes are in (rebuilt, replaced, deleted) and the interfaces its XDP
// programs are on (deleted). Each change is said once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "diagnostics.h"

namespace dptrace {

// The uprobes' binaries, through inotify: the file itself (its bytes written,
// deleted, renamed away) and its directory (a file made under its name).
// Symbolic links are followed: the file watched is the one probed.
class BinaryWatch {
public:
  enum class Change {
    Rewritten,  // other bytes in the same file (its build id changed, or it has none)
    Replaced,   // another file under its name (a linker's output, mv, install)
    Gone,       // deleted or moved away, and nothing under its name since
  };
  struct Event {
    std::string path;  // as the script named it
    Change change;
  };
  // Which file a path names (symbolic links followed): taken before the
  // probes are attached, so that a change between then and add() is said too.
  struct Identity {
    dev_t device = 0;
    ino_t inode = 0;
    int64_t modifiedNs = 0;
    std::string buildId;  // its GNU build id, "" if none
    bool exists = false;
  };
  static Identity identify(const std::string& path);

  BinaryWatch() = default;
  BinaryWatch(const BinaryWatch&) = delete;
  BinaryWatch& operator=(const BinaryWatch&) = delete;
  ~BinaryWatch();
  // Opens the inotify descriptor on first use (-1 fd if it cannot). `before`:
  // the file the probes were attached to, when another is there now.
  void add(const std::string& path, const Identity& before);
  int fd() const { return fd_; }
  // Something may be due without the descriptor being readable: a file gone
  // is said only if nothing took its name within kGoneNs (a rebuild unlinks,
  // then makes the new file: one change, said as Replaced).
  bool pending() const;
  // What happened since the last call, each change of a binary said once.
  std::vector<Event> read(uint64_t nowNs);

  static constexpr uint64_t kGoneNs = 300'000'000;

private:
  struct Watched {
    std::string path, real, dir, name, buildId;
    dev_t device = 0;
    ino_t inode = 0;
    int file = -1, parent = -1;
    bool modified = false;
    uint64_t goneAt = 0;  // when it went, while that is not said yet
    bool said[3] = {false, false, false};
    std::optional<Change> early;  // between the attach and add(): said at the next read()
  };
  bool sameFile(const Watched& w) const;  // the name holds the file probed
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

// The command of -c, in a guard of its own: started held (it waits, before
// exec, until the probes are attached), released only when the run says so,
// and never left behind: on every way out it is stopped as bpftrace stops
// it (SIGTERM, a bounded wait, SIGKILL), a child never released is killed
// before it ever runs, and a SIGKILL of dptrace kills it too (its parent-death
// signal).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace dptrace {

class ChildProcess {
public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  // Splits `command` into words, checks that its program can be run (found
  // on PATH, executable) and forks it, held. An error says why not.
  std::optional<std::string> start(const std::string& command);
  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }

  // Lets the child exec its program; an error when exec failed.
  std::optional<std::string> release();
  bool released() const { return released_; }

  // Stops a running child: SIGTERM, up to `graceMs` for it to end, then
  // SIGKILL; reaps it. Returns its exit status as a shell shows it.
  int stop(int graceMs = kGraceMs);
  // Reaps a child that ended by itself (after its pidfd became readable);
  // its wait status (0 when it was reaped already).
  int reap();

  static constexpr int kGraceMs = 2000;

private:
  pid_t pid_ = -1;
  int gate_ = -1;        // write end: closing it releases the child
  int execStatus_ = -1;  // read end: the child writes errno here if exec fails (close-on-exec)
  bool released_ = false;
  bool reaped_ = false;
  std::vector<std::string> words_;
};

// The program a command would run: `word` itself when it holds a '/', else
// the first executable file of that name on PATH. nullopt when none.
std::optional<std::string> findProgram(const std::string& word);

}  // namespace dptrace

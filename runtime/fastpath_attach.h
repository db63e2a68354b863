// The uprobes of DPDK burst probes that go through rte_eth_fp_ops
// (dpdk_fastpath.h): attached to each PMD function the traced process's
// started ports use, with the queue table filled, and followed on a timer
// as ports start, stop or change their queues. What it did is said on
// stderr (or as JSON notices).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "attach.h"
#include "dpdk_fastpath.h"

struct bpf_object;

namespace dptrace {

class FastPathAttach {
public:
  FastPathAttach(const CompiledScript& script, Output& out, Links& links) : script_(script), out_(out), links_(links) {}

  // Whether the script has probes that attach this way.
  bool wanted() const;
  // Reads the process's rte_eth_fp_ops and attaches what is new. `waiting`
  // (-c): a process that has not started DPDK yet is no error. Returns a run
  // status; an error goes to `diags`.
  int refresh(bpf_object* obj, pid_t pid, bool waiting, Diagnostics& diags);
  bool attached() const { return attached_; }
  // Milliseconds until the next refresh.
  int period() const { return attached_ ? 1000 : 100; }
  // At the end: the calls the probes skipped, and probes that never attached.
  void finish(bpf_object* obj, pid_t pid);

private:
  void say(const std::string& type, const std::string& text);
  void describe(const FastPathState& state, bool first);

  const CompiledScript& script_;
  Output& out_;
  Links& links_;
  bool attached_ = false;
  bool waitingSaid_ = false;
  bool started_ = false;
  std::chrono::steady_clock::time_point since_;  // the first refresh: -c released the command then
  std::optional<FastPathState> last_;
  std::set<std::pair<std::string, uint64_t>> links;  // (program, function address) already attached
};

}  // namespace dptrace

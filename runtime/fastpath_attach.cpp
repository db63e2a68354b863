#include "fastpath_attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include "breakpoint_hazard.h"
#include "map_reader.h"
#include "uprobe_multi.h"

namespace dptrace {
namespace {

// "0, 1, 2" or "0-3" for a sorted list of numbers.
std::string numbers(std::vector<uint16_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  if (v.size() > 2 && v.back() - v.front() + 1u == v.size())
    return std::to_string(v.front()) + "-" + std::to_string(v.back());
  std::string text;
  for (uint16_t n : v) text += (text.empty() ? "" : ", ") + std::to_string(n);
  return text;
}

// "port 0 (queues 0-1), port 1 (queue 0)": the queues of `ports` in one direction.
std::string portsAndQueues(const FastPathState& state, const std::vector<uint16_t>& ports, bool tx) {
  std::string text;
  for (uint16_t port : ports) {
    std::vector<uint16_t> queues;
    for (const FastPathQueue& q : state.queues)
      if (q.port == port && q.tx == tx) queues.push_back(q.queue);
    text += (text.empty() ? "" : ", ") + std::string("port ") + std::to_string(port) + " (queue" +
            (queues.size() == 1 ? " " : "s ") + numbers(queues) + ")";
  }
  return text;
}

uint64_t queueKey(const FastPathQueue& q) { return q.pointer | (q.tx ? 1ull << 63 : 0); }

}  // namespace

bool FastPathAttach::wanted() const {
  return std::any_of(script_.programs.begin(), script_.programs.end(),
                     [](const ProgramInfo& p) { return p.fastPath != FastPath::None; });
}

void FastPathAttach::say(const std::string& type, const std::string& text) {
  out_.notice({type, "dptrace: " + text + "\n", {{"message", Value::str(text)}}});
}

void FastPathAttach::describe(const FastPathState& state, bool first) {
  std::vector<uint16_t> started;
  for (const FastPathQueue& q : state.queues) started.push_back(q.port);
  std::sort(started.begin(), started.end());
  started.erase(std::unique(started.begin(), started.end()), started.end());
  if (first)
    say("dpdk_process", "DPDK " + state.dpdk + ": rte_eth_fp_ops (" + std::to_string(state.portSlots) +
                            " port slots) shows port" + (started.size() == 1 ? " " : "s ") + numbers(started) + " started");
  for (FastPath kind : {FastPath::RxBurst, FastPath::TxBurst}) {
    bool used = std::any_of(script_.programs.begin(), script_.programs.end(),
                            [&](const ProgramInfo& p) { return p.fastPath == kind; });
    if (!used) continue;
    bool tx = kind == FastPath::TxBurst;
    for (const FastPathFunction& f : state.functions)
      if (f.tx == tx)
        say("dpdk_attached", std::string(fastPathFunction(kind)) + " -> " + describeFunction(f) + " for " +
                                 portsAndQueues(state, f.ports, tx));
    if (!first) continue;
    std::vector<std::string> hooked;
    for (const FastPathQueue& q : state.queues)
      if (q.tx == tx && q.callbacks) hooked.push_back("port " + std::to_string(q.port) + " queue " + std::to_string(q.queue));
    std::string where;
    for (const std::string& h : hooked) where += (where.empty() ? "" : ", ") + h;
    say("dpdk_callbacks",
        tx ? std::string("arguments of rte_eth_tx_burst are what the PMD receives, after any TX callbacks "
                         "(rte_eth_add_tx_callback) changed them; ") +
                 (hooked.empty() ? "none are installed" : "installed on " + where)
           : std::string("retval of rte_eth_rx_burst is the PMD's count, before any RX callbacks "
                         "(rte_eth_add_rx_callback) change it; ") +
                 (hooked.empty() ? "none are installed" : "installed on " + where));
  }
}

int FastPathAttach::refresh(bpf_object* obj, pid_t pid, bool waiting, Diagnostics& diags) {
  if (!started_) since_ = std::chrono::steady_clock::now(), started_ = true;
  const ProgramInfo* first = nullptr;
  for (const ProgramInfo& p : script_.programs)
    if (p.fastPath != FastPath::None && !first) first = &p;
  if (!first) return kRunOk;
  std::string error;
  bool early = false;
  FastPathResolver resolver(pid);
  // The probed binary must be the process's program or one of its libraries
  // (-c: the command may not have run its program yet).
  if (!attached_ && !waiting)
    for (const ProgramInfo& p : script_.programs)
      if (p.fastPath != FastPath::None && !resolver.maps(p.binary)) {
        diags.error(p.attach.range, "process " + std::to_string(pid) + " does not map '" + p.attach.target +
                                        "': the probe names another program than the one it runs",
                    "name the process's own binary (ls -l /proc/" + std::to_string(pid) + "/exe) or one of its libraries");
        return kRunScript;
      }
  std::optional<FastPathState> state = resolver.read(error, early);
  // -c: a command that has just started may be between two steps of the
  // dynamic loader (its own copy of rte_eth_fp_ops mapped, librte_ethdev not
  // yet readable): what it is not yet is no verdict for 2 s.
  if (!state && waiting && !attached_ && std::chrono::steady_clock::now() - since_ < std::chrono::seconds(2)) early = true;
  if (!state && waiting && early) {
    if (!waitingSaid_)
      say("dpdk_waiting", std::string("waiting for process ") + std::to_string(pid) + " to load DPDK and start its ports: " +
                              fastPathFunction(first->fastPath) + " probes attach then");
    waitingSaid_ = true;
    return kRunOk;
  }
  if (!state) {
    if (attached_) {  // the process is going away: keep what was counted
      return kRunOk;
    }
    diags.error(first->attach.range, "cannot find where '" + first->attach.function + "' goes in process " +
                                         std::to_string(pid) + ": " + error,
                early ? "-p takes the id of a running DPDK application, e.g. -p $(pidof dpdk-testpmd)" : "");
    return kRunScript;
  }
  // -c: once the command runs DPDK, it must be the probed binary's process too.
  if (waiting && !attached_)
    for (const ProgramInfo& p : script_.programs)
      if (p.fastPath != FastPath::None && !resolver.maps(p.binary)) {
        diags.error(p.attach.range, "the command's process " + std::to_string(pid) + " does not map '" + p.attach.target +
                                        "': the probe names another program than the one it runs",
                    "name the command's own binary or one of its libraries");
        return kRunScript;
      }
  if (state->functions.empty() && attached_) {  // every port stopped: nothing is mapped until one starts again
    int queues = bpf_object__find_map_fd_by_name(obj, script_.queuesMap.c_str());
    if (last_ && queues >= 0)
      for (const FastPathQueue& q : last_->queues) {
        uint64_t key = queueKey(q);
        bpf_map_delete_elem(queues, &key);
      }
    if (last_ && !last_->queues.empty())
      say("dpdk_changed", "process " + std::to_string(pid) + " has no started port now: the probes count again when one starts");
    last_ = state;
    return kRunOk;
  }
  if (state->functions.empty()) {
    if (waiting) {
      if (!waitingSaid_)
        say("dpdk_waiting", "process " + std::to_string(pid) + " has started no DPDK port yet: " +
                                fastPathFunction(first->fastPath) + " probes attach when it does");
      waitingSaid_ = true;
      last_ = state;
      return kRunOk;
    }
    diags.error(first->attach.range,
                "process " + std::to_string(pid) + " has no started DPDK port: every entry of its rte_eth_fp_ops "
                "holds ethdev's dummy burst functions, which no PMD function stands behind",
                "attach after the application called rte_eth_dev_start(), or start it with -c and dptrace waits");
    return kRunScript;
  }
  bool changed = !last_ || last_->queues != state->queues || last_->functions != state->functions;
  // The queue table first (when it changed): a probe that fires right after
  // its attach finds its queue.
  int queues = changed ? bpf_object__find_map_fd_by_name(obj, script_.queuesMap.c_str()) : -1;
  std::set<uint64_t> keys;
  for (const FastPathQueue& q : state->queues) {
    uint64_t key = queueKey(q);
    uint32_t value = static_cast<uint32_t>(q.port) << 16 | q.queue;
    keys.insert(key);
    if (queues >= 0) bpf_map_update_elem(queues, &key, &value, BPF_ANY);
  }
  if (last_ && queues >= 0)
    for (const FastPathQueue& q : last_->queues)
      if (uint64_t key = queueKey(q); !keys.count(key)) bpf_map_delete_elem(queues, &key);
  for (const ProgramInfo& p : script_.programs) {
    if (p.fastPath == FastPath::None) continue;
    bpf_program* prog = bpf_object__find_program_by_name(obj, p.function.c_str());
    if (!prog) continue;
    bool ret = p.attach.kind == ProbeKind::Uretprobe && !p.savesArguments;
    for (const FastPathFunction& f : state->functions) {
      if (f.tx != (p.fastPath == FastPath::TxBurst) || links.count({p.function, f.address})) continue;
      if (BreakpointHazard hazard = breakpointHazard(f.attachPath, f.fileOffset)) {
        diags.error(p.attach.range, "cannot attach '" + p.attach.raw + "' to " + describeFunction(f) + " in process " +
                                        std::to_string(pid) + ": " + hazard.reason);
        return kRunScript;
      }
      int fd = createUprobeMultiLink(bpf_program__fd(prog), f.attachPath, f.fileOffset, ret, pid);
      if (fd < 0) {
        diags.error(p.attach.range, "cannot attach '" + p.attach.raw + "' to " + describeFunction(f) + " in process " +
                                        std::to_string(pid) + ": " + std::strerror(-fd));
        return kRunScript;
      }
      links_.addFd(fd);
      links.insert({p.function, f.address});
    }
  }
  if (changed) {
    if (waiting && !attached_) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since_).count();
      say("dpdk_started", "process " + std::to_string(pid) + " started its DPDK ports (seen " + std::to_string(ms) +
                              " ms after it was started): attaching");
    }
    if (last_ && attached_) say("dpdk_changed", "process " + std::to_string(pid) + " changed its ports or queues; rte_eth_fp_ops read again");
    describe(*state, !attached_);
  }
  attached_ = true;
  last_ = std::move(state);
  return kRunOk;
}

void FastPathAttach::finish(bpf_object* obj, pid_t pid) {
  if (!wanted()) return;
  if (!attached_)
    say("dpdk_never_attached", "process " + std::to_string(pid) + " started no DPDK port while dptrace ran: "
                               "the burst probes never attached");
  int skipped = bpf_object__find_map_fd_by_name(obj, script_.skippedMap.c_str());
  if (skipped < 0) return;
  if (uint64_t n = readCounter(MapAccess::kernel(skipped), 0))
    say("dpdk_unmapped_queue", std::to_string(n) + " burst call" + (n == 1 ? "" : "s") +
                                   " on a queue dptrace had not mapped yet (started or reconfigured since its last read "
                                   "of rte_eth_fp_ops) skipped");
}

}  // namespace dptrace

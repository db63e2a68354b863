// The AF_XDP part of a run: the host code and user-space maps of the afxdp
// bodies, one socket per served rx queue, the loop step the run's epoll loop
// calls when a socket is readable, and the counters (every 2 s with -v, and
// at exit). With --pcap: the body of the block that took a replayed frame.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "afxdp.h"
#include "afxdp_host.h"
#include "diagnostics.h"
#include "output/output.h"
#include "program_info.h"
#include "runner.h"

struct bpf_object;

namespace dptrace {

class AfxdpRun {
public:
  bool active() const { return !ports_.empty(); }

  // Loads the host code and makes the user-space maps. Returns 0 or an exit status.
  int load(const CompiledScript& script, const RunOptions& options, EventSink sink, uint64_t startNs,
           Diagnostics& diags);
  // After the XDP programs are attached: a socket per served queue, in the
  // programs' XSKMAPs. Returns 0 or an exit status.
  int openSockets(bpf_object* obj, Output& out);

  std::vector<int> fds() const;
  // Runs the bodies on what the sockets received, `beforeBatch` before
  // each batch (the run drains the ring buffer there, so that what kernel
  // blocks printed for a frame comes before what its body prints), for at
  // most about 10 ms; true when more is waiting.
  bool service(const std::function<void()>& beforeBatch);
  // -v: the counters every 2 s.
  void tick(Output& out);
  // At exit, after the XDP programs were detached: what is still queued is
  // handled, what stays in flight is counted, and the counters print.
  void finish(Output& out);

  // --pcap: runs body `index` on the frame in `buffer` (its bytes at
  // [data, data + length), room before them for vlan_push); returns the
  // verdict and leaves the frame in data/length.
  int runOnFrame(size_t index, uint32_t ifindex, uint8_t* buffer, size_t& data, size_t& length);

  UserMap* map(size_t index) const { return host_ ? host_->map(index) : nullptr; }
  uint64_t refused(size_t mapIndex);
  uint64_t lost();
  uint64_t loopsCut();  // loops left at the per-frame cap

  // --metrics: each socket's counters and the kernel's XDP_STATISTICS of it,
  // by the names the AF_XDP report gives them (rx_packets, rx_dropped, ...).
  struct SocketCounters {
    std::string interface;
    uint32_t queue = 0;
    std::vector<std::pair<const char*, uint64_t>> values;
  };
  std::vector<SocketCounters> socketCounters() const;

private:
  void report(Output& out, bool final);

  const CompiledScript* script_ = nullptr;
  const RunOptions* options_ = nullptr;
  Diagnostics* diags_ = nullptr;
  std::unique_ptr<AfxdpHost> host_;
  struct Port {
    std::unique_ptr<AfxdpSocket> socket;
    BodyFunction body;
    AfxdpCounters last;  // at the last report
    uint64_t inFlight = 0;
  };
  std::vector<Port> ports_;
  std::chrono::steady_clock::time_point started_, lastReport_;
};

}  // namespace dptrace

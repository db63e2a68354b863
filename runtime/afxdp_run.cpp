#include "afxdp_run.h"

#include <algorithm>

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cstdio>
#include <cstring>
#include <thread>

#include "interfaces.h"

namespace dptrace {
namespace {

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

int AfxdpRun::load(const CompiledScript& script, const RunOptions& options, EventSink sink, uint64_t startNs,
                   Diagnostics& diags) {
  script_ = &script;
  options_ = &options;
  diags_ = &diags;
  if (script.afxdp.empty()) return kRunOk;
  host_ = std::make_unique<AfxdpHost>();
  std::string error;
  if (!host_->load(script, options.mapSize, sink, startNs, error)) {
    diags.errorUnlocated("cannot load the host code of the afxdp bodies: " + error, "");
    return kRunSystem;
  }
  return kRunOk;
}

int AfxdpRun::openSockets(bpf_object* obj, Output& out) {
  if (!host_ || options_->pcap) return kRunOk;
  for (size_t i = 0; i < script_->afxdp.size(); ++i) {
    const AfxdpBody& b = script_->afxdp[i];
    std::string program = xdpProgramName(b.interface);
    std::string xskMap;
    for (const ProgramInfo& p : script_->programs)
      if (p.function == program) xskMap = p.xskMap;
    bpf_map* map = xskMap.empty() ? nullptr : bpf_object__find_map_by_name(obj, xskMap.c_str());
    if (!map) {
      diags_->error(b.attach.range, "internal error: no XSKMAP for '" + b.attach.raw + "'");
      return kRunSystem;
    }
    auto index = options_->interfaces.find(b.interface);
    if (index == options_->interfaces.end()) {
      diags_->error(b.attach.range, "internal error: interface '" + b.interface + "' was not resolved");
      return kRunSystem;
    }
    uint32_t queues = std::max<uint32_t>(1, rxQueueCount(b.interface));
    if (b.queue >= static_cast<int64_t>(queues)) {
      diags_->error(b.attach.range, b.interface + " has no rx queue " + std::to_string(b.queue) + ": it has " +
                                        std::to_string(queues) + " (0 to " + std::to_string(queues - 1) + ")",
                    "name one of its queues, or leave the queue out: afxdp:" + b.interface);
      return kRunScript;
    }
    for (uint32_t q = 0; q < queues; ++q) {
      if (b.queue >= 0 && q != static_cast<uint32_t>(b.queue)) continue;
      auto socket = std::make_unique<AfxdpSocket>();
      std::string error, hint;
      int e = 0;
      if (!socket->open(b.interface, index->second, q, bpf_map__fd(map), options_->afxdp, error, hint, e)) {
        diags_->error(b.attach.range, error, hint);
        return e == EPERM ? kRunSystem : kRunScript;
      }
      if (options_->verbose)
        out.notice({"attached", "dptrace: AF_XDP socket on " + b.interface + " queue " + std::to_string(q) + " (" +
                                    (options_->afxdp.zerocopy ? "zero-copy" : "copy") + " mode, " +
                                    std::to_string(options_->afxdp.frames) + " frames, batch " +
                                    std::to_string(options_->afxdp.batch) + ")\n",
                    {{"interface", Value::str(b.interface)}, {"queue", Value::uint(q)},
                     {"mode", Value::str(options_->afxdp.zerocopy ? "zero-copy" : "copy")}}});
      ports_.push_back({std::move(socket), host_->body(i), {}, 0});
    }
  }
  started_ = lastReport_ = std::chrono::steady_clock::now();  // rates from when the sockets serve
  return kRunOk;
}

std::vector<int> AfxdpRun::fds() const {
  std::vector<int> fds;
  for (const Port& p : ports_) fds.push_back(p.socket->fd());
  return fds;
}

bool AfxdpRun::service(const std::function<void()>& beforeBatch) {
  // A few batches per socket, then back to the loop (signals, timers); it
  // comes straight back while frames keep arriving. A turn also ends after
  // ~10 ms, so that slow bodies do not keep a signal waiting.
  constexpr int kBatchesPerTurn = 16;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(10);
  bool more = false;
  for (Port& p : ports_) {
    int turns = 0;
    for (;;) {
      beforeBatch();
      if (p.socket->step(p.body) != options_->afxdp.batch) break;
      if (++turns == kBatchesPerTurn || std::chrono::steady_clock::now() > deadline) {
        more = true;
        break;
      }
    }
    // Frames sent but not yet completed need the loop to come back for them.
    more |= p.socket->counters().txPackets > p.socket->counters().completed;
  }
  return more;
}

void AfxdpRun::tick(Output& out) {
  if (ports_.empty() || !options_->verbose) return;
  auto now = std::chrono::steady_clock::now();
  if (now - lastReport_ < std::chrono::seconds(2)) return;
  report(out, false);
  lastReport_ = now;
}

void AfxdpRun::finish(Output& out) {
  if (ports_.empty()) return;
  // The programs are detached: nothing new arrives. Handle what the rx rings
  // still hold (for at most 100 ms: slow bodies must not delay a Ctrl-C),
  // give the kernel a moment to complete what was sent, and count what
  // stays in flight.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
  for (int round = 0; round < 64 && std::chrono::steady_clock::now() < deadline; ++round) {
    bool any = false;
    for (Port& p : ports_) any |= p.socket->step(p.body) > 0;
    if (!any) break;
  }
  for (int wait = 0; wait < 20; ++wait) {
    uint64_t inFlight = 0;
    for (Port& p : ports_) inFlight += p.inFlight = p.socket->inFlight();
    if (inFlight == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  report(out, true);
}

// As the AF_XDP tutorial's stats_print: totals since the start, rates over
// the period since the last report (the whole run at exit). Every count is
// a total, XDP_STATISTICS included, so periodic lines never double-count.
std::vector<AfxdpRun::SocketCounters> AfxdpRun::socketCounters() const {
  std::vector<SocketCounters> all;
  for (const Port& p : ports_) {
    const AfxdpCounters& c = p.socket->counters();
    xdp_statistics s = p.socket->statistics();
    all.push_back({p.socket->interface(), p.socket->queue(),
                   {{"rx_packets", c.rxPackets}, {"rx_bytes", c.rxBytes}, {"tx_packets", c.txPackets},
                    {"tx_bytes", c.txBytes}, {"body_dropped", c.dropped}, {"tx_ring_full", c.txRingFull},
                    {"rx_dropped", s.rx_dropped}, {"rx_ring_full", s.rx_ring_full},
                    {"fill_ring_empty", s.rx_fill_ring_empty_descs}, {"rx_invalid", s.rx_invalid_descs},
                    {"tx_invalid", s.tx_invalid_descs}}});
  }
  return all;
}

void AfxdpRun::report(Output& out, bool final) {
  auto now = std::chrono::steady_clock::now();
  for (Port& p : ports_) {
    const AfxdpCounters& c = p.socket->counters();
    AfxdpCounters base = final ? AfxdpCounters{} : p.last;
    double period = std::chrono::duration<double>(now - (final ? started_ : lastReport_)).count();
    if (period <= 0) period = 1e-9;
    double rxPps = (c.rxPackets - base.rxPackets) / period, txPps = (c.txPackets - base.txPackets) / period;
    double rxMbits = (c.rxBytes - base.rxBytes) * 8 / period / 1e6, txMbits = (c.txBytes - base.txBytes) * 8 / period / 1e6;
    xdp_statistics s = p.socket->statistics();
    auto line = [&](const char* head, uint64_t pkts, double pps, uint64_t bytes, double mbits) {
      return std::string(head) + std::to_string(pkts) + " pkts (" + fixed(pps, 0) + " pps) " +
             std::to_string(bytes / 1000) + " Kbytes (" + fixed(mbits, 0) + " Mbits/s) period:" + fixed(period, 6);
    };
    std::string where = p.socket->interface() + " queue " + std::to_string(p.socket->queue());
    std::string text = line("AF_XDP RX: ", c.rxPackets, rxPps, c.rxBytes, rxMbits) + "  [" + where +
                       (final ? ", at exit]" : "]") + "\n" + line("       TX: ", c.txPackets, txPps, c.txBytes, txMbits) +
                       "\n" + "       dropped by the body " + std::to_string(c.dropped) + ", tx ring full " +
                       std::to_string(c.txRingFull) +
                       (final ? ", in flight at exit " + std::to_string(p.inFlight) : "") +
                       "; XDP_STATISTICS: rx dropped " + std::to_string(s.rx_dropped) + ", rx ring full " +
                       std::to_string(s.rx_ring_full) + ", fill ring empty " + std::to_string(s.rx_fill_ring_empty_descs) +
                       ", rx invalid " + std::to_string(s.rx_invalid_descs) + ", tx invalid " +
                       std::to_string(s.tx_invalid_descs) + ", tx ring empty " + std::to_string(s.tx_ring_empty_descs) + "\n";
    out.notice({"afxdp_stats", text,
                {{"interface", Value::str(p.socket->interface())},
                 {"queue", Value::uint(p.socket->queue())},
                 {"final", Value::uint(final ? 1 : 0)},
                 {"period_us", Value::uint(static_cast<uint64_t>(period * 1e6))},
                 {"rx_packets", Value::uint(c.rxPackets)},
                 {"rx_bytes", Value::uint(c.rxBytes)},
                 {"rx_pps", Value::uint(static_cast<uint64_t>(rxPps))},
                 {"tx_packets", Value::uint(c.txPackets)},
                 {"tx_bytes", Value::uint(c.txBytes)},
                 {"tx_pps", Value::uint(static_cast<uint64_t>(txPps))},
                 {"body_dropped", Value::uint(c.dropped)},
                 {"tx_ring_full", Value::uint(c.txRingFull)},
                 {"rx_dropped", Value::uint(s.rx_dropped)},
                 {"rx_ring_full", Value::uint(s.rx_ring_full)},
                 {"fill_ring_empty", Value::uint(s.rx_fill_ring_empty_descs)},
                 {"rx_invalid", Value::uint(s.rx_invalid_descs)},
                 {"tx_invalid", Value::uint(s.tx_invalid_descs)},
                 {"tx_ring_empty", Value::uint(s.tx_ring_empty_descs)},
                 {"in_flight", Value::uint(final ? p.inFlight : 0)}}});
    p.last = c;
  }
}

int AfxdpRun::runOnFrame(size_t index, uint32_t ifindex, uint8_t* buffer, size_t& data, size_t& length) {
  HostPacket p{buffer + data, buffer + data + length, buffer, ifindex, 0};
  int verdict = host_->body(index)(&p);
  data = static_cast<size_t>(p.data - buffer);
  length = static_cast<size_t>(p.dataEnd - p.data);
  return verdict;
}

namespace {

// The u64 counter at `index` of a user-space array map.
uint64_t counterAt(UserMap& counters, uint32_t index) {
  uint64_t n = 0;
  if (const void* v = counters.lookup(&index)) std::memcpy(&n, v, 8);
  return n;
}

}  // namespace

uint64_t AfxdpRun::refused(size_t mapIndex) {
  return host_ ? counterAt(host_->refused(), static_cast<uint32_t>(mapIndex)) : 0;
}

uint64_t AfxdpRun::loopsCut() { return host_ ? counterAt(host_->loopCap(), 0) : 0; }

uint64_t AfxdpRun::lost() { return host_ ? counterAt(host_->lost(), 0) : 0; }

}  // namespace dptrace

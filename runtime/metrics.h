// --metrics [ADDR:]PORT: every map served over HTTP in the Prometheus text
// exposition format (0.0.4), read from the maps at scrape time by the run
// loop's own thread (libmicrohttpd driven from the loop's epoll set, no
// thread of its own), so that no map is read while the loop writes it.
//
// One metric family per map, "dptrace_" + its name ("dptrace_at" for @):
//   count()            counter dptrace_NAME_total (a gauge dptrace_NAME when
//                      the script clear()s or zero()s the map: a counter never
//                      goes down)
//   sum()              the same, and a gauge too when its argument is signed
//   min() max() avg()  gauge (avg: the average, rounded toward zero)
//   plain values       gauge; a value that is no number (a string, an address)
//                      is a label value="..." on a sample of 1
//   stats()            summary: _count and _sum
//   hist() lhist()     histogram: cumulative _bucket{le=...} where le is the
//                      bucket's largest integer (hi - 1 for [lo, hi)), +Inf,
//                      and _count; no _sum (the maps keep none)
// Keys are labels: key for one, key0, key1, ... for several, as their text.
// Also dptrace_lost_events_total and dptrace_map_update_failures_total{map},
// and the AF_XDP sockets' counters (dptrace_afxdp_*_total{interface,queue}).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "output/value.h"
#include "program_info.h"

namespace dptrace {

// "9100" (127.0.0.1), "0.0.0.0:9100", "[::1]:9100", "localhost:9100";
// nullopt with `error` for anything else.
struct MetricsAddress {
  std::string host;
  uint16_t port = 0;
};
std::optional<MetricsAddress> parseMetricsAddress(const std::string& text, std::string& error);

struct MetricsSource {
  const MapLayout* layout;
  MapSnapshot snapshot;
};

// A counter family of samples with labels (name -> value, escaped here).
struct CounterFamily {
  std::string name, help;
  std::vector<std::pair<std::vector<std::pair<std::string, std::string>>, uint64_t>> samples;
};

// Why these maps cannot be served side by side: two of them, or one and one
// of dptrace's own families, would write the same metric name (@x_total and
// a count() @x; a map named @lost_events); nullopt when they can.
std::optional<std::string> metricsNameClash(const std::vector<MapLayout>& maps);

// The exposition text of these maps and counters.
std::string renderMetrics(const std::vector<MetricsSource>& maps, uint64_t lostEvents,
                          const std::vector<std::pair<std::string, uint64_t>>& refusedUpdates,
                          const std::vector<CounterFamily>& more = {});

// The HTTP server: libmicrohttpd's, in libdptrace_net.so (net_module.h),
// made by makeMetricsServer().
class MetricsServer {
public:
  using Render = std::function<std::string()>;
  virtual ~MetricsServer() = default;

  // Binds and listens (a port in use is an error with its reason).
  virtual bool start(const MetricsAddress& address, Render render, std::string& error) = 0;
  virtual int epollFd() const = 0;  // readable when a connection has something to do
  virtual void run() = 0;           // serves what is ready, never blocks
  virtual const std::string& where() const = 0;
};

// A new server, or null with `error` when libdptrace_net.so cannot be loaded.
std::unique_ptr<MetricsServer> makeMetricsServer(std::string& error);

}  // namespace dptrace

// --export URL: the run's JSON lines (the -f json output, whatever -f says
// for the local output) POSTed to a collector as newline-delimited JSON, in
// batches, by the run loop's own thread (libcurl's multi interface driven from
// the loop's epoll set).
//
// A batch leaves when it holds --export-batch records or when its oldest
// record has waited --export-interval ms, one at a time, so that records
// arrive in order. Its body opens with a line
//   {"type": "batch", "data": {"sequence": N, "records": M, "dropped": D, "run": "HOST:PID:START"}}
// (D: records dropped before it, all told) and carries the same N in the
// header X-Dptrace-Sequence and the run in X-Dptrace-Run, so that a collector
// can drop a batch it stored already when a retry follows a lost reply.
//
// A failed POST (no connection, a timeout, 5xx, 408, 429) is sent again, the
// same batch with the same sequence number, after a backoff that doubles from
// 100 ms to 5 s with jitter (at least Retry-After when the collector gives
// one). Records wait in a queue of --export-queue; a full queue drops its
// oldest (and at 256 MiB of records). A batch the collector refuses (another
// 4xx, or a redirect) is not sent again: its records count as dropped. At exit
// the queue is sent for at most 5 s (a second Ctrl-C stops that); what remains
// counts as dropped, and a batch still unanswered as unconfirmed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "output.h"

namespace dptrace {

struct ExportConfig {
  std::string url;
  uint32_t batch = 1000;       // records per batch at most
  uint32_t intervalMs = 1000;  // a record waits this long at most before its batch leaves
  uint64_t queue = 100000;     // records waiting at most (the batch in flight aside)
  std::vector<std::string> headers;  // "Name: value", sent with every batch (--export-header)
};

// An --export URL as far as it can be checked without the network: http or
// https, a host, a port that is not 0. `shown` masks its password.
struct ExportUrl {
  bool https = false;
  std::string host, shown;
};
// (libcurl's URL parser, in libdptrace_net.so).
std::optional<ExportUrl> parseExportUrl(const std::string& text, std::string& error);
// Why an --export-header cannot be sent: not NAME: VALUE, on more than one
// line, no value, or a header dptrace writes itself; nullopt when it can.
std::optional<std::string> exportHeaderProblem(const std::string& header);
// The URL as written, what stands for a password masked ("user:***@").
std::string maskedUrl(const std::string& text);

// What became of the records.
struct ExportCounts {
  uint64_t records = 0;   // given to the exporter
  uint64_t sent = 0;      // in batches the collector answered 2xx
  uint64_t batches = 0;   // those batches
  uint64_t retried = 0;   // of those sent, records whose batch needed more than one POST
  uint64_t failures = 0;  // POSTs that failed (refused or to be tried again)
  uint64_t dropped = 0;   // queue full, refused by the collector, or unsent at exit
  uint64_t unconfirmed = 0;  // in a POST still unanswered when the exit flush ran out of time
};

// The exporter: libcurl's, in libdptrace_net.so (net_module.h), made by
// makeExporter().
class Exporter {
public:
  virtual ~Exporter() = default;

  // Checks the URL (http or https, a host that resolves) and readies libcurl.
  virtual bool start(const ExportConfig& config, std::string& error) = 0;
  virtual bool running() const = 0;

  // JSON lines written here are queued, one record per line.
  virtual std::ostream& stream() = 0;

  virtual int epollFd() const = 0;  // readable when a connection has something to do
  // Serves the connections that are ready, curl's timers, and starts the
  // next batch when one is due. Never blocks.
  virtual void run() = 0;
  // At exit: sends what waits for at most `limit` (stops early when SIGINT or
  // SIGTERM is pending), then counts what is left as dropped. Hands `tell`
  // what it has to say as it goes: why the exit waits (when the collector
  // fails or the flush takes a while), before it waits on.
  virtual void finish(std::chrono::milliseconds limit, const std::function<void(const std::vector<Notice>&)>& tell) = 0;
  // What became of every record, as a notice "export".
  virtual Notice report() const = 0;

  // What the run should say: the collector lost or back, records dropped.
  virtual std::vector<Notice> takeNotices() = 0;
  virtual const ExportCounts& counts() const = 0;
  virtual const std::string& url() const = 0;  // its password masked
  virtual uint64_t waiting() const = 0;        // records queued or in flight
  virtual bool failing() const = 0;
  // The records the run loop drains between two visits: a batch (256 at
  // least: a round per record costs more than it gives), no more than the
  // queue holds.
  virtual uint64_t drainBudget() const = 0;
};

// A new exporter, or null with `error` when libdptrace_net.so cannot be loaded.
std::unique_ptr<Exporter> makeExporter(std::string& error);

}  // namespace dptrace

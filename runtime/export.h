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

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <set>
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

class Exporter {
public:
  Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;
  ~Exporter();

  // Checks the URL (http or https, a host that resolves) and readies libcurl.
  bool start(const ExportConfig& config, std::string& error);
  bool running() const { return multi_ != nullptr; }

  // JSON lines written here are queued, one record per line.
  std::ostream& stream() { return stream_; }

  int epollFd() const { return epollFd_; }  // readable when a connection has something to do
  // Serves the connections that are ready, curl's timers, and starts the
  // next batch when one is due. Never blocks.
  void run();
  // At exit: sends what waits for at most `limit` (stops early when SIGINT or
  // SIGTERM is pending), then counts what is left as dropped. Hands `tell`
  // what it has to say as it goes: why the exit waits (when the collector
  // fails or the flush takes a while), before it waits on.
  void finish(std::chrono::milliseconds limit, const std::function<void(const std::vector<Notice>&)>& tell);
  // What became of every record, as a notice "export".
  Notice report() const;

  // What the run should say: the collector lost or back, records dropped.
  std::vector<Notice> takeNotices();
  const ExportCounts& counts() const { return counts_; }
  const std::string& url() const { return shownUrl_; }  // its password masked
  uint64_t waiting() const { return waiting_.size() + (inFlight_ ? inFlight_->records : 0); }
  bool failing() const { return down_; }
  // The records the run loop drains between two visits: a batch (256 at
  // least: a round per record costs more than it gives), no more than the
  // queue holds.
  uint64_t drainBudget() const {
    return std::max<uint64_t>(1, std::min<uint64_t>(config_.queue, std::max<uint64_t>(config_.batch, 256)));
  }

private:
  using Clock = std::chrono::steady_clock;
  struct Waiting {
    Clock::time_point since;
    std::string line;
  };
  struct Batch {
    uint64_t sequence = 0;
    uint64_t records = 0;
    unsigned attempts = 0;  // failed so far
    bool maybeDelivered = false;  // a failed POST of it went out: the collector may have it
    std::string body;
  };
  class LineBuffer : public std::streambuf {
  public:
    explicit LineBuffer(Exporter& owner) : owner_(owner) {}
  protected:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
  private:
    Exporter& owner_;
    std::string line_;
  };

  void add(std::string line);
  bool due(Clock::time_point now) const;
  void send();
  void completed(int curlCode, long status, long retryAfter);
  void onSocket(int fd, int what);
  void drive(int fd, int flags);
  // The sockets curl waits on that are ready (waiting at most timeoutMs),
  // then curl's timer if it is due.
  void serve(int timeoutMs);
  void say(const std::string& type, const std::string& text, std::vector<std::pair<std::string, Value>> data);
  static int socketCallback(void* easy, int fd, int what, void* self, void* socketData);
  static int timerCallback(void* multi, long ms, void* self);

  ExportConfig config_;
  void* multi_ = nullptr;  // CURLM
  void* easy_ = nullptr;   // CURL, reused: its connection stays open between batches
  void* headers_ = nullptr;  // curl_slist: the headers every batch carries
  void* requestHeaders_ = nullptr;  // curl_slist: those and the batch's sequence number
  int epollFd_ = -1;
  std::map<int, uint32_t> sockets_;  // registered in epollFd_, with their events
  std::optional<Clock::time_point> curlTimer_;
  std::deque<Waiting> waiting_;
  // When the loop last ran the exporter: the time of the records that come
  // until the next round (one clock read a round, not one a record).
  Clock::time_point roundStart_{};
  std::optional<Batch> inFlight_;  // sent or waiting to be sent again
  bool posting_ = false;           // inFlight_ is with curl now
  Clock::time_point retryAt_{};
  uint64_t nextSequence_ = 1;
  std::string runId_;
  std::string curlError_;
  std::string answer_;    // the start of the collector's last answer
  std::string shownUrl_;  // the URL, its password masked
  bool down_ = false;       // the last POST failed
  bool dropping_ = false;   // the queue is dropping its oldest
  std::set<long> refusalsSaid_;  // HTTP statuses of refusals said so far
  uint64_t waitingBytes_ = 0;  // the lines of waiting_
  ExportCounts counts_;
  std::vector<Notice> notices_;
  std::minstd_rand jitter_;
  LineBuffer buffer_;
  std::ostream stream_;
};

}  // namespace dptrace

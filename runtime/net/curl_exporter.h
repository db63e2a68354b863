// The exporter of export.h on libcurl's multi interface: the part of
// --export that links libcurl, built into libdptrace_net.so (net_module.h).
#pragma once

#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <set>

#include "export.h"

namespace dptrace {

// parseExportUrl(), with libcurl's URL parser.
std::optional<ExportUrl> parseExportUrlWithCurl(const std::string& text, std::string& error);

class CurlExporter final : public Exporter {
public:
  CurlExporter();
  CurlExporter(const CurlExporter&) = delete;
  CurlExporter& operator=(const CurlExporter&) = delete;
  ~CurlExporter() override;

  bool start(const ExportConfig& config, std::string& error) override;
  bool running() const override { return multi_ != nullptr; }
  std::ostream& stream() override { return stream_; }
  int epollFd() const override { return epollFd_; }
  void run() override;
  void finish(std::chrono::milliseconds limit, const std::function<void(const std::vector<Notice>&)>& tell) override;
  Notice report() const override;
  std::vector<Notice> takeNotices() override;
  const ExportCounts& counts() const override { return counts_; }
  const std::string& url() const override { return shownUrl_; }
  uint64_t waiting() const override { return waiting_.size() + (inFlight_ ? inFlight_->records : 0); }
  bool failing() const override { return down_; }
  uint64_t drainBudget() const override {
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
    explicit LineBuffer(CurlExporter& owner) : owner_(owner) {}
  protected:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
  private:
    CurlExporter& owner_;
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

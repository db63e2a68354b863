#include "curl_exporter.h"

#include <curl/curl.h>
#include <netdb.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace dptrace {
namespace {

using namespace std::chrono_literals;

constexpr auto kBackoffFirst = 100ms, kBackoffMost = 5000ms, kRetryAfterMost = 60000ms;
constexpr long kConnectTimeoutMs = 5000, kRequestTimeoutMs = 10000;
constexpr auto kFlushSlow = 250ms;  // an exit flush that takes longer says so
constexpr uint64_t kQueueBytes = 256ull << 20;  // the queue's bound in bytes, beside --export-queue's in records
constexpr uint64_t kRecordOverhead = 64;        // a queued record's own memory beside its text (deque slot, heap block)

// The part of a URL libcurl finds there, or nullopt.
std::optional<std::string> urlPart(CURLU* url, CURLUPart part) {
  char* text = nullptr;
  if (curl_url_get(url, part, &text, 0) != CURLUE_OK || !text) return std::nullopt;
  std::string s = text;
  curl_free(text);
  return s;
}

bool proxied() {
  for (const char* name : {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"})
    if (const char* v = std::getenv(name); v && *v) return true;
  return false;
}

// The start of the collector's answer, for a message when it refuses a batch.
size_t keepStart(char* data, size_t size, size_t n, void* into) {
  auto* answer = static_cast<std::string*>(into);
  size_t room = answer->size() < 200 ? 200 - answer->size() : 0;
  answer->append(data, std::min(room, size * n));
  return size * n;
}

}  // namespace

CurlExporter::CurlExporter() : jitter_(std::random_device{}()), buffer_(*this), stream_(&buffer_) {}

CurlExporter::~CurlExporter() {
  if (multi_ && easy_) curl_multi_remove_handle(multi_, easy_);
  if (easy_) curl_easy_cleanup(easy_);
  if (multi_) curl_multi_cleanup(multi_);
  if (headers_) curl_slist_free_all(static_cast<curl_slist*>(headers_));
  if (requestHeaders_) curl_slist_free_all(static_cast<curl_slist*>(requestHeaders_));
  if (epollFd_ >= 0) close(epollFd_);
}

std::optional<ExportUrl> parseExportUrlWithCurl(const std::string& written, std::string& error) {
  const std::string& text = written;
  std::string shown = maskedUrl(written);
  if (text.find("://") == std::string::npos) {
    error = "--export: '" + shown + "' is not a URL: it starts with http:// or https://";
    return std::nullopt;
  }
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url(curl_url(), curl_url_cleanup);
  if (!url) {
    error = "--export: libcurl cannot start";
    return std::nullopt;
  }
  if (CURLUcode e = curl_url_set(url.get(), CURLUPART_URL, text.c_str(), 0); e != CURLUE_OK) {
    error = "--export: '" + shown + "' is not a URL (" + curl_url_strerror(e) + ")";
    return std::nullopt;
  }
  std::optional<std::string> scheme = urlPart(url.get(), CURLUPART_SCHEME);
  std::optional<std::string> host = urlPart(url.get(), CURLUPART_HOST);
  if (!scheme || (*scheme != "http" && *scheme != "https")) {
    error = "--export: '" + shown + "' is not an http:// or https:// URL";
    return std::nullopt;
  }
  if (!host || host->empty()) {
    error = "--export: '" + shown + "' names no host";
    return std::nullopt;
  }
  if (urlPart(url.get(), CURLUPART_PORT) == "0") {
    error = "--export: '" + shown + "' names port 0";
    return std::nullopt;
  }
  ExportUrl parsed;
  parsed.https = *scheme == "https";
  parsed.host = host->size() > 2 && host->front() == '[' ? host->substr(1, host->size() - 2) : *host;
  parsed.shown = text;
  if (urlPart(url.get(), CURLUPART_PASSWORD)) {  // messages and records show it masked
    curl_url_set(url.get(), CURLUPART_PASSWORD, "***", 0);
    parsed.shown = urlPart(url.get(), CURLUPART_URL).value_or("(the --export URL)");
  }
  return parsed;
}

bool CurlExporter::start(const ExportConfig& config, std::string& error) {
  config_ = config;
  std::optional<ExportUrl> url = parseExportUrlWithCurl(config.url, error);
  if (!url) return false;
  shownUrl_ = url->shown;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    error = "--export: libcurl cannot start";
    return false;
  }
  if (url->https && !(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_SSL)) {
    error = "--export: this libcurl has no TLS for https://";
    return false;
  }
  // A host that does not resolve now is a typo, not a collector that is down
  // (through a proxy, the proxy resolves it).
  if (!proxied()) {
    const std::string& name = url->host;
    addrinfo hints{}, *found = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (int e = getaddrinfo(name.c_str(), nullptr, &hints, &found)) {
      error = "--export: cannot resolve '" + name + "': " + gai_strerror(e);
      return false;
    }
    freeaddrinfo(found);
  }
  roundStart_ = Clock::now();
  epollFd_ = epoll_create1(EPOLL_CLOEXEC);
  multi_ = curl_multi_init();
  easy_ = curl_easy_init();
  if (epollFd_ < 0 || !multi_ || !easy_) {
    error = "--export: cannot start libcurl";
    return false;
  }
  char node[256] = "";
  gethostname(node, sizeof node - 1);
  runId_ = std::string(node) + ":" + std::to_string(getpid()) + ":" +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count());
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlExporter::socketCallback);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlExporter::timerCallback);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/x-ndjson");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip before each body
  headers = curl_slist_append(headers, ("X-Dptrace-Run: " + runId_).c_str());
  for (const std::string& h : config.headers) headers = curl_slist_append(headers, h.c_str());
  headers_ = headers;
  // libcurl reads no environment for its CA certificates (the curl tool does): as the tool does.
  for (const char* name : {"CURL_CA_BUNDLE", "SSL_CERT_FILE"})
    if (const char* file = std::getenv(name); file && *file) {
      curl_easy_setopt(easy_, CURLOPT_CAINFO, file);
      break;
    }
  if (const char* dir = std::getenv("SSL_CERT_DIR"); dir && *dir) curl_easy_setopt(easy_, CURLOPT_CAPATH, dir);
  curlError_.assign(CURL_ERROR_SIZE, '\0');
  curl_easy_setopt(easy_, CURLOPT_URL, config.url.c_str());
  curl_easy_setopt(easy_, CURLOPT_POST, 1L);
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, kRequestTimeoutMs);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &keepStart);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &answer_);
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, curlError_.data());
  curl_easy_setopt(easy_, CURLOPT_USERAGENT, "dptrace");
  return true;
}

CurlExporter::LineBuffer::int_type CurlExporter::LineBuffer::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  char ch = traits_type::to_char_type(c);
  xsputn(&ch, 1);
  return c;
}

std::streamsize CurlExporter::LineBuffer::xsputn(const char* s, std::streamsize n) {
  const char* end = s + n;
  while (s < end) {
    const char* newline = static_cast<const char*>(std::memchr(s, '\n', static_cast<size_t>(end - s)));
    if (!newline) {
      line_.append(s, end);
      break;
    }
    line_.append(s, newline);
    owner_.add(std::string(line_));  // a copy of its own size (a grown string keeps up to twice); line_ is reused
    line_.clear();
    s = newline + 1;
  }
  return n;
}

void CurlExporter::add(std::string line) {
  if (!multi_) return;
  ++counts_.records;
  waitingBytes_ += line.size() + kRecordOverhead;
  waiting_.push_back({roundStart_, std::move(line)});
  while (waiting_.size() > config_.queue || (waitingBytes_ > kQueueBytes && waiting_.size() > 1)) {
    waitingBytes_ -= waiting_.front().line.size() + kRecordOverhead;
    waiting_.pop_front();
    ++counts_.dropped;
    if (!dropping_)
      say("export_dropping",
          "export: the queue is full (" + plural(config_.queue, "record") + " or " + std::to_string(kQueueBytes >> 20) +
              " MiB): dropping the oldest while " + (down_ ? "the collector fails" : "records come faster than batches leave") +
              " (raise --export-queue)",
          {{"queue", Value::uint(config_.queue)}, {"bytes", Value::uint(kQueueBytes)}});
    dropping_ = true;
  }
}

bool CurlExporter::due(Clock::time_point now) const {
  if (posting_) return false;
  if (inFlight_) return now >= retryAt_;
  if (waiting_.empty()) return false;
  // Full, or a full queue (which drops from its front, keeping its oldest young), or waited long enough.
  return waiting_.size() >= std::min<uint64_t>(config_.batch, config_.queue) || dropping_ ||
         now - waiting_.front().since >= std::chrono::milliseconds(config_.intervalMs);
}

// Starts the batch in flight, or makes one from the oldest records.
void CurlExporter::send() {
  if (!inFlight_) {
    Batch b;
    b.sequence = nextSequence_++;
    b.records = std::min<uint64_t>(config_.batch, waiting_.size());
    b.body = "{\"type\": \"batch\", \"data\": {\"sequence\": " + std::to_string(b.sequence) +
             ", \"records\": " + std::to_string(b.records) + ", \"dropped\": " + std::to_string(counts_.dropped) +
             ", \"run\": " + jsonQuote(runId_) + "}}\n";
    for (uint64_t i = 0; i < b.records; ++i) {
      b.body += waiting_.front().line;
      b.body += '\n';
      waitingBytes_ -= waiting_.front().line.size() + kRecordOverhead;
      waiting_.pop_front();
    }
    inFlight_ = std::move(b);
    if (waiting_.size() <= config_.queue / 2) dropping_ = false;  // said again only after it emptied by half
  }
  curl_slist* headers = static_cast<curl_slist*>(headers_);
  std::string sequence = "X-Dptrace-Sequence: " + std::to_string(inFlight_->sequence);
  curl_slist* all = curl_slist_append(nullptr, sequence.c_str());
  for (curl_slist* h = headers; h; h = h->next) all = curl_slist_append(all, h->data);
  if (requestHeaders_) curl_slist_free_all(static_cast<curl_slist*>(requestHeaders_));
  requestHeaders_ = all;
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, all);
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, inFlight_->body.data());
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(inFlight_->body.size()));
  curlError_[0] = '\0';
  answer_.clear();
  posting_ = curl_multi_add_handle(multi_, easy_) == CURLM_OK;
  if (!posting_) completed(CURLE_FAILED_INIT, 0, 0);  // tried again after a backoff, as any failure
}

void CurlExporter::completed(int curlCode, long status, long retryAfter) {
  posting_ = false;
  Batch& b = *inFlight_;
  if (curlCode == CURLE_OK && status >= 200 && status < 300) {
    counts_.sent += b.records;
    ++counts_.batches;
    if (b.attempts > 0) counts_.retried += b.records;
    if (down_)
      say("export_resumed", "export: the collector at " + shownUrl_ + " answers again (" +
                                plural(waiting_.size(), "record") + " waiting)",
          {{"url", Value::str(shownUrl_)}, {"waiting", Value::uint(waiting_.size())}});
    down_ = false;
    inFlight_.reset();
    return;
  }
  ++counts_.failures;
  bool again = curlCode != CURLE_OK || status >= 500 || status == 408 || status == 429;
  std::string why = curlCode != CURLE_OK ? (curlError_[0] ? std::string(curlError_.c_str())
                                                            : curl_easy_strerror(static_cast<CURLcode>(curlCode)))
                                         : "HTTP " + std::to_string(status);
  if (curlCode != CURLE_OK && proxied()) why += "; through the proxy the *_proxy variables name";
  if (curlCode == CURLE_PEER_FAILED_VERIFICATION || curlCode == CURLE_SSL_CACERT_BADFILE)
    why += "; trust the collector's CA with CURL_CA_BUNDLE=FILE";
  if (!again) {  // the collector will refuse it every time
    char* location = nullptr;
    if (status >= 300 && status < 400 && curl_easy_getinfo(easy_, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
      why += " to " + std::string(location) + ": redirects are not followed, give --export that URL";
    std::string answer;
    for (char c : answer_) answer += c == '\n' || c == '\r' ? ' ' : c;
    while (!answer.empty() && answer.back() == ' ') answer.pop_back();
    if (!answer.empty() && status >= 400) why += ", saying \"" + answer + (answer_.size() >= 200 ? "...\"" : "\"");
    counts_.dropped += b.records;
    if (refusalsSaid_.insert(status).second)  // once per status: the next batches are likely refused alike
      say("export_refused",
          "export: the collector at " + shownUrl_ + " refused a batch (" + why + "): " + plural(b.records, "record") +
              " dropped; later refusals with HTTP " + std::to_string(status) + " are counted in the report at exit",
          {{"url", Value::str(shownUrl_)}, {"status", Value::uint(static_cast<uint64_t>(status))},
           {"records", Value::uint(b.records)}});
    inFlight_.reset();
    return;
  }
  ++b.attempts;
  curl_off_t uploaded = 0;  // some of it went out: the collector may have stored it though no answer came
  if (curlCode != CURLE_OK && curl_easy_getinfo(easy_, CURLINFO_SIZE_UPLOAD_T, &uploaded) == CURLE_OK && uploaded > 0)
    b.maybeDelivered = true;
  auto backoff = kBackoffFirst * (1u << std::min(b.attempts - 1, 10u));
  backoff = std::min<std::chrono::milliseconds>(backoff, kBackoffMost);
  std::uniform_int_distribution<long> half(backoff.count() / 2, backoff.count());  // jitter: 50-100%
  std::chrono::milliseconds wait(half(jitter_));
  if (retryAfter > 0) wait = std::max(wait, std::min<std::chrono::milliseconds>(std::chrono::seconds(retryAfter), kRetryAfterMost));
  retryAt_ = Clock::now() + wait;
  if (!down_)
    say("export_failing",
        "export: POST to " + shownUrl_ + " failed (" + why + "): retrying with backoff; records wait in a queue of " +
            std::to_string(config_.queue),
        {{"url", Value::str(shownUrl_)}, {"reason", Value::str(why)}});
  down_ = true;
}

int CurlExporter::socketCallback(void*, int fd, int what, void* self, void*) {
  static_cast<CurlExporter*>(self)->onSocket(fd, what);
  return 0;
}

int CurlExporter::timerCallback(void*, long ms, void* self) {
  auto* e = static_cast<CurlExporter*>(self);
  if (ms < 0) e->curlTimer_.reset();
  else e->curlTimer_ = Clock::now() + std::chrono::milliseconds(ms);
  return 0;
}

void CurlExporter::onSocket(int fd, int what) {
  if (what == CURL_POLL_REMOVE) {
    if (sockets_.erase(fd)) epoll_ctl(epollFd_, EPOLL_CTL_DEL, fd, nullptr);
    return;
  }
  epoll_event ev{};
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
  ev.data.fd = fd;
  auto known = sockets_.find(fd);
  if (known == sockets_.end()) {
    epoll_ctl(epollFd_, EPOLL_CTL_ADD, fd, &ev);
    sockets_[fd] = ev.events;
  } else if (known->second != ev.events) {
    epoll_ctl(epollFd_, EPOLL_CTL_MOD, fd, &ev);
    known->second = ev.events;
  }
}

// One socket (or curl's timer, CURL_SOCKET_TIMEOUT) handed to curl, and the
// transfers it finished collected.
void CurlExporter::drive(int fd, int flags) {
  int running = 0;
  curl_multi_socket_action(multi_, fd, flags, &running);
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
    if (m->msg != CURLMSG_DONE) continue;
    long status = 0;
    curl_off_t retryAfter = 0;
    curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(m->easy_handle, CURLINFO_RETRY_AFTER, &retryAfter);
    int code = m->data.result;
    curl_multi_remove_handle(multi_, m->easy_handle);
    completed(code, status, static_cast<long>(retryAfter));
  }
}

void CurlExporter::serve(int timeoutMs) {
  epoll_event ready[16];
  int n = sockets_.empty() && timeoutMs == 0 ? 0 : epoll_wait(epollFd_, ready, 16, timeoutMs);
  for (int i = 0; i < n; ++i) {
    int flags = (ready[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) | (ready[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                (ready[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
    drive(ready[i].data.fd, flags);
  }
  if (curlTimer_ && Clock::now() >= *curlTimer_) {
    curlTimer_.reset();
    drive(CURL_SOCKET_TIMEOUT, 0);
  }
}

void CurlExporter::run() {
  if (!multi_) return;
  roundStart_ = Clock::now();
  serve(0);
  // The next batch leaves as soon as the last is answered (a new transfer's
  // timer is 0 ms: serving at once starts it).
  for (int round = 0; round < 8 && due(Clock::now()); ++round) {
    send();
    serve(0);
  }
}

void CurlExporter::finish(std::chrono::milliseconds limit, const std::function<void(const std::vector<Notice>&)>& tell) {
  if (!multi_) return;
  Clock::time_point begun = Clock::now(), until = begun + limit;
  bool said = false;
  auto interrupted = [] {
    sigset_t pending;
    sigpending(&pending);
    return sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM);
  };
  while ((inFlight_ || !waiting_.empty()) && Clock::now() < until && !interrupted()) {
    Clock::time_point now = Clock::now();
    if (!said && (down_ || now - begun >= kFlushSlow)) {  // say why the exit waits
      said = true;
      say("export_flushing",
          "export: sending the " + plural(waiting(), "record") + " waiting to " + shownUrl_ + " for at most " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limit).count()) + " s (Ctrl-C again stops)",
          {{"url", Value::str(shownUrl_)}, {"waiting", Value::uint(waiting())}});
      tell(takeNotices());
    }
    if (!posting_ && (!inFlight_ || now >= retryAt_)) send();
    Clock::time_point wake = std::min(until, posting_ ? until : retryAt_);
    if (curlTimer_) wake = std::min(wake, *curlTimer_);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now()).count();
    serve(static_cast<int>(std::clamp<long>(ms, 0, 50)));
  }
  if (posting_) {  // if some of it went out, the collector may have it: neither sent nor dropped
    curl_off_t uploaded = 0;
    if (curl_easy_getinfo(easy_, CURLINFO_SIZE_UPLOAD_T, &uploaded) == CURLE_OK && uploaded > 0) inFlight_->maybeDelivered = true;
    curl_multi_remove_handle(multi_, easy_);
    posting_ = false;
  }
  if (inFlight_) {  // waiting to be sent again: unconfirmed if a POST of it went out unanswered
    (inFlight_->maybeDelivered ? counts_.unconfirmed : counts_.dropped) += inFlight_->records;
  }
  counts_.dropped += waiting_.size();
  waiting_.clear();
  waitingBytes_ = 0;
  inFlight_.reset();
  tell(takeNotices());
}

Notice CurlExporter::report() const {
  const ExportCounts& c = counts_;
  std::string text = "dptrace: export: " + plural(c.sent, "record") + " sent to " + shownUrl_ + " in " +
                     std::to_string(c.batches) + (c.batches == 1 ? " batch" : " batches") + " (" + std::to_string(c.retried) +
                     (c.retried == 1 ? " record" : " records") + " after a retry, " + plural(c.failures, "failed POST") + "), " + std::to_string(c.dropped) + " dropped";
  if (c.unconfirmed)
    text += ", " + std::to_string(c.unconfirmed) + " unconfirmed (their POST was unanswered when the time ran out)";
  return {"export", text + "\n",
          {{"url", Value::str(shownUrl_)}, {"records", Value::uint(c.records)}, {"sent", Value::uint(c.sent)},
           {"batches", Value::uint(c.batches)}, {"retried", Value::uint(c.retried)}, {"failures", Value::uint(c.failures)},
           {"dropped", Value::uint(c.dropped)}, {"unconfirmed", Value::uint(c.unconfirmed)}}};
}

void CurlExporter::say(const std::string& type, const std::string& text, std::vector<std::pair<std::string, Value>> data) {
  notices_.push_back({type, "dptrace: " + text + "\n", std::move(data)});
}

std::vector<Notice> CurlExporter::takeNotices() { return std::exchange(notices_, {}); }

}  // namespace dptrace

#include "metrics_server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dptrace {
namespace {

constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr unsigned kMaxConnections = 16;
constexpr size_t kConnectionMemory = 32 * 1024;  // a request's headers and more: bounded
constexpr unsigned kConnectionTimeout = 10;      // seconds

}  // namespace

struct MetricsHandler {
  static MHD_Result answer(void* self, MHD_Connection* c, const char* url, const char* method, const char*,
                           const char*, size_t* uploadSize, void**) {
    auto* server = static_cast<MhdMetricsServer*>(self);
    std::string body;
    unsigned status = MHD_HTTP_OK;
    bool get = std::strcmp(method, MHD_HTTP_METHOD_GET) == 0, head = std::strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (*uploadSize != 0) {
      *uploadSize = 0;  // a body nobody asked for: dropped
      return MHD_YES;
    }
    if (!get && !head) {
      status = MHD_HTTP_METHOD_NOT_ALLOWED;
      body = "only GET /metrics\n";
    } else if (std::strcmp(url, "/metrics") != 0 && std::strcmp(url, "/") != 0) {
      status = MHD_HTTP_NOT_FOUND;
      body = "dptrace serves /metrics\n";
    } else {
      body = server->render_();
    }
    MHD_Response* r = MHD_create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, status == MHD_HTTP_OK ? kContentType : "text/plain");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    MHD_Result result = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return result;
  }
};

MhdMetricsServer::~MhdMetricsServer() {
  if (daemon_) MHD_stop_daemon(daemon_);
  if (listenFd_ >= 0) close(listenFd_);
}

bool MhdMetricsServer::start(const MetricsAddress& address, Render render, std::string& error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  std::string port = std::to_string(address.port);
  if (int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    error = "--metrics: cannot resolve '" + address.host + "': " + gai_strerror(rc);
    return false;
  }
  std::string why = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 64) == 0) {
      listenFd_ = fd;
      char host[NI_MAXHOST] = "";
      getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST);
      where_ = (a->ai_family == AF_INET6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + port;
      break;
    }
    why = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(found);
  if (listenFd_ < 0) {
    error = "--metrics: cannot listen on " + address.host + ":" + port + ": " + why;
    return false;
  }
  render_ = std::move(render);
  daemon_ = MHD_start_daemon(MHD_USE_EPOLL, 0, nullptr, nullptr, &MetricsHandler::answer, this, MHD_OPTION_LISTEN_SOCKET,
                             listenFd_, MHD_OPTION_CONNECTION_LIMIT, kMaxConnections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                             kConnectionMemory, MHD_OPTION_CONNECTION_TIMEOUT, kConnectionTimeout, MHD_OPTION_END);
  if (!daemon_) {
    error = "--metrics: cannot start the HTTP server (libmicrohttpd)";
    return false;
  }
  listenFd_ = -1;  // the daemon's now: it closes it
  return true;
}

int MhdMetricsServer::epollFd() const {
  const MHD_DaemonInfo* info = daemon_ ? MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD) : nullptr;
  return info ? info->epoll_fd : -1;
}

// MHD reads a connection's bytes a buffer at a time, and an edge-triggered
// epoll does not wake us for what is left in the socket: while MHD says it has
// more to do at once (a timeout of 0), it is run again, a bounded number of
// times (a 40 KiB request header once took a call a second, 64 s in all).
void MhdMetricsServer::run() {
  if (!daemon_) return;
  for (int round = 0; round < 64; ++round) {
    MHD_run(daemon_);
    MHD_UNSIGNED_LONG_LONG wait = 0;
    if (MHD_get_timeout(daemon_, &wait) != MHD_YES || wait != 0) break;
  }
}

}  // namespace dptrace

// The server of metrics.h on libmicrohttpd, driven from the run loop's epoll
// set: the part of --metrics that links libmicrohttpd, built into
// libdptrace_net.so (net_module.h).
#pragma once

#include "metrics.h"

struct MHD_Daemon;

namespace dptrace {

class MhdMetricsServer final : public MetricsServer {
public:
  MhdMetricsServer() = default;
  MhdMetricsServer(const MhdMetricsServer&) = delete;
  MhdMetricsServer& operator=(const MhdMetricsServer&) = delete;
  ~MhdMetricsServer() override;

  bool start(const MetricsAddress& address, Render render, std::string& error) override;
  int epollFd() const override;
  void run() override;
  const std::string& where() const override { return where_; }

private:
  MHD_Daemon* daemon_ = nullptr;
  int listenFd_ = -1;
  Render render_;
  std::string where_;
  friend struct MetricsHandler;
};

}  // namespace dptrace

// One AF_XDP socket on one rx queue of an interface (libxdp's xsk API): its
// UMEM, fill/completion/rx/tx rings, and the loop step that runs an afxdp
// body on each received frame and sends back the ones it tx()es.
#pragma once

#include <linux/if_xdp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "afxdp_host.h"

struct xsk_socket;
struct xsk_umem;

namespace dptrace {

struct AfxdpConfig {
  uint32_t frames = 4096;  // UMEM frames per socket (4 KiB each)
  uint32_t batch = 64;     // frames per rx/tx batch
  bool zerocopy = false;
};

struct AfxdpCounters {
  uint64_t rxPackets = 0, rxBytes = 0;
  uint64_t txPackets = 0, txBytes = 0;  // handed to the tx ring
  uint64_t dropped = 0;                 // the body dropped them
  uint64_t txRingFull = 0;              // tx() found no room in the tx ring: dropped, counted
  uint64_t completed = 0;               // tx frames the kernel returned
};

class AfxdpSocket {
public:
  AfxdpSocket() = default;
  AfxdpSocket(const AfxdpSocket&) = delete;
  AfxdpSocket& operator=(const AfxdpSocket&) = delete;
  ~AfxdpSocket();

  // Creates the UMEM and the socket (copy mode unless config.zerocopy; no
  // program loaded by libxdp) and puts it into `xskMapFd` at `queue`. False
  // with `error`, `hint` and errno in `errnoValue`.
  bool open(const std::string& interface, uint32_t ifindex, uint32_t queue, int xskMapFd, const AfxdpConfig& config,
            std::string& error, std::string& hint, int& errnoValue);

  int fd() const { return fd_; }
  const std::string& interface() const { return interface_; }
  uint32_t queue() const { return queue_; }

  // Returns completed tx frames to the pool, runs `body` on up to a batch of
  // received frames, sends what it tx()ed and refills the fill ring.
  // Returns the number of frames received.
  uint32_t step(BodyFunction body);
  // Frames still in flight: received but not taken, or sent but not completed.
  uint64_t inFlight();

  const AfxdpCounters& counters() const { return counters_; }
  xdp_statistics statistics() const;

private:
  void reclaim();
  void refill();

  std::string interface_;
  uint32_t ifindex_ = 0, queue_ = 0;
  int fd_ = -1;
  uint32_t ring_ = 0;  // descriptors per ring
  AfxdpConfig config_;
  void* area_ = nullptr;
  size_t areaSize_ = 0;
  xsk_umem* umem_ = nullptr;
  xsk_socket* xsk_ = nullptr;
  struct Rings;
  Rings* rings_ = nullptr;
  std::vector<uint64_t> free_;  // frame addresses not in any ring
  std::vector<uint64_t> txAddr_;
  std::vector<uint32_t> txLen_;
  AfxdpCounters counters_;
};

}  // namespace dptrace

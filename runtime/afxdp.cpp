#include "afxdp.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <xdp/xsk.h>

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>

namespace dptrace {

struct AfxdpSocket::Rings {
  xsk_ring_prod fill{};
  xsk_ring_cons completion{};
  xsk_ring_cons rx{};
  xsk_ring_prod tx{};
};

namespace {

constexpr uint32_t kFrameSize = XSK_UMEM__DEFAULT_FRAME_SIZE;

uint32_t ringSize(uint32_t frames) {  // a power of two, at most half the frames
  uint32_t n = 64;
  while (n * 4 <= frames && n < 8192) n *= 2;
  return n;
}

}  // namespace

AfxdpSocket::~AfxdpSocket() {
  if (xsk_) xsk_socket__delete(xsk_);
  if (umem_) xsk_umem__delete(umem_);
  if (area_) munmap(area_, areaSize_);
  delete rings_;
}

bool AfxdpSocket::open(const std::string& interface, uint32_t ifindex, uint32_t queue, int xskMapFd,
                       const AfxdpConfig& config, std::string& error, std::string& hint, int& errnoValue) {
  interface_ = interface;
  ifindex_ = ifindex;
  queue_ = queue;
  config_ = config;
  rings_ = new Rings;
  areaSize_ = static_cast<size_t>(config.frames) * kFrameSize;
  area_ = mmap(nullptr, areaSize_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area_ == MAP_FAILED) {
    area_ = nullptr;
    errnoValue = errno;
    error = "cannot allocate " + std::to_string(areaSize_ >> 20) + " MiB of UMEM: " + std::strerror(errno);
    hint = "give fewer frames with --afxdp-frames";
    return false;
  }
  uint32_t ring = ring_ = ringSize(config.frames);
  xsk_umem_config umemConfig{};
  umemConfig.fill_size = ring;
  umemConfig.comp_size = ring;
  umemConfig.frame_size = kFrameSize;
  umemConfig.frame_headroom = XSK_UMEM__DEFAULT_FRAME_HEADROOM;
  int err = xsk_umem__create(&umem_, area_, areaSize_, &rings_->fill, &rings_->completion, &umemConfig);
  if (err) {
    umem_ = nullptr;
    errnoValue = -err;
    error = "cannot register the AF_XDP UMEM: " + std::string(std::strerror(-err));
    hint = err == -ENOMEM || err == -EPERM ? "the locked-memory limit is too low: raise ulimit -l, or give fewer --afxdp-frames" : "";
    return false;
  }
  xsk_socket_config socketConfig{};
  socketConfig.rx_size = ring;
  socketConfig.tx_size = ring;
  socketConfig.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // our own program and XSKMAP, through a bpf_link
  socketConfig.bind_flags = static_cast<uint16_t>(XDP_USE_NEED_WAKEUP | (config.zerocopy ? XDP_ZEROCOPY : XDP_COPY));
  err = xsk_socket__create(&xsk_, interface.c_str(), queue, umem_, &rings_->rx, &rings_->tx, &socketConfig);
  if (err) {
    xsk_ = nullptr;
    errnoValue = -err;
    error = "cannot bind an AF_XDP socket to " + interface + " queue " + std::to_string(queue) + ": " + std::strerror(-err);
    if (config.zerocopy && (err == -EOPNOTSUPP || err == -EINVAL))
      hint = interface + "'s driver has no AF_XDP zero-copy mode; run without --zerocopy (copy mode)";
    else if (err == -EBUSY)
      hint = "another AF_XDP socket is bound to this queue";
    return false;
  }
  fd_ = xsk_socket__fd(xsk_);
  if (bpf_map_update_elem(xskMapFd, &queue, &fd_, BPF_ANY) != 0) {
    errnoValue = errno;
    error = "cannot put the AF_XDP socket of " + interface + " queue " + std::to_string(queue) + " into the XSKMAP: " +
            std::strerror(errno);
    return false;
  }
  // Every frame starts free; half of them wait in the fill ring.
  free_.reserve(config.frames);
  for (uint32_t i = config.frames; i-- > 0;) free_.push_back(static_cast<uint64_t>(i) * kFrameSize);
  txAddr_.resize(config.batch);
  txLen_.resize(config.batch);
  refill();
  return true;
}

void AfxdpSocket::reclaim() {
  uint32_t index = 0;
  uint32_t n = xsk_ring_cons__peek(&rings_->completion, ring_, &index);
  for (uint32_t i = 0; i < n; ++i)
    free_.push_back(xsk_umem__extract_addr(*xsk_ring_cons__comp_addr(&rings_->completion, index + i)) & ~uint64_t{kFrameSize - 1});
  if (n) xsk_ring_cons__release(&rings_->completion, n);
  counters_.completed += n;
}

void AfxdpSocket::refill() {
  uint32_t want = xsk_prod_nb_free(&rings_->fill, static_cast<uint32_t>(free_.size()));
  want = std::min<uint32_t>(want, static_cast<uint32_t>(free_.size()));
  if (want == 0) return;
  uint32_t index = 0;
  uint32_t n = xsk_ring_prod__reserve(&rings_->fill, want, &index);
  for (uint32_t i = 0; i < n; ++i) {
    *xsk_ring_prod__fill_addr(&rings_->fill, index + i) = free_.back();
    free_.pop_back();
  }
  xsk_ring_prod__submit(&rings_->fill, n);
  if (n && xsk_ring_prod__needs_wakeup(&rings_->fill)) recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
}

uint32_t AfxdpSocket::step(BodyFunction body) {
  reclaim();
  uint32_t index = 0;
  uint32_t received = xsk_ring_cons__peek(&rings_->rx, config_.batch, &index);
  uint32_t sending = 0;
  auto* area = static_cast<uint8_t*>(area_);
  // The frames were written by another CPU: fetch their headers' cache line
  // ahead of the body, which reads them first thing (a third of the time
  // per frame went there without).
  for (uint32_t i = 0; i < received; ++i)
    __builtin_prefetch(area + xsk_umem__add_offset_to_addr(xsk_ring_cons__rx_desc(&rings_->rx, index + i)->addr));
  for (uint32_t i = 0; i < received; ++i) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&rings_->rx, index + i);
    uint64_t addr = xsk_umem__add_offset_to_addr(d->addr);
    uint64_t frame = addr & ~uint64_t{kFrameSize - 1};
    HostPacket p{area + addr, area + addr + d->len, area + frame, ifindex_, queue_};
    counters_.rxPackets++;
    counters_.rxBytes += d->len;
    if (body(&p) == XDP_TX) {
      txAddr_[sending] = static_cast<uint64_t>(p.data - area);
      txLen_[sending] = static_cast<uint32_t>(p.dataEnd - p.data);
      ++sending;
    } else {
      counters_.dropped++;
      free_.push_back(frame);
    }
  }
  if (received) xsk_ring_cons__release(&rings_->rx, received);
  if (sending) {
    uint32_t txIndex = 0;
    uint32_t room = xsk_ring_prod__reserve(&rings_->tx, sending, &txIndex);
    if (room == 0) {  // all or nothing: the ring is full, these frames are dropped and counted
      counters_.txRingFull += sending;
      for (uint32_t i = 0; i < sending; ++i) free_.push_back(txAddr_[i] & ~uint64_t{kFrameSize - 1});
    } else {
      for (uint32_t i = 0; i < sending; ++i) {
        xdp_desc* d = xsk_ring_prod__tx_desc(&rings_->tx, txIndex + i);
        d->addr = txAddr_[i];
        d->len = txLen_[i];
        counters_.txPackets++;
        counters_.txBytes += txLen_[i];
      }
      xsk_ring_prod__submit(&rings_->tx, sending);
    }
  }
  // Copy mode sends from the sendto() call, at most 32 frames a call
  // (EAGAIN: more are waiting): kick until the tx ring is drained, or the
  // device is busy (then the next step kicks again).
  if (counters_.txPackets > counters_.completed && xsk_ring_prod__needs_wakeup(&rings_->tx)) {
    for (uint32_t i = 0; i <= config_.batch / 32 + 1; ++i) {
      if (sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0 || errno != EAGAIN) break;
    }
  }
  reclaim();  // copy mode completes in the sendto(): the loop need not come back for them
  refill();
  return received;
}

uint64_t AfxdpSocket::inFlight() {
  reclaim();
  uint64_t pendingRx = xsk_cons_nb_avail(&rings_->rx, ring_);
  return pendingRx + (counters_.txPackets - counters_.completed);
}

xdp_statistics AfxdpSocket::statistics() const {
  xdp_statistics s{};
  socklen_t size = sizeof s;
  if (xsk_) getsockopt(fd_, SOL_XDP, XDP_STATISTICS, &s, &size);
  return s;
}

}  // namespace dptrace

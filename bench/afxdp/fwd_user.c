/* The user-space half of bench/afxdp.py's hand-written C forwarder, on
 * libxdp's xsk API as the xdp-tutorial's advanced03 (af_xdp_user.c) uses it:
 * a UMEM of 4096 frames, rings of 2048, copy mode with need_wakeup, the
 * socket created without libxdp's own program (fwd_kern.o, attached through a
 * bpf_link, holds the XSKMAP), batches of 64, poll() when idle. Each frame
 * is parsed again (Ethernet, IPv4 with its checks, UDP to port 4242), its
 * MAC and IP addresses and UDP ports swapped -- the checksums need no update
 * for swaps -- and sent back out. Runs until SIGINT/SIGTERM, then prints
 * "rx N tx N" on stdout.
 *
 *   fwd_user IFACE fwd_kern.o */
#include <arpa/inet.h>
#include <errno.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <xdp/xsk.h>

enum { kFrames = 4096, kFrameSize = XSK_UMEM__DEFAULT_FRAME_SIZE, kRing = 2048, kBatch = 64 };

static volatile sig_atomic_t stop;
static void onSignal(int s) { (void)s; stop = 1; }

static struct xsk_ring_prod fill, tx;
static struct xsk_ring_cons comp, rx;
static uint64_t freeFrames[kFrames];
static uint32_t freeCount;
static uint64_t rxCount, txCount, completed;

static int echo(uint8_t* p, uint32_t len) {
  struct ethhdr* eth = (struct ethhdr*)p;
  if (len < sizeof *eth + sizeof(struct iphdr) || eth->h_proto != htons(ETH_P_IP)) return 0;
  struct iphdr* ip = (struct iphdr*)(eth + 1);
  uint32_t hlen = ip->ihl * 4u;
  if (ip->version != 4 || ip->ihl < 5 || sizeof *eth + hlen + sizeof(struct udphdr) > len) return 0;
  if (ntohs(ip->tot_len) < hlen || sizeof *eth + ntohs(ip->tot_len) > len) return 0;
  if (ip->protocol != IPPROTO_UDP || (ip->frag_off & htons(0x1fff))) return 0;
  struct udphdr* udp = (struct udphdr*)((uint8_t*)ip + hlen);
  if (ntohs(udp->len) < 8 || (uint8_t*)udp + ntohs(udp->len) > p + len || udp->dest != htons(4242)) return 0;
  uint8_t mac[ETH_ALEN];
  memcpy(mac, eth->h_dest, ETH_ALEN);
  memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
  memcpy(eth->h_source, mac, ETH_ALEN);
  uint32_t a = ip->saddr;
  ip->saddr = ip->daddr, ip->daddr = a;
  uint16_t port = udp->source;
  udp->source = udp->dest, udp->dest = port;
  return 1;
}

static void refill(int fd) {
  uint32_t idx, n = xsk_prod_nb_free(&fill, freeCount);
  if (n > freeCount) n = freeCount;
  if (!n || xsk_ring_prod__reserve(&fill, n, &idx) != n) return;
  for (uint32_t i = 0; i < n; ++i) *xsk_ring_prod__fill_addr(&fill, idx + i) = freeFrames[--freeCount];
  xsk_ring_prod__submit(&fill, n);
  if (xsk_ring_prod__needs_wakeup(&fill)) recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

int main(int argc, char** argv) {
  if (argc < 3) return fprintf(stderr, "usage: fwd_user IFACE fwd_kern.o\n"), 2;
  unsigned ifindex = if_nametoindex(argv[1]);
  struct bpf_object* obj = bpf_object__open_file(argv[2], NULL);
  if (!obj || bpf_object__load(obj)) return fprintf(stderr, "cannot load %s\n", argv[2]), 1;
  struct bpf_program* prog = bpf_object__find_program_by_name(obj, "fwd");
  LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = XDP_FLAGS_DRV_MODE);
  int link = bpf_link_create(bpf_program__fd(prog), (int)ifindex, BPF_XDP, &lo);
  if (link < 0) return perror("bpf_link_create"), 1;
  size_t size = (size_t)kFrames * kFrameSize;
  void* area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  struct xsk_umem_config uc = {.fill_size = kRing, .comp_size = kRing, .frame_size = kFrameSize};
  struct xsk_umem* umem;
  if (xsk_umem__create(&umem, area, size, &fill, &comp, &uc)) return fprintf(stderr, "umem\n"), 1;
  struct xsk_socket_config sc = {.rx_size = kRing, .tx_size = kRing, .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
                                 .bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP};
  struct xsk_socket* xsk;
  if (xsk_socket__create(&xsk, argv[1], 0, umem, &rx, &tx, &sc)) return fprintf(stderr, "socket\n"), 1;
  int fd = xsk_socket__fd(xsk), queue = 0;
  if (bpf_map_update_elem(bpf_map__fd(bpf_object__find_map_by_name(obj, "xsks")), &queue, &fd, BPF_ANY))
    return perror("xskmap"), 1;
  for (uint32_t i = 0; i < kFrames; ++i) freeFrames[freeCount++] = (uint64_t)i * kFrameSize;
  refill(fd);
  signal(SIGINT, onSignal);
  signal(SIGTERM, onSignal);
  fprintf(stderr, "ready\n");
  uint64_t txAddr[kBatch];
  uint32_t txLen[kBatch];
  while (!stop) {
    uint32_t idx, n = xsk_ring_cons__peek(&comp, kRing, &idx);
    for (uint32_t i = 0; i < n; ++i) freeFrames[freeCount++] = *xsk_ring_cons__comp_addr(&comp, idx + i) & ~(uint64_t)(kFrameSize - 1);
    if (n) xsk_ring_cons__release(&comp, n), completed += n;
    uint32_t got = xsk_ring_cons__peek(&rx, kBatch, &idx), sending = 0;
    if (!got && txCount == completed) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      poll(&p, 1, 100);
      continue;
    }
    for (uint32_t i = 0; i < got; ++i) {
      const struct xdp_desc* d = xsk_ring_cons__rx_desc(&rx, idx + i);
      uint64_t addr = xsk_umem__add_offset_to_addr(d->addr);
      if (echo((uint8_t*)area + addr, d->len)) txAddr[sending] = addr, txLen[sending++] = d->len;
      else freeFrames[freeCount++] = addr & ~(uint64_t)(kFrameSize - 1);
    }
    if (got) xsk_ring_cons__release(&rx, got), rxCount += got;
    if (sending) {
      uint32_t t;
      if (xsk_ring_prod__reserve(&tx, sending, &t) == sending) {
        for (uint32_t i = 0; i < sending; ++i) {
          struct xdp_desc* d = xsk_ring_prod__tx_desc(&tx, t + i);
          d->addr = txAddr[i], d->len = txLen[i];
        }
        xsk_ring_prod__submit(&tx, sending);
        txCount += sending;
      } else {
        for (uint32_t i = 0; i < sending; ++i) freeFrames[freeCount++] = txAddr[i] & ~(uint64_t)(kFrameSize - 1);
      }
    }
    if (txCount > completed && xsk_ring_prod__needs_wakeup(&tx))
      for (int i = 0; i < kBatch / 32 + 2; ++i)
        if (sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0 || errno != EAGAIN) break;
    refill(fd);
  }
  printf("rx %llu tx %llu\n", (unsigned long long)rxCount, (unsigned long long)txCount);
  xsk_socket__delete(xsk);
  xsk_umem__delete(umem);
  close(link);
  return 0;
}

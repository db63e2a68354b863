// flood IFACE DST_MAC COUNT SECONDS: a UDP flood as a NIC delivers it. A
// four-instruction XDP program that redirects to IFACE runs through
// BPF_PROG_TEST_RUN in live-frames mode (the kernel's traffic generator, as
// xdp-trafficgen uses it) over one 60-byte frame, 10.61.0.1:1234 ->
// 10.61.0.2:9: each run sends the frame as an xdp_frame, no skb, out of
// IFACE -- a veth, whose peer receives it as from a driver. Sends until
// COUNT frames or SECONDS have passed (0: no limit of that kind), in runs of
// up to 2^20 frames (setting up a run costs milliseconds), each in batches of
// 64 that the peer's NAPI takes before the next (the veth's ring holds 256).
// Prints "sent N in S s".
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint16_t checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: flood IFACE DST_MAC COUNT SECONDS\n");
    return 1;
  }
  unsigned long long limit = strtoull(argv[3], NULL, 10);
  double seconds = atof(argv[4]);
  unsigned ifindex = if_nametoindex(argv[1]);
  if (!ifindex) return perror(argv[1]), 1;

  uint8_t frame[60] = {0};
  if (sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &frame[0], &frame[1], &frame[2], &frame[3], &frame[4], &frame[5]) != 6)
    return fprintf(stderr, "bad MAC %s\n", argv[2]), 1;
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", argv[1]);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0) return perror("SIOCGIFHWADDR"), 1;
  close(s);
  memcpy(frame + 6, ifr.ifr_hwaddr.sa_data, 6);
  frame[12] = 0x08;  // IPv4
  uint8_t ip[20] = {0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 61, 0, 1, 10, 61, 0, 2};
  uint16_t c = checksum(ip, 20);
  ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
  memcpy(frame + 14, ip, 20);
  uint8_t udp[8] = {1234 >> 8, 1234 & 0xff, 0, 9, 0, 26, 0, 0};  // no UDP checksum
  memcpy(frame + 34, udp, 8);
  memcpy(frame + 42, "dptrace lab 17 ...", 18);

  // r1 = ifindex; r2 = 0; r0 = bpf_redirect(r1, r2); exit
  struct bpf_insn prog[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 1, .imm = (int32_t)ifindex},
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 2, .imm = 0},
      {.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_redirect},
      {.code = BPF_JMP | BPF_EXIT},
  };
  int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "lab17_flood", "GPL", prog, 4, NULL);
  if (fd < 0) return perror("bpf_prog_load"), 1;

  unsigned long long sent = 0;
  double start = now(), end = start + seconds;
  while ((limit == 0 || sent < limit) && (seconds <= 0 || now() < end)) {
    unsigned n = 1u << 20;
    if (limit && limit - sent < n) n = (unsigned)(limit - sent);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof frame, .repeat = n,
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
    if (bpf_prog_test_run_opts(fd, &opts) != 0) return perror("BPF_PROG_TEST_RUN"), 1;
    sent += n;
  }
  printf("sent %llu in %.3f s\n", sent, now() - start);
  return 0;
}

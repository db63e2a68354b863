/* The kernel half of bench/afxdp.py's hand-written C forwarder, the way the
 * xdp-tutorial's advanced03 writes it: UDP to port 4242 over IPv4 (the same
 * checks as dptrace's packet views: IHL >= 5 with options in the frame, total
 * length within the frame and >= the header, first fragments only, UDP length
 * >= 8 within the frame) goes to the AF_XDP socket of its rx queue; the rest
 * is passed. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u32);
} xsks SEC(".maps");

SEC("xdp")
int fwd(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || ip->version != 4 || ip->ihl < 5) return XDP_PASS;
  __u32 hlen = ip->ihl * 4;
  if ((void*)ip + hlen > end || bpf_ntohs(ip->tot_len) < hlen || (void*)ip + bpf_ntohs(ip->tot_len) > end)
    return XDP_PASS;
  if (ip->protocol != IPPROTO_UDP || (ip->frag_off & bpf_htons(0x1fff))) return XDP_PASS;
  struct udphdr* udp = (void*)ip + hlen;
  if ((void*)(udp + 1) > end || bpf_ntohs(udp->len) < 8 || (void*)udp + bpf_ntohs(udp->len) > end) return XDP_PASS;
  if (udp->dest != bpf_htons(4242)) return XDP_PASS;
  return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char _license[] SEC("license") = "GPL";

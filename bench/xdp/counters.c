/* The two XDP programs of bench/xdp.py, written by hand in C the way the
 * xdp-tutorial writes them, parsing exactly what dptrace's packet views parse:
 * up to two VLAN tags; IPv4 with version 4, IHL >= 5, options and total length
 * within the frame, total >= header, L4 only in first fragments; the IPv6
 * fixed header with its payload within the frame; TCP data offset >= 5 within
 * the frame; UDP length >= 8 within the frame.
 *
 *   proto_counter: packets per IPv4 protocol (@proto[ip.proto] = count()),
 *                  a per-CPU array of 256 counters
 *   port_counter:  packets per UDP destination port (@port[udp.dport] =
 *                  count()), over IPv4 and IPv6, a per-CPU hash (the common
 *                  C choice)
 *   port_counter_array: the same in a per-CPU array of 65,536 counters
 *   const_counter: packets per kind, TCP 0, UDP 1, ICMP or ICMPv6 2, other
 *                  3 (if (tcp) { @c[0] = count(); } else if (udp) ...), a
 *                  per-CPU array of 4 counters */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u64);
} protos SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u16);
  __type(value, __u64);
} ports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, __u64);
} ports_array SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} kinds SEC(".maps");

struct vlan_tag {
  __be16 tci;
  __be16 proto;
};

static __always_inline int is_vlan(__u16 proto) {
  return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/* Ethernet and up to two tags: the L3 header and its ethertype, or NULL. */
static __always_inline void *l3_of(void *data, void *end, __u16 *proto) {
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return NULL;
  void *p = eth + 1;
  *proto = eth->h_proto;
#pragma unroll
  for (int i = 0; i < 2; i++) {
    if (!is_vlan(*proto)) break;
    struct vlan_tag *tag = p;
    if ((void *)(tag + 1) > end) return NULL;
    *proto = tag->proto;
    p = tag + 1;
  }
  return p;
}

/* A valid IPv4 header (see above), or NULL; *l4 is set for first fragments. */
static __always_inline struct iphdr *ipv4_of(void *p, void *end, void **l4) {
  struct iphdr *ip = p;
  if ((void *)(ip + 1) > end || ip->version != 4) return NULL;
  __u32 hlen = ip->ihl * 4;
  __u32 total = bpf_ntohs(ip->tot_len);
  if (hlen < sizeof(*ip) || p + hlen > end || total < hlen || p + total > end) return NULL;
  *l4 = (ip->frag_off & bpf_htons(0x1fff)) ? NULL : p + hlen;
  return ip;
}

SEC("xdp")
int proto_counter(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  __u16 proto;
  void *p = l3_of(data, end, &proto);
  if (!p || proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  void *l4;
  struct iphdr *ip = ipv4_of(p, end, &l4);
  if (!ip) return XDP_PASS;
  __u32 key = ip->protocol;
  __u64 *count = bpf_map_lookup_elem(&protos, &key);
  if (count) *count += 1;
  return XDP_PASS;
}

/* The UDP header of a valid IPv4 or IPv6 UDP packet, or NULL. */
static __always_inline struct udphdr *udp_of(void *data, void *end) {
  __u16 proto;
  void *p = l3_of(data, end, &proto);
  if (!p) return NULL;
  void *l4 = NULL;
  __u8 next;
  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr *ip = ipv4_of(p, end, &l4);
    if (!ip) return NULL;
    next = ip->protocol;
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr *ip6 = p;
    if ((void *)(ip6 + 1) > end || ip6->version != 6 || (void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len) > end)
      return NULL;
    next = ip6->nexthdr;
    l4 = ip6 + 1;
  } else {
    return NULL;
  }
  if (!l4 || next != IPPROTO_UDP) return NULL;
  struct udphdr *udp = l4;
  if ((void *)(udp + 1) > end) return NULL;
  __u16 len = bpf_ntohs(udp->len);
  if (len < sizeof(*udp) || l4 + len > end) return NULL;
  return udp;
}

SEC("xdp")
int port_counter(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct udphdr *udp = udp_of(data, end);
  if (!udp) return XDP_PASS;
  __u16 key = bpf_ntohs(udp->dest);
  __u64 *count = bpf_map_lookup_elem(&ports, &key);
  if (count) {
    *count += 1;
  } else {
    __u64 one = 1;
    bpf_map_update_elem(&ports, &key, &one, BPF_NOEXIST);
  }
  return XDP_PASS;
}

SEC("xdp")
int port_counter_array(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct udphdr *udp = udp_of(data, end);
  if (!udp) return XDP_PASS;
  __u32 key = bpf_ntohs(udp->dest);
  __u64 *count = bpf_map_lookup_elem(&ports_array, &key);
  if (count) *count += 1;
  return XDP_PASS;
}

SEC("xdp")
int const_counter(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  __u32 key = 3;
  __u16 proto;
  void *p = l3_of(data, end, &proto);
  void *l4 = NULL;
  __u8 next = 0;
  int v6 = 0;
  if (p && proto == bpf_htons(ETH_P_IP)) {
    struct iphdr *ip = ipv4_of(p, end, &l4);
    if (ip) next = ip->protocol;
  } else if (p && proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr *ip6 = p;
    if ((void *)(ip6 + 1) <= end && ip6->version == 6 && (void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len) <= end) {
      next = ip6->nexthdr;
      l4 = ip6 + 1;
      v6 = 1;
    }
  }
  if (l4 && next == IPPROTO_TCP) {
    struct tcphdr *tcp = l4;
    if ((void *)(tcp + 1) <= end && tcp->doff >= 5 && l4 + tcp->doff * 4 <= end) key = 0;
  } else if (l4 && next == IPPROTO_UDP) {
    struct udphdr *udp = l4;
    if ((void *)(udp + 1) <= end) {
      __u16 len = bpf_ntohs(udp->len);
      if (len >= sizeof(*udp) && l4 + len <= end) key = 1;
    }
  } else if (l4 && ((next == IPPROTO_ICMP && !v6) || (next == IPPROTO_ICMPV6 && v6))) {
    if (l4 + 8 <= end) key = 2;
  }
  __u64 *count = bpf_map_lookup_elem(&kinds, &key);
  if (count) *count += 1;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

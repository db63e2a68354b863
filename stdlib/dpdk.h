/* dpdk.h: the parts of DPDK's struct rte_mbuf a tracer reads, laid out as in
 * DPDK 22.11 (Debian 12's libdpdk-dev, x86_64, RTE_IOVA_AS_PA).
 *
 *   #include <dpdk.h>
 *   uretprobe:./upf:rte_eth_rx_burst { ... ((struct rte_mbuf **)$pkts)[$i]->pkt_len ... }
 *
 * Only the offsets of the named fields matter: the rest is padding. The test
 * suite builds a fixture against DPDK's own rte_mbuf.h and checks the values
 * dptrace reads through this file, so a wrong offset here fails a test. */
#ifndef DPTRACE_STDLIB_DPDK_H
#define DPTRACE_STDLIB_DPDK_H

#include <stdint.h>

struct rte_mempool;

struct rte_mbuf {
  void *buf_addr;            /*  0: virtual address of the segment buffer */
  uint64_t buf_iova;         /*  8 */
  uint16_t data_off;         /* 16: start of the data in the buffer */
  uint16_t refcnt;           /* 18 */
  uint16_t nb_segs;          /* 20: segments in this packet */
  uint16_t port;             /* 22: input port */
  uint64_t ol_flags;         /* 24: RTE_MBUF_F_* offload flags */
  uint32_t packet_type;      /* 32: RTE_PTYPE_* (L2/L3/L4 and tunnel types) */
  uint32_t pkt_len;          /* 36: packet length, all segments */
  uint16_t data_len;         /* 40: data in this segment */
  uint16_t vlan_tci;         /* 42 */
  uint32_t rss;              /* 44: hash.rss */
  uint32_t hash_hi;          /* 48: hash.fdir.hi */
  uint16_t vlan_tci_outer;   /* 52 */
  uint16_t buf_len;          /* 54 */
  struct rte_mempool *pool;  /* 56 */
  struct rte_mbuf *next;     /* 64: next segment, or NULL */
  uint64_t tx_offload;       /* 72 */
  void *shinfo;              /* 80 */
  uint16_t priv_size;        /* 88 */
  uint16_t timesync;         /* 90 */
  uint32_t dynfield1[9];     /* 92 */
} __attribute__((aligned(64)));

#endif

// DPDK's burst functions, known without DWARF: rte_eth_rx_burst and
// rte_eth_tx_burst are `static inline` in rte_ethdev.h, so a production build
// has no symbol and often no debug information for them, but their
// signatures are DPDK's API. With -p or -c dptrace attaches to the PMD
// function each started port's rte_eth_fp_ops entry points to
// (runtime/dpdk_fastpath.h) and the probe reads the arguments and return
// value of the burst call it stands for.
#pragma once

#include <cstdint>
#include <string>

#include "dwarf_signatures.h"

namespace dptrace {

enum class FastPath : uint8_t { None, RxBurst, TxBurst };

// RxBurst for "rte_eth_rx_burst", TxBurst for "rte_eth_tx_burst", else None.
FastPath fastPathOf(const std::string& function);

// The signature of the burst function as DPDK declares it: (uint16_t
// port_id, uint16_t queue_id, struct rte_mbuf **rx_pkts / tx_pkts, uint16_t
// nb_pkts) -> uint16_t, parameters in the calling convention's registers.
FunctionSignature fastPathSignature(FastPath f);

// "rte_eth_rx_burst" or "rte_eth_tx_burst".
const char* fastPathFunction(FastPath f);

}  // namespace dptrace

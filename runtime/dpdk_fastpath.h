// The DPDK fast-path resolver: where rte_eth_rx_burst and rte_eth_tx_burst
// go in a running process that has no copy of them (DPDK declares them
// static inline). Each burst call reads rte_eth_fp_ops[port] (exported by
// librte_ethdev) and calls its rx_pkt_burst / tx_pkt_burst pointer with
// rxq.data[queue] / txq.data[queue]. The resolver reads that array from the
// process's memory: which ports are started, which PMD function each calls
// (the mapped file and its offset, for a uprobe), and which queue pointer
// stands for which (port, queue).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dptrace {

// A queue of a started port as the PMD function sees it.
struct FastPathQueue {
  uint16_t port = 0, queue = 0;
  uint64_t pointer = 0;     // rxq.data[queue] / txq.data[queue]: the PMD function's first argument
  bool tx = false;
  bool callbacks = false;   // rte_eth_add_rx_callback / _tx_callback installed on it
  bool operator==(const FastPathQueue&) const = default;
};

// A PMD burst function, at its address in the process.
struct FastPathFunction {
  uint64_t address = 0;
  bool tx = false;
  std::string path;        // the mapped file, as the process names it
  std::string attachPath;  // /proc/PID/map_files/...: the very file mapped, whatever the mount namespace
  uint64_t fileOffset = 0;
  std::string name;        // its symbol, when the file has one; else empty
  std::vector<uint16_t> ports;
  bool operator==(const FastPathFunction&) const = default;
};

struct FastPathState {
  std::string dpdk;           // "22.11 (ABI 23)"
  uint32_t portSlots = 0;     // RTE_MAX_ETHPORTS of the build
  std::vector<FastPathQueue> queues;
  std::vector<FastPathFunction> functions;
};

class FastPathResolver {
public:
  explicit FastPathResolver(pid_t pid) : pid_(pid) {}

  // Reads the process's rte_eth_fp_ops now. nullopt with `error` when it
  // cannot: the process is gone or maps no DPDK, a layout dptrace does not
  // know. `early`: the process may not have loaded DPDK yet (-c), so no
  // rte_eth_fp_ops is not an error yet.
  std::optional<FastPathState> read(std::string& error, bool& early) const;
  // Whether the process maps the file at `path` (its program or a library).
  bool maps(const std::string& path) const;

private:
  pid_t pid_;
};

// "librte_net_null.so.23.0+0x2090 (eth_null_rx)": a function for messages.
std::string describeFunction(const FastPathFunction& f);

}  // namespace dptrace

#include "dpdk_api.h"

namespace dptrace {

FastPath fastPathOf(const std::string& function) {
  if (function == "rte_eth_rx_burst") return FastPath::RxBurst;
  if (function == "rte_eth_tx_burst") return FastPath::TxBurst;
  return FastPath::None;
}

const char* fastPathFunction(FastPath f) { return f == FastPath::TxBurst ? "rte_eth_tx_burst" : "rte_eth_rx_burst"; }

FunctionSignature fastPathSignature(FastPath f) {
  FunctionSignature s;
  Type u16 = Type::integer(16, false);
  auto param = [&](const char* name, Type type) {
    Parameter p;
    p.name = name;
    p.cType = type.is(TypeKind::Integer) ? "uint16_t" : "struct rte_mbuf**";
    p.type = std::move(type);
    p.location = {ParameterLocation::Kind::IntegerRegister, static_cast<uint32_t>(s.params.size())};
    s.params.push_back(std::move(p));
  };
  param("port_id", u16);
  param("queue_id", u16);
  param(f == FastPath::TxBurst ? "tx_pkts" : "rx_pkts", Type::pointer(Type::pointer(Type::structure("rte_mbuf"))));
  param("nb_pkts", u16);
  s.ret = u16;
  s.retCType = "uint16_t";
  s.outOfLine = false;
  return s;
}

}  // namespace dptrace

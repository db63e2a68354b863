#!/usr/bin/env bash
# Installs the packages, builds dptrace and shows what it does today: the
# syntax tree of example scripts, and the diagnostics a mistyped script gets.
# (The xdp issue turns this into a live XDP counter on a veth pair.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
DPTRACE=build/tools/dptrace

echo
echo "== dptrace --emit ast examples/xdp/drop-discard-port.dpt"
$DPTRACE --emit ast examples/xdp/drop-discard-port.dpt
echo
echo "== dptrace --emit ast examples/dpdk/mbuf-length.dpt"
$DPTRACE --emit ast examples/dpdk/mbuf-length.dpt
echo
echo "== a script with three mistakes (exit status 1 expected)"
status=0
$DPTRACE --emit ast -e 'xpd:veth0 { @n = count(); }
xdp:veth0 /pkt.len / 2 == 30/ { @half = count(); }
uretprobe:./upf:rte_eth_rx_burst { @pkts[pid] = sum(retval) @polls = count(); }' || status=$?
echo "exit status: $status"
[ "$status" -eq 1 ]

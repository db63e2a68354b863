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
echo "== a script with three syntax errors: all are reported (exit status 1 expected)"
status=0
$DPTRACE --emit ast -e 'xdp:veth0 { if ip.ttl < 2 { drop(); } }
xdp:veth0 /pkt.len / 2 == 30/ { @half = count(); }
uretprobe:./upf:rte_eth_rx_burst { @pkts[pid] = sum(retval) @polls = count(); }' || status=$?
echo "exit status: $status"
[ "$status" -eq 1 ]
echo
echo "== a mistyped probe type"
status=0
$DPTRACE --emit ast -e 'xpd:veth0 { @n = count(); }' || status=$?
[ "$status" -eq 1 ]

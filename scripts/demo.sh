#!/usr/bin/env bash
# Installs the packages, builds dptrace, and runs it for real:
#  1. an XDP protocol counter (examples/xdp_counter.dpt) on a veth pair between
#     two network namespaces the demo creates, while one side sends known
#     traffic (20 UDP datagrams, 5 TCP SYNs, 4 pings); then a one-line rule
#     that drops ICMP echo requests with even sequence numbers, and the ping
#     that loses exactly those; the namespaces are removed at the end;
#  2. a tracepoint on the getpid() calls of a small program;
#  3. the diagnostics a mistyped script gets.
# Needs root (BPF, network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${DPTRACE_SKIP_INSTALL:-}" ] || bash scripts/install-deps.sh
bash scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
DPTRACE=$BUILD_DIR/tools/dptrace

tag=$$
NS_A=dpdemoA$tag NS_B=dpdemoB$tag IF_A=dva$tag IF_B=dvb$tag
cleanup() { ip netns del "$NS_A" 2>/dev/null || true; ip netns del "$NS_B" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add "$IF_A" netns "$NS_A" type veth peer name "$IF_B" netns "$NS_B"
for side in "$NS_A $IF_A 10.250.0.1" "$NS_B $IF_B 10.250.0.2"; do
  set -- $side
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip -n "$1" addr add "$3/24" dev "$2"
  ip -n "$1" link set "$2" up
done
ip netns exec "$NS_A" ping -c 1 -W 2 10.250.0.2 > /dev/null  # ARP resolved before counting

traffic='import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(20): s.sendto(b"hello", ("10.250.0.2", 9999))
for i in range(5):
    t = socket.socket(); t.settimeout(1)
    try: t.connect(("10.250.0.2", 80))
    except OSError: pass
    t.close()'

echo
echo "== XDP: packets by protocol on $IF_B (examples/xdp_counter.dpt), while $NS_A sends 20 UDP, 5 TCP SYN, 4 pings"
sed "s/xdp:veth0/xdp:$IF_B/" examples/xdp_counter.dpt > "/tmp/dptrace-demo-$tag.dpt"
python3 tests/lit/tools/run_traced.py --signal INT \
  --workload "ip netns exec $NS_A python3 -c '$traffic' && ip netns exec $NS_A ping -c 4 -i 0.1 10.250.0.2 > /dev/null" -- \
  ip netns exec "$NS_B" "$DPTRACE" "/tmp/dptrace-demo-$tag.dpt"
rm -f "/tmp/dptrace-demo-$tag.dpt"

echo
echo "== XDP: drop ICMP echo requests with even sequence numbers; ping 6 times"
python3 tests/lit/tools/run_traced.py --signal INT \
  --workload "ip netns exec $NS_A ping -c 6 -i 0.1 -W 1 10.250.0.2 | grep -E 'icmp_seq|transmitted' || true" -- \
  ip netns exec "$NS_B" "$DPTRACE" -e "xdp:$IF_B /icmp && icmp.type == 8 && (icmp.seq % 2) == 0/ { @dropped[icmp.seq] = count(); drop(); }"
cleanup

echo
echo "== tracing: the getpid() calls of $BUILD_DIR/tests/fixtures/getpids 1000"
python3 tests/lit/tools/run_traced.py --workload "$BUILD_DIR/tests/fixtures/getpids 1000" --signal INT -- \
  "$DPTRACE" -e 'BEGIN { printf("tracing getpid() ... \n"); }
tracepoint:syscalls:sys_enter_getpid /comm == "getpids"/ {
  @calls[comm] = count();
  if (@last != 0) { @gap_ns = hist(nsecs - @last); }
  @last = nsecs;
}
END { clear(@last); printf("done after %d ms\n", elapsed / 1000000); }'

echo
echo "== a script with three syntax errors: all are reported (exit status 1 expected)"
status=0
$DPTRACE -e 'tracepoint:syscalls:sys_enter_getpid { if pid > 1 { @n = count(); } }
interval:ms:100 /@n / 2 == 30/ { exit(); }
END { printf("%d\n", @n) @polls = count(); }' || status=$?
echo "exit status: $status"
[ "$status" -eq 1 ]

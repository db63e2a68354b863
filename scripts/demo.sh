#!/usr/bin/env bash
# Installs the packages, builds dptrace, and traces a real workload: a small
# program makes 1000 getpid() calls while dptrace counts them through a
# tracepoint and prints a histogram and a printf per second. Then it shows the
# diagnostics a mistyped script gets. Needs root (BPF).
# (The xdp issue turns this into a live XDP counter on a veth pair.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
DPTRACE=build/tools/dptrace

echo
echo "== counting the getpid() calls of build/tests/fixtures/getpids 1000"
python3 tests/lit/tools/run_traced.py --workload 'build/tests/fixtures/getpids 1000' --signal INT -- \
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

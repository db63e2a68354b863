#!/usr/bin/env bash
# Runs every test: installs the packages (unless DPTRACE_SKIP_INSTALL=1),
# builds, then ctest runs lit (+FileCheck), the unit tests, the install check
# and the fuzz targets (frontend 150 s, to the BPF object; afxdp bodies 20 s; cache, pcap, ELF and BTF 60 s
# each; tracepoint formats 30 s; lit runs alone, the rest two at a time). Exit status 0 only if all pass.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${DPTRACE_SKIP_INSTALL:-0}" != 1 ]; then bash scripts/install-deps.sh; fi
bash scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
status=0
(cd "$BUILD_DIR" && ctest --output-on-failure -j2) || status=$?
log="$BUILD_DIR/Testing/Temporary/LastTest.log"
echo "---- lit summary"
grep -E '^(Total Discovered Tests|  Passed|  Failed|  Unsupported)' "$log" || true
grep -E 'note: SKIP' "$log" || true  # what lit left out on this machine, and why
echo "---- fuzz summary"
grep -E '^stat::number_of_executed_units|fuzzing found nothing|FUZZ FAILED' "$log" || true
# Last, where a shortened log still shows it: the tests that passed only when
# tried again (ALLOW_RETRIES, for counts a loaded machine can disturb), then
# each failing lit test by name and the end of what it printed.
if grep -qE '^FLAKYPASS: ' "$log"; then
    echo "---- lit tests that passed when tried again"
    grep -E '^FLAKYPASS: ' "$log"
fi
if grep -qE '^(FAIL|XPASS|UNRESOLVED|TIMEOUT): ' "$log"; then
    echo "---- failing lit tests"
    grep -E '^(FAIL|XPASS|UNRESOLVED|TIMEOUT): ' "$log"
    awk '/^\*+ TEST .* FAILED \*+$/ { name = $0; n = 0; inside = 1; next }
         inside && /^\*+$/ { print name; start = (n > 40) ? n - 40 : 0
                              for (i = start; i < n; i++) print "  " lines[i]; inside = 0; next }
         inside { lines[n++] = $0 }' "$log"
fi
exit "$status"

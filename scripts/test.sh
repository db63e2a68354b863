#!/usr/bin/env bash
# Runs every test: installs the packages (unless DPTRACE_SKIP_INSTALL=1),
# builds, then ctest runs lit (+FileCheck), the unit tests, the install check
# and the fuzz targets (frontend 60 s, to the BPF object; afxdp bodies 20 s; cache, pcap, ELF and BTF 60 s
# each; lit runs alone, the rest two at a time). Exit status 0 only if all pass.
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
echo "---- fuzz summary"
grep -E '^stat::number_of_executed_units|fuzzing found nothing|FUZZ FAILED' "$log" || true
exit "$status"

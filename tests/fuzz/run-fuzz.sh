#!/bin/sh
# run-fuzz.sh FUZZER CORPUS DICT SECONDS [MAX_LEN]: fuzz for SECONDS from the kept corpus
# (read only: new inputs go to a scratch directory) and fail on any crash,
# leak, sanitizer report or input that runs longer than 10 s; a failing input
# is kept in the current directory (ctest's: build/tests/fuzz).
set -eu
fuzzer=$1 corpus=$2 dict=$3 seconds=$4 max_len=${5:-4096}
DPTRACE_TRACEFS="$(cd "$(dirname "$0")/../lit/inputs/tracefs" && pwd)"
export DPTRACE_TRACEFS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/new" "$work/artifacts"
echo "fuzzing $(basename "$fuzzer") for ${seconds}s from $(ls "$corpus" | wc -l) corpus inputs"
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
  -dict="$dict" -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
  "$work/new" "$corpus" > "$work/log" 2>&1 || status=$?
grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE' "$work/log" || true
if [ "$status" -ne 0 ] || [ -n "$(ls "$work/artifacts")" ]; then
  tail -60 "$work/log"
  for f in "$work"/artifacts/*; do
    [ -e "$f" ] || continue
    cp "$f" .
    echo "--- failing input kept as $(pwd)/$(basename "$f"); base64:"
    base64 "$f"
  done
  echo "FUZZ FAILED (exit $status)"
  exit 1
fi
echo "fuzzing found nothing"

#!/usr/bin/env bash
# Configures (clang 19, Ninja) and builds dptrace into build/. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  CC=clang-19 CXX=clang++-19 cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDPTRACE_FUZZ_SECONDS="${DPTRACE_FUZZ_SECONDS:-150}"
fi
ninja -C "$BUILD_DIR" -j2

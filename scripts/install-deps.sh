#!/usr/bin/env bash
# Installs every Debian 12 package dptrace needs to build, test and run.
# Idempotent: apt-get skips what is already installed.
set -euo pipefail

BUILD_PKGS=(
  cmake ninja-build build-essential pkg-config
  llvm-19-dev libclang-19-dev clang-19 libclang-rt-19-dev llvm-19-tools
  libbpf-dev libxdp-dev libelf-dev libdw-dev zlib1g-dev
  bison flex libcli11-dev libgtest-dev libpcap-dev libmicrohttpd-dev libcurl4-openssl-dev
  lld-19 libzstd-dev
)
RUN_PKGS=(
  bpftool iproute2 xdp-tools ethtool iputils-ping dwarves
  dpdk dpdk-dev libdpdk-dev python3-scapy groff-base man-db bpftrace
  libc6-dbg tcpdump nftables python3-matplotlib prometheus
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${BUILD_PKGS[@]}" "${RUN_PKGS[@]}"

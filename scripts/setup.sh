#!/usr/bin/env bash
# Installs the Debian packages Mugai needs (idempotent) and builds build/mugai.
#   scripts/setup.sh            install + release build into build/
#   MUGAI_NO_INSTALL=1 ...      skip apt (packages already present)
#   MUGAI_FIDELITY=1 ...        also install the real consumers of the fidelity test
#                               (LibreOffice, pdftotext: scripts/deps-fidelity.txt, ~400 MB)
#   BUILD_DIR=dir CMAKE_ARGS=".." scripts/setup.sh   another build tree / extra cmake flags
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${MUGAI_NO_INSTALL:-}" ]; then
  lists=(scripts/deps.txt)
  [ -z "${MUGAI_FIDELITY:-}" ] || lists+=(scripts/deps-fidelity.txt)
  mapfile -t pkgs < <(cat "${lists[@]}" | grep -v '^#' | grep -v '^$')
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

BUILD_DIR="${BUILD_DIR:-build}"
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -G Ninja ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
echo "setup: built $BUILD_DIR/mugai"

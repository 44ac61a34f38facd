#!/usr/bin/env bash
# Install what tinybench needs on Debian/Ubuntu: the Arm GCC toolchain and Chromium with its
# driver (apt; the dashboard's browser tests use them) and the package with its TVM and
# developer extras (pip, into the active Python environment).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib
          chromium chromium-driver)
if ! command -v arm-none-eabi-gcc >/dev/null || ! dpkg -s "${packages[@]}" >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${packages[@]}"
fi

python3 -m pip install -q -e ".[tvm,renode,board,dev]"

#!/usr/bin/env bash
# Install what tinybench needs on Debian/Ubuntu: the Arm GCC toolchain and Chromium with its
# driver (apt; the dashboard's browser tests use them), the package with its extras at the exact
# versions of constraints.txt (pip, into the active Python environment), and the pinned TFLM /
# CMSIS-NN sources (downloaded into ~/.cache/tinybench unless present).
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

python3 -m pip install -q -c constraints.txt -e ".[tvm,renode,board,dev]"

if ! tinybench deps fetch; then
    echo "install.sh: the TFLM sources could not be downloaded; the tflm and cmsis-nn backends" \
         "skip until \`tinybench deps fetch\` succeeds (see README, Upstream sources)" >&2
fi

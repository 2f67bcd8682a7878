#!/usr/bin/env bash
# Installs the Debian 12 packages that ultralight-ko builds, tests and benchmarks with.
# Idempotent: installs only what is missing; uses sudo only when not root.
#   install-deps.sh        what building the library, the tools and the demos needs
#   install-deps.sh test   plus what the test suite drives: Chromium and a Korean font (the web
#                          page test), Node.js and npm where no node is installed yet, PyTorch (the
#                          training smoke test)
set -euo pipefail
packages=(g++ cmake make ninja-build pkg-config libxsimd-dev xtl-dev libsentencepiece-dev sentencepiece doctest-dev
          libcxxopts-dev libbenchmark-dev nlohmann-json3-dev libedit-dev libcpp-httplib-dev)
if [ "${1:-}" = test ]; then
  # python3-torch, python3-numpy: tools/train/ and its smoke test (ctest -L train); libopenblas0-pthread
  # gives Debian's PyTorch an optimized BLAS (30x the generic one's matmul speed on 2 cores).
  packages+=(chromium fonts-nanum python3-torch python3-numpy libopenblas0-pthread)
  command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Installs what factormer needs from Debian 12 packages. Idempotent and
# noninteractive: packages already present are skipped, and the package
# lists are refreshed once, only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache
  libgraphblas-dev libsuitesparse-dev libsuperlu-dev
  libopenblas-dev liblapacke-dev zlib1g-dev
  libcriterion-dev
  clang libclang-rt-dev libomp-dev
  gnuplot-nox
  libopenmpi-dev openmpi-bin
  python3 python3-numpy python3-scipy python3-sklearn
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

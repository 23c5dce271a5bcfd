#!/usr/bin/env bash
# Builds the peers of perf/ that live outside the library: today amg_pcg
# (hypre's BoomerAMG-preconditioned CG, perf/peers/amg_pcg.c) into
# build-peers/amg_pcg. Installs Debian's libhypre-dev (which pulls Open MPI)
# when it is missing: idempotent and noninteractive, like
# scripts/install-deps.sh, whose list it does not join. Neither the library,
# its CMake build, scripts/install-deps.sh nor CI needs hypre.
#
#   perf/peers/build.sh            # -> build-peers/amg_pcg
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/build-peers"

packages=(libhypre-dev zlib1g-dev pkg-config)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "build-peers: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian ships no hypre.pc: use it if some other install does, else the
# headers under /usr/include/hypre and libHYPRE from the default path.
if pkg-config --exists hypre 2>/dev/null; then
  read -r -a hypre_flags <<<"$(pkg-config --cflags --libs hypre)"
else
  [ -f /usr/include/hypre/HYPRE.h ] || { echo "build-peers: /usr/include/hypre/HYPRE.h not found" >&2; exit 1; }
  hypre_flags=(-I/usr/include/hypre -lHYPRE)
fi

command -v mpicc >/dev/null || { echo "build-peers: mpicc not found (Open MPI comes with libhypre-dev)" >&2; exit 1; }
mkdir -p "$out"
nice -n 19 mpicc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -Werror \
  -o "$out/amg_pcg" "$root/perf/peers/amg_pcg.c" "${hypre_flags[@]}" -lz -lm
echo "build-peers: $out/amg_pcg"

#!/usr/bin/env bash
# tools/install-deps.sh — installs every Debian package llmc needs. Idempotent: skips
# what is already installed, runs `apt-get update` before installing anything.
# Every issue that needs a new package adds it here, and only here.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config   # the build
  llvm-19-dev                        # codegen + ORC JIT (C API, shared libLLVM)
  libffi-dev                         # extern ops called with native signatures
  libopenmpi-dev openmpi-bin         # distributed training
  fortunes                           # the default corpus (/usr/share/games/fortunes)
  libopenblas0-pthread               # llmbench's sgemm baseline only (dlopen'd, never linked)
  libxml2-utils                      # xmllint: test_llmplot checks its SVG is well-formed XML
  python3                            # test scripts (tests/corpus.py, checks in tests/mpi, tests/run)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"

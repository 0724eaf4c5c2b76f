#!/usr/bin/env bash
# Runs the fusion package's tests, golden vectors included, as an arm64
# binary under qemu user emulation. arm64 fuses multiply-adds where amd64
# does not; the golden test fails if any fused byte differs from the
# sha256 recorded on amd64 in consensus/fusion/testdata/golden/expected.txt.
# It runs the content-identity packages too (p2p/lanehash, p2p/ufs): on
# arm64 they hash with crypto/sha256 and must give the CIDs kubo gives.
set -euo pipefail
cd "$(dirname "$0")/.."

export GOFLAGS="${GOFLAGS:--buildvcs=false}"
qemu="$(command -v qemu-aarch64-static || true)"
if [ -z "$qemu" ]; then
  echo "fusion-arm64: installing qemu-user-static"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static >/dev/null
  qemu="$(command -v qemu-aarch64-static)"
fi

echo "fusion-arm64: amd64 (native) tests"
go test -count=1 ./consensus/fusion/
echo "fusion-arm64: arm64 tests under $qemu"
GOARCH=arm64 go test -count=1 -timeout 20m -exec "$qemu" ./consensus/fusion/ ./p2p/lanehash/ ./p2p/ufs/

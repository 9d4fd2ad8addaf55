#!/usr/bin/env bash
# The 16-core scaling run, as one command for the device machine, which has no Node and no node_modules.
# Prepare here with bench/device-pack.sh (fills .device/, about 60 MiB), then run this there with `.device`
# carried. SIZES and ROUNDS override the defaults; what it prints and bench/SCALING.md come back in $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p /tmp/nodebin
xz -dc .device/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node
xz -dc .device/tree.tar.xz | tar -xf -
export PATH=/tmp/nodebin:$PATH
node --version
node bench/scaling.mjs --sizes "${SIZES:-1,2,4,8,15}" --rounds "${ROUNDS:-2}" 2>&1 | tee "${OUT:-/tmp}/scaling.log"
cp bench/SCALING.md bench/results.json "${OUT:-/tmp}/"

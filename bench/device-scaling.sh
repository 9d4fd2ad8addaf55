#!/usr/bin/env bash
# The 16-core scaling run, as one command for the device machine, which has no Node. Prepare here first:
#   mkdir -p .device && xz -T0 -c "$(command -v node)" > .device/node.xz
# then run this with `.device`, `node_modules` and `dist` carried (node_modules pruned to fit 64 MiB if needed).
set -euo pipefail
mkdir -p /tmp/nodebin && xz -dc .device/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node
export PATH=/tmp/nodebin:$PATH
node bench/scaling.mjs --sizes "${SIZES:-1,2,4,8,15}" --rounds "${ROUNDS:-2}" 2>&1 | tee "${OUT:-/tmp}/scaling.log"
cp bench/SCALING.md bench/results.json "${OUT:-/tmp}/" 2>/dev/null || true

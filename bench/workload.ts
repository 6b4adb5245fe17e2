import { marked } from "marked"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

/**
 * The benchmark workloads. `hello` and `fib` are written once as plain JavaScript: the raw node:http
 * baseline runs these functions directly, and the platform runs the same text as script sources.
 * `kv`'s baseline does its reads and writes with SQL (bench/rawKvServer.ts).
 */
export const helloSource = `export default function () {
  return "Hello, world!"
}`

export const fibSource = `export default function (request) {
  const { n } = request.json()
  let a = 0, b = 1
  for (let i = 0; i < n; i++) { const t = a + b; a = b; b = t }
  const headers = {}
  for (let i = 0; i < 10; i++) headers["x-h" + i] = request.headers["x-h" + i]
  return { fib: a, headers }
}`

/**
 * A real library, CPU-bound: marked's ESM bundle (from npm, a dev dependency) pasted into the script
 * as a developer would, its closing `export { local as name, ... }` turned into an object the handler
 * reads (a script's module may export only its handler that way). The request body is markdown; the
 * answer is its HTML.
 */
const markedBundle = readFileSync(fileURLToPath(import.meta.resolve("marked")), "utf8")
const EXPORT_LIST = /export\s*\{([^}]*)\};?/
if (!EXPORT_LIST.test(markedBundle)) throw new Error("marked's bundle has no export list to rewrite")
export const markedSource =
  markedBundle.replace(EXPORT_LIST, (_, list: string) =>
    `const markedExports = {${
      list.split(",").map((entry) => {
        const [local, , name] = entry.trim().split(/\s+/)
        return `${name ?? local}: ${local}`
      }).join(", ")
    }};`) + `
export default function (request) {
  return markedExports.marked.parse(request.body)
}`

/** The markdown each `marked` request sends: a small page with the usual blocks. */
export const markdownBody = [
  "# Release notes",
  "",
  "Some *emphasis*, **strong text**, `inline code` and a [link](https://example.com/docs).",
  "",
  "## Changes",
  "",
  "- faster sandbox messages",
  "- fewer threads on small machines",
  "- [x] a checked item",
  "",
  "> A quote, with a second line",
  "> that continues it.",
  "",
  "```js",
  "const answer = 42",
  "```",
  "",
  "| a | b |",
  "|---|---|",
  "| 1 | 2 |",
  ""
].join("\n")

/** The raw baseline's equivalents of the scripts. */
export const hello = () => "Hello, world!"

export const fib = (body: string, header: (name: string) => string | undefined) => {
  const { n } = JSON.parse(body) as { n: number }
  let a = 0
  let b = 1
  for (let i = 0; i < n; i++) {
    const t = a + b
    a = b
    b = t
  }
  const headers: Record<string, string | undefined> = {}
  for (let i = 0; i < 10; i++) headers["x-h" + i] = header("x-h" + i)
  return { fib: a, headers }
}

export const renderMarkdown = (body: string) => marked.parse(body, { async: false })

/** Ten request headers, sent on every fib request and echoed back. */
export const benchHeaders = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x-h${i}`, `value-${i}`]))

/**
 * How many keys the kv workload spreads over (`?k=` is drawn from 0 to KV_KEYS - 1 per request):
 * with 32 requests in flight, two rarely want the same row, so neither side spends the run
 * waiting on one row's lock.
 */
export const KV_KEYS = 1000

/** The key `?k=` names, on both sides. */
export const kvKey = (k: string) => "bench/" + k

/** One read and one write of the key the query names: a counter. */
export const kvSource = `export default async function (request) {
  const key = "bench/" + request.query.k
  const n = (await kv.get(key)) ?? 0
  await kv.set(key, n + 1)
  return { n: n + 1 }
}`

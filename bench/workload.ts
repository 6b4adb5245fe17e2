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

/** The raw baseline's equivalents of the two scripts. */
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

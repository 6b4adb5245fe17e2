/**
 * The load generator every HTTP workload is driven with: autocannon in its own process (so the
 * client's work is not measured in ours), keep-alive, a fixed number of connections for a fixed
 * time. Its JSON result is read back as one sample.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { median } from "./stats.ts"

const AUTOCANNON = fileURLToPath(import.meta.resolve("autocannon/autocannon.js"))
const RANDOM_KEY_LOAD = fileURLToPath(new URL("randomKeyLoad.ts", import.meta.url))

export interface Sample {
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly p999: number
  /** Responses that were not 2xx, connection errors and timeouts. */
  readonly failures: number
  /** 2xx responses. */
  readonly ok: number
}

/** The fields of autocannon's result we read (its `-j` output and its API's result are the same object). */
export interface AutocannonResult {
  readonly requests: { readonly average: number }
  readonly latency: { readonly p50: number; readonly p99: number; readonly p99_9: number }
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
  readonly "2xx": number
}

const sampleOf = (out: AutocannonResult): Sample => ({
  rps: out.requests.average,
  p50: out.latency.p50,
  p99: out.latency.p99,
  p999: out.latency.p99_9,
  failures: out.non2xx + out.errors + out.timeouts,
  ok: out["2xx"]
})

/** Asynchronous, so this process can watch the target (its memory) while the load runs. */
const run = async (args: ReadonlyArray<string>): Promise<Sample> => {
  const { stdout } = await promisify(execFile)(process.execPath, args, {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024
  })
  return sampleOf(JSON.parse(stdout))
}

export interface LoadOptions {
  readonly connections: number
  readonly durationSeconds: number
  readonly headers: Record<string, string>
}

/** Each figure's median over the rounds; failures and 2xx responses are totals. */
export const medianSample = (xs: ReadonlyArray<Sample>): Sample => ({
  rps: median(xs.map((s) => s.rps)),
  p50: median(xs.map((s) => s.p50)),
  p99: median(xs.map((s) => s.p99)),
  p999: median(xs.map((s) => s.p999)),
  failures: xs.reduce((n, s) => n + s.failures, 0),
  ok: xs.reduce((n, s) => n + s.ok, 0)
})

/** One round's line. */
export const formatRound = (round: number, label: string, s: Sample) =>
  `  round ${round} ${label.padEnd(14)} ${
    s.rps.toFixed(0).padStart(7)
  } req/s  p50 ${s.p50} ms  p99 ${s.p99} ms  p99.9 ${s.p999} ms${s.failures ? `  FAILURES ${s.failures}` : ""}`

/** The medians' table: a header, then a line per label. */
export const formatMedians = (title: string, medians: ReadonlyArray<readonly [string, Sample]>) =>
  [
    `\n${title.padEnd(24)}req/s    p50 ms   p99 ms p99.9 ms  failures`,
    ...medians.map(([label, s]) =>
      `  ${label.padEnd(18)} ${s.rps.toFixed(0).padStart(8)} ${String(s.p50).padStart(8)} ${
        String(s.p99).padStart(8)
      } ${String(s.p999).padStart(8)} ${String(s.failures).padStart(9)}`
    )
  ].join("\n")

/** The same request over and over (autocannon's command line). */
export const drive = (
  url: string,
  options: LoadOptions & { readonly method?: string; readonly body?: string }
): Promise<Sample> => {
  const args = [AUTOCANNON, "-j", "-c", String(options.connections), "-d", String(options.durationSeconds)]
  if (options.method !== undefined) args.push("-m", options.method)
  if (options.body !== undefined) args.push("-b", options.body)
  for (const [name, value] of Object.entries(options.headers)) args.push("-H", `${name}=${value}`)
  args.push(url)
  return run(args)
}

/**
 * GETs of `url` with `?k=<n>`, `n` drawn uniformly from 0 to `keys - 1` afresh for each request
 * (autocannon's API with a `setupRequest`, which its command line has no equivalent for).
 */
export const driveRandomKeys = (url: string, options: LoadOptions & { readonly keys: number }): Promise<Sample> =>
  run([RANDOM_KEY_LOAD, JSON.stringify({ url, ...options })])

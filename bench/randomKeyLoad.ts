/**
 * Run by bench/load.ts in its own process: autocannon's API driving GETs of a URL with a random
 * `?k=` on each request, printing autocannon's JSON result as its command line's `-j` would.
 */
import { createRequire } from "node:module"
import type { AutocannonResult, LoadOptions } from "./load.ts"

interface Options extends LoadOptions {
  readonly url: string
  readonly keys: number
}

interface Request {
  readonly path: string
}

// autocannon is CommonJS without types: only what is used here is declared.
const autocannon = createRequire(import.meta.url)("autocannon") as (
  options: {
    readonly url: string
    readonly connections: number
    readonly duration: number
    readonly headers: Record<string, string>
    readonly requests: ReadonlyArray<{ readonly setupRequest: (request: Request) => Request }>
  },
  done: (error: Error | null, result: AutocannonResult) => void
) => unknown

const options = JSON.parse(process.argv[2]!) as Options
const { pathname } = new URL(options.url)

autocannon({
  url: options.url,
  connections: options.connections,
  duration: options.durationSeconds,
  headers: options.headers,
  requests: [{
    setupRequest: (request) => ({ ...request, path: `${pathname}?k=${Math.floor(Math.random() * options.keys)}` })
  }]
}, (error, result) => {
  if (error !== null) throw error
  process.stdout.write(JSON.stringify(result))
})

import { mkdtempSync, rmSync } from "node:fs"
import { get as httpGet } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import { sseReader } from "../support/sse.ts"
import { exitWithin, freePort, startPicloud } from "./picloudProcess.ts"

const TOKEN = "e2e-tail-token"
const dataDir = mkdtempSync(join(tmpdir(), "picloud-tail-"))
const start = async () =>
  startPicloud({
    dataDir,
    port: await freePort(),
    env: { PICLOUD_ADMIN_TOKEN: TOKEN, PICLOUD_SHUTDOWN_TIMEOUT: "20 seconds" }
  })
let picloud: Awaited<ReturnType<typeof start>>
const readers: Array<ReturnType<typeof sseReader>> = []

beforeAll(async () => {
  picloud = await start()
}, 120_000)
// A reader left open and unread would be dropped by the next test's records, and its connection,
// full, would hold the server's drain at shutdown until PICLOUD_SHUTDOWN_TIMEOUT.
afterEach(async () => {
  await Promise.all(readers.splice(0).map((reader) => reader.close()))
})
afterAll(async () => {
  picloud?.child.kill("SIGTERM")
  await picloud?.exited
  rmSync(dataDir, { recursive: true, force: true })
}, 60_000)

const request = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${picloud.url}${path}`, {
    signal: AbortSignal.timeout(30_000),
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    body: body === undefined ? null : JSON.stringify(body)
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: text.startsWith("{") ? JSON.parse(text) : undefined }
}

/** Opens the live tail with a real HTTP client, reading the body as it arrives. */
const tail = async (query = "", headers: Record<string, string> = {}) => {
  const res = await fetch(`${picloud.url}/api/admin/executions/stream${query}`, {
    headers: { authorization: `Bearer ${TOKEN}`, ...headers }
  })
  assert.strictEqual(res.status, 200)
  assert.strictEqual(res.headers.get("content-type"), "text/event-stream")
  const reader = sseReader(res)
  readers.push(reader)
  return reader
}

/** Runs script `s` synchronously: its execution id, and when the reply came. */
const run = async () => {
  const res = await request("GET", "/api/execute/default/s")
  assert.strictEqual(res.status, 200, res.text)
  return { id: res.headers.get("x-picloud-execution-id")!, at: Date.now() }
}

/** The ids of the next `n` execution events. */
const ids = async (reader: ReturnType<typeof sseReader>, n: number) => {
  const out: Array<string> = []
  while (out.length < n) {
    const event = await reader.next(5_000)
    assert.strictEqual(event?.event, "execution", JSON.stringify(event))
    out.push(event!.id!)
  }
  return out
}

describe("live tail of executions (the real process)", () => {
  it("a sync execution's record arrives within 1 s of its reply; an async one's within 1 s of its end", async () => {
    const created = await request("POST", "/api/admin/scripts", {
      name: "s",
      source: "export default () => { console.log('tailed'); return 'ok' }"
    })
    assert.strictEqual(created.status, 201, created.text)
    const reader = await tail()
    const { id, at } = await run()
    const event = await reader.next(1_000)
    assert.isBelow(Date.now() - at, 1_000)
    assert.strictEqual(event?.id, id)
    const record = JSON.parse(event!.data)
    assert.deepStrictEqual([record.id, record.status, record.logs[0].message], [id, "succeeded", "tailed"])

    const route = await request("POST", "/api/admin/routes", {
      method: "POST",
      path: "/later",
      script: "s",
      dispatch_mode: "async"
    })
    assert.strictEqual(route.status, 201, route.text)
    const accepted = await request("POST", "/default/later")
    assert.strictEqual(accepted.status, 202, accepted.text)
    const done = await request("GET", `/api/executions/${accepted.json.execution_id}?wait=10`)
    assert.strictEqual(done.json.status, "succeeded", done.text)
    const ended = Date.now()
    const async = await reader.next(1_000)
    assert.isBelow(Date.now() - ended, 1_000)
    assert.strictEqual(async?.id, accepted.json.execution_id)
    assert.strictEqual(JSON.parse(async!.data).invocation, "http")
  })

  it("?since=<id> replays the records after it, then follows", async () => {
    const [a, b, c] = [await run(), await run(), await run()]
    const reader = await tail(`?since=${a.id}`)
    assert.deepStrictEqual(await ids(reader, 2), [b.id, c.id])
    const d = await run()
    assert.deepStrictEqual(await ids(reader, 1), [d.id])
  })

  it("a reader that stops reading is dropped: it gets what its stream held, then `event: dropped`", async () => {
    const created = await request("POST", "/api/admin/scripts", {
      name: "loud",
      source: "export default () => { console.log('x'.repeat(60000)); return 'ok' }"
    })
    assert.strictEqual(created.status, 201, created.text)
    // A raw HTTP client whose reading is paused: the socket fills, then the server's buffers.
    const body = new Promise<string>((resolve, reject) => {
      const req = httpGet(`${picloud.url}/api/admin/executions/stream?script=${created.json.id}`, {
        headers: { authorization: `Bearer ${TOKEN}` }
      }, (res) => {
        res.pause()
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (text += chunk))
        res.on("end", () => resolve(text))
        res.on("error", reject)
        paused.resume = () => res.resume()
      })
      req.on("error", reject)
    })
    const paused: { resume?: () => void } = {}
    for (let i = 0; i < 50 && paused.resume === undefined; i++) await new Promise((r) => setTimeout(r, 20))
    const runs = 400
    for (let n = 0; n < runs; n += 8) {
      await Promise.all(Array.from({ length: 8 }, async () => {
        const res = await request("GET", "/api/execute/default/loud")
        assert.strictEqual(res.status, 200, res.text)
      }))
    }
    paused.resume!()
    const text = await body
    const events = text.split("\n\n").filter((block) => block.includes("event: "))
    const last = events.at(-1)!
    assert.match(last, /^event: dropped\ndata: \{"reason":"dropped"/)
    const delivered = events.filter((block) => block.includes("event: execution")).length
    assert.isAbove(delivered, 0)
    assert.isBelow(delivered, runs)
  }, 120_000)

  it("shutdown ends open streams with `event: shutdown` at once; after a restart, ?since replays from the log", async () => {
    const before = [await run(), await run()]
    const reader = await tail()
    const stopping = Date.now()
    picloud.child.kill("SIGTERM")
    const last = await reader.next(5_000)
    assert.strictEqual(last?.event, "shutdown")
    assert.strictEqual(JSON.parse(last!.data).reason, "shutdown")
    assert.isUndefined(await reader.next(5_000), "the stream ends")
    assert.strictEqual(await exitWithin(picloud, 15_000), 0)
    assert.isBelow(Date.now() - stopping, 10_000, "the open stream did not hold the drain")

    picloud = await start()
    const after = await run()
    const resumed = await tail(`?since=${before[0]!.id}`)
    assert.deepStrictEqual(await ids(resumed, 2), [before[1]!.id, after.id])
    const more = await run()
    assert.deepStrictEqual(await ids(resumed, 1), [more.id])
  })
})

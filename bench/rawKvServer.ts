/**
 * The kv workload's baseline: a bare node:http server with a node-postgres pool, on the same
 * PostgreSQL and the same rows as PiCloud (its `kv` table, the default app's keys), doing per
 * request the read and the upsert a developer would write by hand, in two round trips:
 *
 *   - `kv.get`: one SELECT of the key;
 *   - `kv.set`: one `INSERT ... ON CONFLICT DO UPDATE` with version + 1 (atomic by itself).
 *
 * PiCloud's store also takes two round trips here (src/manager/KvStoreSql.ts: a lone write without
 * `ifVersion` is one UPDATE that also answers the old value, for trigger events).
 *
 * What it does not do that PiCloud does: check the bearer token, route the request, run the script
 * in a QuickJS sandbox on a worker thread (each `kv` call a message to the main thread and back),
 * check keys and values (size, text PostgreSQL can store), decode rows through schemas, and write
 * the execution's record (a batched insert into `executions` after the reply).
 *
 *   node bench/rawKvServer.ts <port> <database url> <pool size>
 */
import { createServer } from "node:http"
import pg from "pg"
import { kvKey } from "./workload.ts"

const [port, url, poolSize] = process.argv.slice(2)
const pool = new pg.Pool({ connectionString: url, max: Number(poolSize) })
pool.on("error", (error) => console.error(`raw kv pool: ${error.message}`))

const READ = "SELECT value, version FROM kv WHERE app_id = $1 AND key = $2"
const WRITE = `
  INSERT INTO kv (app_id, key, value, version) VALUES ($1, $2, $3::jsonb, 1)
  ON CONFLICT (app_id, key) DO UPDATE SET value = EXCLUDED.value, version = kv.version + 1, updated_at = now()
  RETURNING version, updated_at`

const { rows: [app] } = await pool.query<{ id: string }>("SELECT id FROM apps WHERE name = 'default'")
const appId = app!.id

const counter = async (k: string) => {
  const key = kvKey(k)
  const { rows } = await pool.query<{ value: number }>(READ, [appId, key])
  const n = (rows[0]?.value ?? 0) + 1
  await pool.query(WRITE, [appId, key, JSON.stringify(n)])
  return { n }
}

createServer((req, res) => {
  const { pathname, searchParams } = new URL(req.url ?? "/", "http://localhost")
  const k = searchParams.get("k")
  if (pathname !== "/kv" || k === null) {
    res.writeHead(404)
    res.end()
    return
  }
  counter(k).then(
    (body) => {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify(body))
    },
    (error: Error) => {
      res.writeHead(500, { "content-type": "text/plain; charset=utf-8" })
      res.end(error.message)
    }
  )
}).listen(Number(port), "127.0.0.1", () => process.stdout.write("ready\n"))

import { assert, describe, it } from "vitest"
import { addRecent, endNote, stateAfterError, streamUrl, TAIL_KEEP } from "../../../dashboard/src/lib/tail.ts"

describe("dashboard: the live tail", () => {
  it("the stream URL carries the filters set (not others), and since on a resume", () => {
    assert.strictEqual(streamUrl({}), "/api/admin/executions/stream")
    assert.strictEqual(
      streamUrl({ app: "shop", script: "", status: "failed", invocation: "http" }),
      "/api/admin/executions/stream?app=shop&status=failed"
    )
    assert.strictEqual(streamUrl({ app: "shop" }, "abc"), "/api/admin/executions/stream?app=shop&since=abc")
    assert.strictEqual(streamUrl({ app: "shop" }, null), "/api/admin/executions/stream?app=shop")
  })

  it("keeps the newest first, each record once, at most N", () => {
    let list: ReadonlyArray<{ id: string }> = []
    for (let i = 0; i < TAIL_KEEP + 5; i++) list = addRecent(list, { id: String(i) })
    assert.strictEqual(list.length, TAIL_KEEP)
    assert.strictEqual(list[0]!.id, String(TAIL_KEEP + 4))
    assert.strictEqual(list.at(-1)!.id, "5")
    const again = addRecent(list, { id: String(TAIL_KEEP + 4) })
    assert.strictEqual(again, list, "a record replayed after a reconnect is not shown twice")
    assert.deepStrictEqual(addRecent([{ id: "a" }], { id: "b" }, 1), [{ id: "b" }])
  })

  it("an error while EventSource retries is reconnecting; once it gave up, closed", () => {
    assert.strictEqual(stateAfterError(0), "reconnecting")
    assert.strictEqual(stateAfterError(2), "closed")
  })

  it("says why the server ended the stream", () => {
    assert.match(endNote("dropped"), /fell behind/)
    assert.match(endNote("shutdown"), /restarting/)
  })
})

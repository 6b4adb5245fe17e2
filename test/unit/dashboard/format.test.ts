import { assert, describe, it } from "vitest"
import { formatDuration, formatTime, relativeTime } from "../../../dashboard/src/lib/format.ts"

describe("dashboard formatting", () => {
  it("formatDuration picks readable units", () => {
    assert.strictEqual(formatDuration(0), "0 ms")
    assert.strictEqual(formatDuration(849.6), "850 ms")
    assert.strictEqual(formatDuration(1500), "1.5 s")
    assert.strictEqual(formatDuration(42_000), "42 s")
    assert.strictEqual(formatDuration(125_000), "2 min 5 s")
    assert.strictEqual(formatDuration(120_000), "2 min")
    assert.strictEqual(formatDuration(3 * 3_600_000 + 120_000), "3 h 2 min")
    assert.strictEqual(formatDuration(5 * 86_400_000), "5 d")
    assert.strictEqual(formatDuration(-1500), "−1.5 s")
    assert.strictEqual(formatDuration(Number.NaN), "—")
  })

  it("relativeTime says in or ago; a text that is not a time is shown as it is", () => {
    const now = Date.parse("2026-01-01T00:00:00Z")
    assert.strictEqual(relativeTime("2026-01-01T00:05:00Z", now), "in 5 min")
    assert.strictEqual(relativeTime("2025-12-31T23:59:57Z", now), "3.0 s ago")
    assert.strictEqual(relativeTime("2026-01-01T00:00:00.400Z", now), "now")
    assert.strictEqual(relativeTime("soon", now), "soon")
  })

  it("formatTime shows a dash for nothing, and an unparsable text as it is", () => {
    assert.strictEqual(formatTime(null), "—")
    assert.strictEqual(formatTime("nope"), "nope")
    assert.strictEqual(formatTime("2026-01-01T00:00:00Z"), new Date("2026-01-01T00:00:00Z").toLocaleString())
  })
})

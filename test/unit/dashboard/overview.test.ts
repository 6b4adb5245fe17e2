import { assert, describe, it } from "vitest"
import {
  duration,
  linePath,
  niceMax,
  outcomeBars,
  type Stats,
  type StatsMinute,
  totals
} from "../../../dashboard/src/lib/overview.ts"

const minute = (
  i: number,
  outcomes: Record<string, number>,
  p95_ms: number | null = null,
  outbox_wait_ms: number | null = null
): StatsMinute => ({
  at: new Date(Date.UTC(2026, 11, 1, 12, i)).toISOString(),
  outcomes,
  p95_ms,
  rejected_503: 0,
  outbox_wait_ms
})

describe("dashboard: the overview's charts", () => {
  it("totals the hour: by outcome, all, the worst p95 and outbox lag, the 503s", () => {
    const stats: Stats = {
      from: "",
      to: "",
      minutes: [minute(0, { succeeded: 3, failed: 1 }, 40, 1200), minute(1, {}), minute(2, { succeeded: 2 }, 90, 30)],
      outbox: { depth: 0, due: 0, oldest_due_age_seconds: 0 },
      rejected_503: 4
    }
    assert.deepStrictEqual(totals(stats), {
      byOutcome: { succeeded: 5, failed: 1 },
      executions: 6,
      worstP95: 90,
      worstWait: 1200,
      rejected: 4
    })
    assert.isNull(totals({ ...stats, minutes: [minute(0, {})] }).worstP95)
    assert.isNull(totals({ ...stats, minutes: [minute(0, {})] }).worstWait)
  })

  it("rounds an axis up to 1, 2 or 5 times a power of ten", () => {
    assert.deepStrictEqual([0, 1, 3, 7, 10, 11, 180, 0.3].map(niceMax), [1, 1, 5, 10, 10, 20, 200, 0.5])
  })

  it("stacks each minute's outcomes from the bottom, in a fixed order, scaled to the round top", () => {
    const { bars, top } = outcomeBars([minute(0, { failed: 1, succeeded: 3 }), minute(1, {})], 100, 50)
    assert.strictEqual(top, 5)
    assert.deepStrictEqual(bars.map((b) => [b.outcome, b.count, b.x, b.y, b.width, b.height]), [
      ["succeeded", 3, 5, 20, 40, 30],
      ["failed", 1, 5, 10, 40, 10]
    ])
  })

  it("draws a line through the minutes with a value, broken where one has none", () => {
    const { path, top } = linePath([10, 20, null, 5], 40, 100)
    assert.strictEqual(top, 20)
    assert.strictEqual(path, "M5.0 50.0L15.0 0.0M35.0 75.0")
    assert.deepStrictEqual(linePath([10, 20, null, 5], 40, 100).points.map((p) => [p.x, p.y, p.value]), [
      [5, 50, 10],
      [15, 0, 20],
      [35, 75, 5]
    ])
    assert.strictEqual(linePath([null, null], 10, 10).path, "")
  })

  it("says a duration as people read it", () => {
    assert.deepStrictEqual([850.4, 2500, 3000, 200_000].map(duration), ["850 ms", "2.5 s", "3 s", "3 min 20 s"])
  })
})

import { assert, describe, it } from "@effect/vitest"
import { type Cron, Result } from "effect"
import { compileCron, normalizeCron, planTicks, ticksFrom, timeZoneOf } from "../../../src/domain/ScheduleCron.ts"

const at = (iso: string) => Date.parse(iso)
const iso = (ms: number) => new Date(ms).toISOString()

const compiled = (expression: string, zone = "UTC"): Cron.Cron => {
  const cron = compileCron(expression, zone)
  if (Result.isFailure(cron)) throw new Error(cron.failure.reason)
  return cron.success
}

/** The `count` ticks strictly after `after`. */
const ticksAfter = (expression: string, zone: string, after: string, count: number) => {
  const cron = compiled(expression, zone)
  const first = ticksFrom(cron, at(after), 2)[1]!
  return ticksFrom(cron, first, count).map(iso)
}

describe("cron expressions and time zones", () => {
  it("5 fields run at second 0; 6 fields take seconds first", () => {
    assert.deepStrictEqual(ticksAfter("*/15 * * * *", "UTC", "2026-05-01T10:07:30Z", 3), [
      "2026-05-01T10:15:00.000Z",
      "2026-05-01T10:30:00.000Z",
      "2026-05-01T10:45:00.000Z"
    ])
    assert.deepStrictEqual(ticksAfter("*/20 * * * * *", "UTC", "2026-05-01T10:07:30Z", 3), [
      "2026-05-01T10:07:40.000Z",
      "2026-05-01T10:08:00.000Z",
      "2026-05-01T10:08:20.000Z"
    ])
    assert.deepStrictEqual(ticksAfter("0 9 * * MON-FRI", "UTC", "2026-05-01T10:00:00Z", 2), [
      "2026-05-04T09:00:00.000Z",
      "2026-05-05T09:00:00.000Z"
    ])
  })

  it("a zone's wall clock: 09:00 in Berlin is 07:00Z in summer and 08:00Z in winter; in Kolkata 03:30Z", () => {
    assert.deepStrictEqual(ticksAfter("0 9 * * *", "Europe/Berlin", "2026-07-01T00:00:00Z", 1), [
      "2026-07-01T07:00:00.000Z"
    ])
    assert.deepStrictEqual(ticksAfter("0 9 * * *", "Europe/Berlin", "2026-12-01T00:00:00Z", 1), [
      "2026-12-01T08:00:00.000Z"
    ])
    assert.deepStrictEqual(ticksAfter("0 9 * * *", "Asia/Kolkata", "2026-12-01T00:00:00Z", 1), [
      "2026-12-01T03:30:00.000Z"
    ])
  })

  it("spring forward: 02:30 on the day 02:00 becomes 03:00 runs once, at 03:30; the days around it at 02:30", () => {
    // Europe/Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST.
    assert.deepStrictEqual(ticksAfter("30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", 3), [
      "2026-03-28T01:30:00.000Z", // 02:30 CET
      "2026-03-29T01:30:00.000Z", // 03:30 CEST: 02:30 does not exist that day
      "2026-03-30T00:30:00.000Z" // 02:30 CEST
    ])
    // America/New_York, 2026-03-08: an hourly schedule has no 02:00 that day, and no run twice.
    assert.deepStrictEqual(ticksAfter("0 * * * *", "America/New_York", "2026-03-08T05:30:00Z", 3), [
      "2026-03-08T06:00:00.000Z", // 01:00 EST
      "2026-03-08T07:00:00.000Z", // 03:00 EDT
      "2026-03-08T08:00:00.000Z" // 04:00 EDT
    ])
  })

  it("fall back: a fixed time in the repeated hour runs once, at its first occurrence; an hourly schedule keeps its pace", () => {
    // Europe/Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice.
    assert.deepStrictEqual(ticksAfter("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 2), [
      "2026-10-25T00:30:00.000Z", // 02:30 CEST, the first 02:30
      "2026-10-26T01:30:00.000Z" // 02:30 CET
    ])
    // America/New_York, 2026-11-01: 01:00–01:59 happens twice; "0 * * * *" runs at both 01:00s.
    assert.deepStrictEqual(ticksAfter("0 * * * *", "America/New_York", "2026-11-01T04:30:00Z", 4), [
      "2026-11-01T05:00:00.000Z", // 01:00 EDT
      "2026-11-01T06:00:00.000Z", // 01:00 EST
      "2026-11-01T07:00:00.000Z", // 02:00 EST
      "2026-11-01T08:00:00.000Z"
    ])
    assert.deepStrictEqual(ticksAfter("*/30 * * * *", "America/New_York", "2026-11-01T05:10:00Z", 4), [
      "2026-11-01T05:30:00.000Z",
      "2026-11-01T06:00:00.000Z",
      "2026-11-01T06:30:00.000Z",
      "2026-11-01T07:00:00.000Z"
    ])
    // Fixed hours (01:xx only): the first pass only.
    assert.deepStrictEqual(ticksAfter("*/30 1 * * *", "America/New_York", "2026-11-01T04:00:00Z", 3), [
      "2026-11-01T05:00:00.000Z",
      "2026-11-01T05:30:00.000Z",
      "2026-11-02T06:00:00.000Z"
    ])
  })

  it("refuses, naming the field: bad expressions, dates that never come, unknown zones and offsets", () => {
    for (const expression of ["* * * *", "61 * * * *", "*/0 * * * *", "a b c d e", "0 0 L * *", "* * * * * * *"]) {
      const refused = compileCron(expression, "UTC")
      assert.isTrue(Result.isFailure(refused), expression)
      if (Result.isFailure(refused)) {
        assert.strictEqual(refused.failure.field, "cron")
        assert.include(refused.failure.reason, "cron", expression)
      }
    }
    const never = compileCron("0 0 31 2 *", "UTC")
    assert.deepStrictEqual(Result.isFailure(never) && never.failure.field, "cron")
    for (const zone of ["Mars/Olympus", "+02:00", "UTC+1", "GMT-3", "", "Local"]) {
      const refused = compileCron("* * * * *", zone)
      assert.isTrue(Result.isFailure(refused) && refused.failure.field === "timezone", zone)
    }
    assert.strictEqual(Result.getOrThrow(timeZoneOf("europe/berlin")).id, "Europe/Berlin")
    assert.strictEqual(normalizeCron("  0   3 * *  * "), "0 3 * * *")
  })
})

describe("missed ticks", () => {
  const hourly = compiled("0 * * * *")
  const plan = (missed: "skip" | "once" | "all", now: string, due = "2026-05-01T11:00:00Z", maxCatchUp = 100) =>
    planTicks(hourly, { due: at(due), now: at(now), missed, graceMs: 60_000, maxCatchUp })

  it("a tick picked up on time (within the grace) runs whatever the policy; the next is the one after now", () => {
    for (const missed of ["skip", "once", "all"] as const) {
      const { fire, skipped, next } = plan(missed, "2026-05-01T11:00:00.004Z")
      assert.deepStrictEqual([fire.map(iso), skipped, next && iso(next)], [
        ["2026-05-01T11:00:00.000Z"],
        0,
        "2026-05-01T12:00:00.000Z"
      ], missed)
    }
  })

  it("down from before 11:00 until 15:10: skip runs none, once one (the latest tick), all each of the five", () => {
    const skip = plan("skip", "2026-05-01T15:10:00Z")
    assert.deepStrictEqual([skip.fire, skip.skipped, iso(skip.next!)], [[], 5, "2026-05-01T16:00:00.000Z"])
    const once = plan("once", "2026-05-01T15:10:00Z")
    assert.deepStrictEqual([once.fire.map(iso), once.skipped], [["2026-05-01T15:00:00.000Z"], 4])
    const all = plan("all", "2026-05-01T15:10:00Z")
    assert.deepStrictEqual([all.fire.map(iso), all.skipped], [[
      "2026-05-01T11:00:00.000Z",
      "2026-05-01T12:00:00.000Z",
      "2026-05-01T13:00:00.000Z",
      "2026-05-01T14:00:00.000Z",
      "2026-05-01T15:00:00.000Z"
    ], 0])
    const capped = plan("all", "2026-05-01T15:10:00Z", undefined, 3)
    assert.deepStrictEqual([capped.fire.map(iso), capped.skipped], [[
      "2026-05-01T13:00:00.000Z",
      "2026-05-01T14:00:00.000Z",
      "2026-05-01T15:00:00.000Z"
    ], 2], "the latest PICLOUD_MAX_CATCH_UP; the older are skipped")
  })

  it("with a later tick due too, the earlier ones were missed; the latest runs if it is on time (skip)", () => {
    const skip = plan("skip", "2026-05-01T13:00:20Z")
    assert.deepStrictEqual([skip.fire.map(iso), skip.skipped], [["2026-05-01T13:00:00.000Z"], 2])
  })

  it("a long outage of a frequent schedule is counted past the ticks walked one by one", () => {
    const everySecond = compiled("* * * * * *")
    const due = at("2026-05-01T00:00:00Z")
    const now = at("2026-05-02T00:00:00.500Z")
    const started = performance.now()
    const { fire, skipped, next } = planTicks(everySecond, {
      due,
      now,
      missed: "all",
      graceMs: 60_000,
      maxCatchUp: 100
    })
    assert.isBelow(performance.now() - started, 2_000, "bounded work")
    assert.strictEqual(fire.length, 100)
    assert.strictEqual(iso(fire[99]!), "2026-05-02T00:00:00.000Z")
    assert.strictEqual(iso(fire[0]!), "2026-05-01T23:58:21.000Z")
    assert.strictEqual(skipped + fire.length, 86_401, "every second of the day, both ends included")
    assert.strictEqual(iso(next!), "2026-05-02T00:00:01.000Z")
  })
})

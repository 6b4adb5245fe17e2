import { Cron, DateTime, Option, Result } from "effect"

/** The zone of a schedule created without `timezone`. */
export const DEFAULT_TIME_ZONE = "UTC"

/** How many ticks a plan counts one by one before it estimates the rest from their spacing. */
const COUNTED_TICKS = 1000

/** A zone written as an offset (`+02:00`, `GMT-3`): not an IANA name, so it has no daylight-saving rules. */
const OFFSET_ZONE = /^(?:GMT|UTC)?[+-]/i

/**
 * The IANA time zone `name` names, by its canonical name (`europe/berlin` is `Europe/Berlin`), or
 * why it names none. Offsets are refused: a schedule follows a zone's daylight-saving rules.
 */
export const timeZoneOf = (name: string): Result.Result<DateTime.TimeZone.Named, string> => {
  const zone = OFFSET_ZONE.test(name.trim()) ? Option.none() : DateTime.zoneMakeNamed(name.trim())
  return Option.match(zone, {
    onNone: () =>
      Result.fail(`timezone must be an IANA time zone name such as UTC or Europe/Berlin, not ${JSON.stringify(name)}`),
    onSome: Result.succeed
  })
}

/** Why an expression is not a cron expression PiCloud runs, or `undefined` when it is. */
const cronProblem = (error: Cron.CronParseError) =>
  `cron must be 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first: ${error.message}${
    error.input === undefined ? "" : ` (${JSON.stringify(error.input)})`
  }`

/** An expression as stored and shown: trimmed, its fields separated by one space. */
export const normalizeCron = (expression: string) => expression.trim().split(/\s+/).join(" ")

/** The first tick strictly after `afterMs`, or `None` when the expression has none (31 February). */
export const nextTick = (cron: Cron.Cron, afterMs: number): Option.Option<number> => {
  try {
    return Option.some(Cron.next(cron, afterMs).getTime())
  } catch {
    return Option.none()
  }
}

/** The last tick strictly before `beforeMs`, or `None`. */
const previousTick = (cron: Cron.Cron, beforeMs: number): Option.Option<number> => {
  try {
    return Option.some(Cron.prev(cron, beforeMs).getTime())
  } catch {
    return Option.none()
  }
}

/** An hour field that allows every hour (`*`, `0-23`, a step of 1): the schedule runs at least hourly. */
const everyHour = (cron: Cron.Cron) => cron.hours.size === 0 || cron.hours.size === 24

/**
 * A cron expression (5 fields, or 6 with seconds first) in an IANA time zone, compiled; or which
 * field is wrong and why. Daylight saving (docs in the README, "Schedules"): a local time the
 * clocks skip runs at the same time after the skip (02:30 on a spring-forward day whose 02:00
 * becomes 03:00 runs at 03:30); a local time that happens twice runs once, at its first
 * occurrence, unless the hour field allows every hour, in which case the schedule keeps its pace
 * through both occurrences (as Vixie cron does for its wildcard jobs).
 */
export const compileCron = (
  expression: string,
  timeZone: string
): Result.Result<Cron.Cron, { readonly field: "cron" | "timezone"; readonly reason: string }> => {
  const zone = timeZoneOf(timeZone)
  if (Result.isFailure(zone)) return Result.fail({ field: "timezone", reason: zone.failure })
  const parsed = Cron.parse(expression, zone.success)
  if (Result.isFailure(parsed)) return Result.fail({ field: "cron", reason: cronProblem(parsed.failure) })
  const cron = everyHour(parsed.success)
    ? Cron.parseUnsafe(expression, zone.success, { onDstOverlap: "both" })
    : parsed.success
  // A reference that is neither near a transition nor a leap day: an expression matching no date
  // at all is found out here, whatever the zone.
  if (Option.isNone(nextTick(cron, Date.UTC(2001, 0, 1)))) {
    return Result.fail({ field: "cron", reason: "cron matches no date (such as the 31st of February)" })
  }
  return Result.succeed(cron)
}

/** Why `expression` is not a cron expression (in UTC), or `undefined`: the API's check of the field alone. */
export const cronExpressionProblem = (expression: string) => {
  const compiled = compileCron(expression, DEFAULT_TIME_ZONE)
  return Result.isFailure(compiled) ? compiled.failure.reason : undefined
}

/** `count` ticks: `first` (a tick already computed, such as `next_run_at`), then the ones after it. */
export const ticksFrom = (cron: Cron.Cron, first: number, count: number): ReadonlyArray<number> => {
  const ticks: Array<number> = []
  let tick = Option.some(first)
  while (Option.isSome(tick) && ticks.length < count) {
    ticks.push(tick.value)
    tick = nextTick(cron, tick.value)
  }
  return ticks
}

/** What happens to the ticks of a schedule missed while the platform was down (or too late to count as on time). */
export type MissedPolicy = "skip" | "once" | "all"

/** What to do for a due schedule now. */
export interface TickPlan {
  /** The ticks to run now (their scheduled times, epoch ms), oldest first. */
  readonly fire: ReadonlyArray<number>
  /** Due ticks that get no run of their own. */
  readonly skipped: number
  /** The schedule's next tick, the first after `now`; `null` if it has none. */
  readonly next: number | null
}

/**
 * The plan for a schedule whose next tick, `due`, is at or before `now`: every tick from `due` to
 * `now` is due. The latest of them is on time when it is at most `graceMs` old; every other due
 * tick is missed (a later tick is already due, or it is older than the grace). Missed ticks
 * follow `missed`: `skip` runs the on-time tick only (none if it too is late), `once` runs one
 * run for all of them (the latest tick), `all` runs each, the latest `maxCatchUp` at most. Due
 * ticks that get no run are `skipped`. Past `COUNTED_TICKS` due ticks (a long outage of a
 * frequent schedule) the rest are counted from their spacing rather than one by one.
 */
export const planTicks = (
  cron: Cron.Cron,
  options: {
    readonly due: number
    readonly now: number
    readonly missed: MissedPolicy
    readonly graceMs: number
    readonly maxCatchUp: number
  }
): TickPlan => {
  const { due, now, missed, graceMs, maxCatchUp } = options
  const next = Option.getOrNull(nextTick(cron, now))
  if (due > now) return { fire: [], skipped: 0, next: due }
  // The due ticks, walking forward from `due`; only the latest `maxCatchUp` are kept.
  let recent: Array<number> = [due]
  let count = 1
  let last = due
  for (;;) {
    const tick = nextTick(cron, last)
    if (Option.isNone(tick) || tick.value > now) break
    if (count === COUNTED_TICKS) {
      // Too many to walk: the latest ones, walking back from now to where the walk stopped, and
      // the count of those between, from the spacing of the ones walked so far.
      const latest: Array<number> = []
      let back = previousTick(cron, now + 1)
      while (Option.isSome(back) && back.value > last && latest.length < maxCatchUp) {
        latest.unshift(back.value)
        back = previousTick(cron, back.value)
      }
      const reachedWalk = Option.isNone(back) || back.value <= last
      const spacing = (last - due) / (count - 1)
      count += reachedWalk ? latest.length : Math.max(latest.length, Math.floor((now - last) / spacing))
      recent = [...recent, ...latest]
      break
    }
    count++
    last = tick.value
    recent.push(last)
    if (recent.length > maxCatchUp) recent.shift()
  }
  recent = recent.slice(-maxCatchUp)
  const latest = recent[recent.length - 1]!
  const fire = missed === "all" ? recent : missed === "once" || now - latest <= graceMs ? [latest] : []
  return { fire, skipped: count - fire.length, next }
}

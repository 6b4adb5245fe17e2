/**
 * The overview's charts as numbers (test/unit/dashboard/overview.test.ts): the last hour from
 * `GET /api/admin/stats`, 60 minutes oldest first, drawn as SVG without a chart library.
 */

export interface StatsMinute {
  readonly at: string
  readonly outcomes: Readonly<Record<string, number>>
  readonly p95_ms: number | null
  readonly rejected_503: number
  readonly outbox_wait_ms: number | null
}

export interface Stats {
  readonly from: string
  readonly to: string
  readonly minutes: ReadonlyArray<StatsMinute>
  readonly outbox: { readonly depth: number; readonly due: number; readonly oldest_due_age_seconds: number }
  readonly rejected_503: number
}

/** The outcomes in the order they stack (bottom up), with their colours (also in app.css). */
export const OUTCOMES = ["succeeded", "failed", "dead_lettered", "depth_exceeded"] as const

/** The largest of the values given, or `null` when none is. */
const worst = (values: ReadonlyArray<number | null>) =>
  values.reduce<number | null>((max, v) => (v === null ? max : max === null || v > max ? v : max), null)

/** The hour's totals: executions by outcome, all of them, the worst minute's p95 and outbox lag, the 503s. */
export const totals = (stats: Stats) => {
  const byOutcome: Record<string, number> = {}
  let executions = 0
  for (const minute of stats.minutes) {
    for (const [outcome, n] of Object.entries(minute.outcomes)) {
      byOutcome[outcome] = (byOutcome[outcome] ?? 0) + n
      executions += n
    }
  }
  return {
    byOutcome,
    executions,
    worstP95: worst(stats.minutes.map((m) => m.p95_ms)),
    worstWait: worst(stats.minutes.map((m) => m.outbox_wait_ms)),
    rejected: stats.rejected_503
  }
}

/** A round top for an axis: 1, 2 or 5 times a power of ten, at least `max` (1 for nothing). */
export const niceMax = (max: number) => {
  if (!(max > 0)) return 1
  const power = 10 ** Math.floor(Math.log10(max))
  return [1, 2, 5, 10].map((m) => m * power).find((top) => top >= max)!
}

export interface Bar {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
  readonly outcome: string
  readonly count: number
  readonly at: string
}

/** Stacked bars, one column a minute, in a `width` × `height` box (y grows downwards, as SVG's). */
export const outcomeBars = (minutes: ReadonlyArray<StatsMinute>, width: number, height: number) => {
  const top = niceMax(Math.max(0, ...minutes.map((m) => Object.values(m.outcomes).reduce((a, b) => a + b, 0))))
  const column = minutes.length === 0 ? 0 : width / minutes.length
  const bars: Array<Bar> = []
  minutes.forEach((minute, i) => {
    let base = height
    const outcomes = [...OUTCOMES, ...Object.keys(minute.outcomes).filter((o) => !OUTCOMES.includes(o as never))]
    for (const outcome of outcomes) {
      const count = minute.outcomes[outcome] ?? 0
      if (count === 0) continue
      const h = (count / top) * height
      base -= h
      bars.push({
        x: i * column + column * 0.1,
        y: base,
        width: column * 0.8,
        height: h,
        outcome,
        count,
        at: minute.at
      })
    }
  })
  return { bars, top }
}

/** An SVG path through the minutes that have a value (a gap where one has none), scaled to the box. */
export const linePath = (values: ReadonlyArray<number | null>, width: number, height: number) => {
  const top = niceMax(Math.max(0, ...values.map((v) => v ?? 0)))
  const column = values.length === 0 ? 0 : width / values.length
  let path = ""
  let drawing = false
  const points: Array<{ readonly x: number; readonly y: number; readonly value: number; readonly index: number }> = []
  values.forEach((value, i) => {
    if (value === null) {
      drawing = false
      return
    }
    const x = (i * column + column / 2).toFixed(1)
    const y = (height - (value / top) * height).toFixed(1)
    path += `${drawing ? "L" : "M"}${x} ${y}`
    points.push({ x: Number(x), y: Number(y), value, index: i })
    drawing = true
  })
  // The points too: a minute alone between gaps is a dot, not an invisible one-point line.
  return { path, points, top }
}

/** A duration for people: "850 ms", "2.5 s", "3 min 20 s". */
export const duration = (ms: number) =>
  ms < 1000
    ? `${Math.round(ms)} ms`
    : ms < 60_000
    ? `${(ms / 1000).toFixed(1).replace(/\.0$/, "")} s`
    : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`

import { assert } from "@effect/vitest"
import { getMetricsFromIterator, type PromHistogramData, type PromMetrics } from "prom2javascript"

export type { PromMetrics }

/**
 * A `/metrics` answer, parsed by a real Prometheus text parser (prom2javascript: it refuses a line
 * that is not a sample, a comment or HELP/TYPE, and a histogram whose `+Inf` bucket is not its
 * count), plus what it leaves unchecked: names, a TYPE for every family, counters not negative,
 * histogram buckets cumulative.
 */
export const parseMetrics = async (text: string): Promise<PromMetrics> => {
  const metrics = await getMetricsFromIterator(text.split("\n")[Symbol.iterator]())
  for (const [name, metric] of Object.entries(metrics)) {
    assert.match(name, /^[a-zA-Z_:][a-zA-Z0-9_:]*$/, "a metric name")
    assert.include(["counter", "gauge", "histogram"], metric.type, `${name}: a TYPE line`)
    if (metric.type === "counter") {
      for (const { value } of series(metrics, name)) assert.isAtLeast(value, 0, name)
    }
    if (metric.type === "histogram") {
      for (const histogram of metric.data as Array<PromHistogramData>) {
        const counts = Object.entries(histogram.buckets)
          .map(([le, count]) => [le === "+Inf" ? Infinity : Number(le), count] as const)
          .sort(([a], [b]) => a - b)
          .map(([, count]) => count)
        assert.deepStrictEqual(counts, [...counts].sort((a, b) => a - b), `${name}: cumulative buckets`)
      }
    }
  }
  return metrics
}

/** The series of a counter or gauge, with their labels. */
const series = (metrics: PromMetrics, name: string) =>
  (metrics[name]?.data ?? []) as Array<{ readonly labels: Record<string, string>; readonly value: number }>

const matches = (labels: Record<string, string>, wanted: Record<string, string>) =>
  Object.entries(wanted).every(([key, value]) => labels[key] === value)

/** The sum of the series of `name` whose labels include `labels` (0 when there is none). */
export const valueOf = (metrics: PromMetrics, name: string, labels: Record<string, string> = {}) =>
  series(metrics, name).filter((s) => matches(s.labels, labels)).reduce((sum, s) => sum + s.value, 0)

/** How many observations the histogram `name` holds in the series whose labels include `labels`. */
export const observationsOf = (metrics: PromMetrics, name: string, labels: Record<string, string> = {}) =>
  ((metrics[name]?.data ?? []) as Array<PromHistogramData>)
    .filter((h) => matches(h.labels, labels))
    .reduce((sum, h) => sum + h.count, 0)

import { Duration, Effect, Metric, Option, Redacted } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { performance } from "node:perf_hooks"
import * as Settings from "../config/Settings.ts"
import { bearerToken } from "../domain/api/credentials.ts"
import { OutboxRepo } from "../domain/OutboxRepo.ts"
import { matchesSecret } from "../manager/passwordsAndTokens.ts"
import { ExecutionGate } from "../orchestrator/ExecutionGate.ts"
import { errorResponse } from "../orchestrator/http/errorResponse.ts"
import * as Metrics from "../orchestrator/PlatformMetrics.ts"

/** The Prometheus text exposition format's media type. */
const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
/** The outbox is read at most this often, however often `/metrics` is scraped (and by how many). */
const OUTBOX_STATS_TTL = Duration.seconds(5)
/** A slow database does not hold a scrape: the outbox gauges are then left out (unknown). */
const OUTBOX_STATS_TIMEOUT = Duration.seconds(2)

/** How long a callback queued now waits for the event loop, in seconds (the standard Node client's lag). */
const loopLag = Effect.callback<number>((resume) => {
  const start = process.hrtime.bigint()
  setImmediate(() => resume(Effect.succeed(Number(process.hrtime.bigint() - start) / 1e9)))
})

/**
 * `GET /metrics`: every metric of `PlatformMetrics` (and any other Effect `Metric` of the process)
 * in the Prometheus text format, rendered by effect's own `PrometheusMetrics`. Counters are kept
 * as things happen; gauges are read here: the gate and the process from memory, the outbox by one
 * query at most every `OUTBOX_STATS_TTL`. With `PICLOUD_METRICS_TOKEN` set, the request needs it as
 * a bearer token (401 otherwise); unset, the endpoint is open: it shows counts and names of apps and
 * scripts, no secret and nothing of any request.
 */
export const MetricsRoute = HttpRouter.use(Effect.fn(function*(router) {
  const gate = yield* ExecutionGate
  const outbox = yield* OutboxRepo
  const authorized = Option.match(yield* Settings.metricsToken.config, {
    onNone: () => (_authorization: string | undefined) => true,
    onSome: (token) => {
      const matches = matchesSecret(Redacted.value(token))
      return (authorization: string | undefined) => matches(bearerToken(authorization))
    }
  })

  // Measured at the scrape, with no timer in between: an idle process wakes for nothing (README
  // "How it runs"). A sampling histogram (`monitorEventLoopDelay`) would tick 100 times a second.
  let busySince = performance.eventLoopUtilization()

  const outboxStats = yield* Effect.cachedWithTTL(
    outbox.stats.pipe(
      Effect.timeout(OUTBOX_STATS_TIMEOUT),
      Effect.asSome,
      Effect.catch((error) =>
        Effect.logDebug("metrics: the outbox could not be read", error).pipe(Effect.as(Option.none()))
      )
    ),
    OUTBOX_STATS_TTL
  )

  // Series without labels, and the status classes, are shown from the start, at 0.
  yield* Effect.forEach([Metrics.gateRejections, Metrics.triggerDepthExceeded], (counter) => Metric.update(counter, 0))
  yield* Effect.forEach(
    Metrics.STATUS_CLASSES,
    (statusClass) => Metric.update(Metric.withAttributes(Metrics.httpRequests, { class: statusClass }), 0)
  )

  /** The gauges, read now. */
  const sample = Effect.gen(function*() {
    yield* Metric.update(Metrics.gateLimit, gate.limit)
    yield* Metric.update(Metrics.gateInUse, gate.limit - (yield* gate.available))
    yield* Metric.update(Metrics.gateWaiting, yield* gate.queued)
    const stats = yield* outboxStats
    if (Option.isSome(stats)) {
      yield* Metric.update(Metrics.outboxDepth, stats.value.rows)
      yield* Metric.update(Metrics.outboxDue, stats.value.due)
      yield* Metric.update(Metrics.outboxOldestDueAge, stats.value.oldestDueAgeMs / 1000)
    } else {
      // No value is better than a stale one.
      yield* Effect.forEach([Metrics.outboxDepth, Metrics.outboxDue, Metrics.outboxOldestDueAge], Metric.remove)
    }
    yield* Metric.update(Metrics.residentMemory, process.memoryUsage.rss())
    const now = performance.eventLoopUtilization()
    yield* Metric.update(Metrics.eventLoopUtilization, performance.eventLoopUtilization(now, busySince).utilization)
    busySince = now
    yield* Metric.update(Metrics.eventLoopLag, yield* loopLag)
  })

  yield* router.add(
    "GET",
    "/metrics",
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (!authorized(request.headers["authorization"])) {
        return errorResponse(401, { code: "unauthorized", message: "a valid bearer token is required" })
      }
      yield* sample
      return HttpServerResponse.text(yield* PrometheusMetrics.format(), { contentType: CONTENT_TYPE })
    })
  )
}))

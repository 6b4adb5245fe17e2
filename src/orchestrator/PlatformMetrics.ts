import { Clock, Context, Effect, Layer, Metric, Option } from "effect"
import type { App } from "../domain/App.ts"
import { AppRepo } from "../domain/AppRepo.ts"
import type { ExecutionRecord } from "../domain/Execution.ts"
import type { Job } from "../domain/OutboxRepo.ts"
import { NOT_RUN_CODES } from "./jobRecords.ts"

/*
 * Every metric the platform keeps (served by `GET /metrics`, README "Metrics"), as Effect `Metric`s
 * in the process's registry. Labels carry app and script names, kinds, outcomes (error codes) and
 * status classes: never a request's path, headers, body, key or token.
 */

/** Execution durations, in seconds: 1 ms to the longest timeout a script may have (300 s). */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

export const executions = Metric.counter("picloud_executions_total", {
  description:
    "executions ended, each attempt once: by app, script, kind (http, async, kv, schedule, dead_letter) and outcome (succeeded, or the error code)",
  incremental: true
})

export const executionDuration = Metric.histogram("picloud_execution_duration_seconds", {
  description: "how long executions ran (those not run are not observed), by app, script and kind",
  boundaries: DURATION_BUCKETS
})

export const gateInUse = Metric.gauge("picloud_gate_in_use", {
  description: "executions holding a permit of the concurrency gate now"
})

export const gateLimit = Metric.gauge("picloud_gate_limit", {
  description: "permits of the concurrency gate (PICLOUD_MAX_CONCURRENT_EXECUTIONS)"
})

export const gateWaiting = Metric.gauge("picloud_gate_waiting", {
  description: "async executions waiting for a permit"
})

export const gateRejections = Metric.counter("picloud_gate_rejections_total", {
  description: "synchronous executions refused with 503 because the gate was full",
  incremental: true
})

export const outboxDepth = Metric.gauge("picloud_outbox_depth", {
  description: "accepted async executions not ended yet, running ones included (read at most every 5 s)"
})

export const outboxDue = Metric.gauge("picloud_outbox_due", {
  description: "outbox rows claimable now and not claimed: the backlog (read at most every 5 s)"
})

export const outboxOldestDueAge = Metric.gauge("picloud_outbox_oldest_due_age_seconds", {
  description: "how long the oldest claimable outbox row has waited: the dispatch lag (read at most every 5 s)"
})

export const outboxClaims = Metric.counter("picloud_outbox_claims_total", {
  description: "outbox rows claimed by this process's dispatcher (each claim is an attempt), by kind",
  incremental: true
})

export const outboxRetries = Metric.counter("picloud_outbox_retries_total", {
  description: "failed attempts put back for a later retry, by kind",
  incremental: true
})

export const deadLetters = Metric.counter("picloud_dead_letters_total", {
  description: "async executions dead-lettered (attempts used up, or no retry could succeed), by kind",
  incremental: true
})

export const deadLetterHandlers = Metric.counter("picloud_dead_letter_handlers_total", {
  description: "dead-letter handler runs, by outcome (handled, handler_failed)",
  incremental: true
})

export const triggerFanout = Metric.counter("picloud_trigger_fanout_total", {
  description: "executions enqueued by KV triggers (one per changed key and matching trigger), by app",
  incremental: true
})

/** Ticks that got no run: `missed` (the platform was down, or too late) or `overlap` (the previous run not done). */
export const scheduleSkippedTicks = Metric.counter("picloud_schedule_skipped_ticks_total", {
  description: "schedule ticks that got no run of their own, by reason: missed (late or down) or overlap",
  incremental: true
})

/** Runs the scheduler started, one per tick run. */
export const scheduleRuns = Metric.counter("picloud_schedule_runs_total", {
  description: "schedule ticks run (an outbox row written for each)",
  incremental: true
})

/** How late each tick run was picked up: fired_at − scheduled_at. */
export const scheduleLag = Metric.histogram("picloud_schedule_lag_seconds", {
  description: "how long after its scheduled time a schedule's tick was fired (written to the outbox)",
  boundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600]
})

const MAX_SERIES_CACHED = 10_000

/** Triggered executions not run for their depth (`PICLOUD_MAX_TRIGGER_DEPTH`): feedback loops ended. */
export const triggerDepthExceeded = Metric.counter("picloud_trigger_depth_exceeded_total", {
  description: "triggered executions not run because their trigger depth was over PICLOUD_MAX_TRIGGER_DEPTH",
  incremental: true
})

export const httpRequests = Metric.counter("picloud_http_requests_total", {
  description: "HTTP requests answered, by status class (2xx, 3xx, 4xx, 5xx)",
  incremental: true
})

export const residentMemory = Metric.gauge("picloud_process_resident_memory_bytes", {
  description: "resident set size of the process (worker threads included)"
})

export const eventLoopLag = Metric.gauge("picloud_event_loop_lag_seconds", {
  description: "event-loop delay: how long a callback queued at the scrape waited to run"
})

export const eventLoopUtilization = Metric.gauge("picloud_event_loop_utilization", {
  description: "share of time the event loop was busy since the previous scrape (0 to 1)"
})

/** The status classes, shown from the start (at 0) so that a rate over them is defined at once. */
export const STATUS_CLASSES = ["2xx", "3xx", "4xx", "5xx"] as const

/** `2xx` ... `5xx`. */
const statusClass = (status: number) => `${Math.floor(status / 100)}xx`

/** One HTTP answer, by status class. */
export const httpAnswered = (status: number) =>
  Metric.update(Metric.withAttributes(httpRequests, { class: statusClass(status) }), 1)

/**
 * Gate refusals by minute (the minute's start, ms), the last hour's: what `GET /api/admin/stats`
 * shows. Process-local, like every counter here; at most 61 entries.
 */
const refusalsByMinute = new Map<number, number>()
const HOUR_MS = 3_600_000

/** A synchronous execution refused by a full gate (answered 503). */
export const gateRefused = Effect.andThen(
  Metric.update(gateRejections, 1),
  Effect.map(Clock.currentTimeMillis, (now) => {
    const minute = Math.floor(now / 60_000) * 60_000
    refusalsByMinute.set(minute, (refusalsByMinute.get(minute) ?? 0) + 1)
    for (const at of refusalsByMinute.keys()) if (at < minute - HOUR_MS) refusalsByMinute.delete(at)
  })
)

/** Gate refusals (503) in this process since `from` (ms; at most an hour back), by minute start. */
export const refusalsSince = (from: number) =>
  Effect.sync(() => new Map([...refusalsByMinute].filter(([at]) => at >= from)))

/**
 * The `kind` label: the invocation, with `http` split into `http` (synchronous) and `async` (run
 * from the outbox, an async route).
 */
const recordKind = (record: ExecutionRecord) =>
  record.invocation === "http" && record.accepted_at !== null ? "async" : record.invocation

/** An outbox row's `kind` label: its `http` rows are async routes' requests. */
const jobKind = (job: Job): string => (job.kind === "http" ? "async" : job.kind)

/** Rows the dispatcher claimed. */
export const claimed = (jobs: ReadonlyArray<Job>) =>
  Effect.forEach(jobs, (job) => Metric.update(Metric.withAttributes(outboxClaims, { kind: jobKind(job) }), 1), {
    discard: true
  })

/** A failed attempt put back for later. */
export const retried = (job: Job) => Metric.update(Metric.withAttributes(outboxRetries, { kind: jobKind(job) }), 1)

/** An execution moved to dead letters. */
export const deadLettered = (job: Job) => Metric.update(Metric.withAttributes(deadLetters, { kind: jobKind(job) }), 1)

/** Outcomes of rows the dispatcher did not run: no duration to observe. */
const NOT_RUN: ReadonlySet<string> = new Set(Object.values(NOT_RUN_CODES))

/**
 * The metrics that need an app's name (records and trigger rows carry its id). Names are looked up
 * once per app and kept: an app cannot be renamed, and the callers that have the app at hand
 * (the synchronous path) give it.
 */
export class PlatformMetrics extends Context.Service<PlatformMetrics, {
  /**
   * An execution attempt ended with `record`: it ran (succeeded or failed), or the dispatcher did
   * not run its row (script gone, registrant revoked, too deep). A dead-letter handler's also
   * counts its outcome.
   */
  readonly executionEnded: (record: ExecutionRecord, app?: App) => Effect.Effect<void>
  /** A KV commit enqueued `rows` triggered executions in the app. */
  readonly triggered: (appId: string, rows: number) => Effect.Effect<void>
}>()("picloud/orchestrator/PlatformMetrics") {
  static readonly layer = Layer.effect(
    PlatformMetrics,
    Effect.gen(function*() {
      const apps = yield* AppRepo
      const context = yield* Effect.context<never>()
      const names = new Map<string, string>()

      /** The app's name (its id for an app deleted since); its id when it cannot be read, asked again next time. */
      const appName = (appId: string, app: App | undefined) =>
        Effect.suspend(() => {
          if (app !== undefined) names.set(app.id, app.name)
          const known = names.get(appId)
          if (known !== undefined) return Effect.succeed(known)
          // In this layer's own context: never on a caller's transaction (KvCommit's may be open).
          return apps.findByRef(appId).pipe(
            Effect.updateContext((_: Context.Context<never>) => context),
            Effect.map(Option.match({
              onNone: () => {
                names.set(appId, appId)
                return appId
              },
              onSome: (found) => {
                names.set(found.id, found.name)
                return found.name
              }
            })),
            Effect.orElseSucceed(() => appId)
          )
        })

      // The labelled series by their labels: a series' key (sorted attributes as JSON) is computed
      // once, not on every execution. As many as the registry's series; cleared past the bound.
      const series = new Map<
        string,
        { readonly count: typeof executions; readonly duration: typeof executionDuration }
      >()
      const seriesOf = (app: string, script: string, kind: string, outcome: string) => {
        const key = `${app}\u0000${script}\u0000${kind}\u0000${outcome}`
        let found = series.get(key)
        if (found === undefined) {
          if (series.size >= MAX_SERIES_CACHED) series.clear()
          found = {
            count: Metric.withAttributes(executions, { app, script, kind, outcome }),
            duration: Metric.withAttributes(executionDuration, { app, script, kind })
          }
          series.set(key, found)
        }
        return found
      }

      // Untraced: it runs on every execution, where a span per call is measurable cost.
      const executionEnded = Effect.fnUntraced(function*(record: ExecutionRecord, app?: App) {
        const outcome = record.status === "succeeded" ? "succeeded" : record.error?.code ?? record.status
        const { count, duration } = seriesOf(
          yield* appName(record.app_id, app),
          record.script_name || record.script_id,
          recordKind(record),
          outcome
        )
        yield* Metric.update(count, 1)
        if (!NOT_RUN.has(outcome)) yield* Metric.update(duration, record.duration_ms / 1000)
        if (record.invocation === "dead_letter") {
          yield* Metric.update(
            Metric.withAttributes(deadLetterHandlers, {
              outcome: record.status === "succeeded" ? "handled" : "handler_failed"
            }),
            1
          )
        }
      })

      const triggered = (appId: string, rows: number) =>
        appName(appId, undefined).pipe(
          Effect.flatMap((app) => Metric.update(Metric.withAttributes(triggerFanout, { app }), rows))
        )

      return PlatformMetrics.of({ executionEnded, triggered })
    })
  )
}

import { Clock, Duration, Effect, Option } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { ExecutionLog } from "../../domain/ExecutionLog.ts"
import { InboxResolver } from "../../domain/InboxResolver.ts"
import { OutboxRepo } from "../../domain/OutboxRepo.ts"
import { errorResponse, storageFaultResponse } from "./errorResponse.ts"

/** The longest `?wait=` a caller may park for. */
export const MAX_WAIT_SECONDS = 60
const WAIT_DIGITS = /^[0-9]{1,3}$/

/**
 * An async execution as its caller sees it. While it is in the outbox, `failed` means the last
 * attempt failed and another is due; once recorded, its status is final (`failed` then: a
 * dead-letter handler that failed, which is never retried).
 */
interface ExecutionStatus {
  readonly id: string
  readonly done: boolean
  readonly status: "queued" | "running" | "failed" | "succeeded" | "dead_lettered" | "depth_exceeded"
  readonly attempts: number
  readonly accepted_at: string
  readonly next_attempt_at?: string
  readonly result?: unknown
  readonly error?: unknown
}

const notFound = (id: string) =>
  errorResponse(404, { code: "execution_not_found", message: `no async execution ${id}` })

/**
 * `GET /api/executions/{id}[?wait=N]`: where an async route's `Location` points. 200 with the
 * result once the execution has ended (its record is written), else 202 with its progress.
 * `wait` parks the caller on the `InboxResolver` for up to N seconds. No token: the execution id
 * (62 of its bits random, from the OS) is the claim check, handed only to the caller that was accepted.
 */
export const ExecutionStatusRoute = HttpRouter.use(Effect.fn(function*(router) {
  const outbox = yield* OutboxRepo
  const log = yield* ExecutionLog
  const inbox = yield* InboxResolver

  // The outbox first: a finished execution leaves it in the same transaction that records it, so
  // reading in this order never misses one in between.
  const read = (id: string) =>
    Effect.gen(function*() {
      const job = yield* outbox.find(id)
      if (Option.isSome(job)) {
        const { attempt_count, accepted_at, claimed_by, claimed_until, last_error, next_attempt_at } = job.value
        const now = yield* Clock.currentTimeMillis
        const running = claimed_by !== null && claimed_until !== null && Date.parse(claimed_until) > now
        return Option.some<ExecutionStatus>({
          id,
          done: false,
          status: running ? "running" : last_error === null ? "queued" : "failed",
          attempts: attempt_count,
          accepted_at,
          ...(running ? {} : { next_attempt_at }),
          ...(last_error === null ? {} : { error: last_error })
        })
      }
      const record = yield* log.get(id).pipe(Effect.option)
      if (Option.isNone(record) || record.value.accepted_at === null) return Option.none<ExecutionStatus>()
      const { status, attempts, accepted_at, result, error } = record.value
      return Option.some<ExecutionStatus>({
        id,
        done: true,
        status,
        attempts,
        accepted_at,
        ...(result === null ? {} : { result }),
        ...(error === null ? {} : { error })
      })
    })

  const reply = ({ done, ...status }: ExecutionStatus) =>
    HttpServerResponse.jsonUnsafe(status, { status: done ? 200 : 202 })

  const handle = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const { id } = yield* HttpRouter.params
    const waitParam = new URL(request.url, "http://localhost").searchParams.get("wait")
    // One rule: plain decimal digits (no sign, exponent, fraction or spaces), at most the maximum.
    const wait = waitParam === null ? 0 : WAIT_DIGITS.test(waitParam) ? Number(waitParam) : Number.NaN
    if (!(wait <= MAX_WAIT_SECONDS)) {
      return errorResponse(400, {
        code: "bad_request",
        message: `wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`
      })
    }
    return yield* Effect.scoped(Effect.gen(function*() {
      // Registered before the first read, so a result landing between the two is not missed.
      const delivered = wait > 0 ? yield* inbox.register(id!) : Effect.void
      const first = yield* read(id!)
      if (Option.isNone(first)) return notFound(id!)
      if (wait === 0 || first.value.done) return reply(first.value)
      yield* delivered.pipe(
        Effect.timeoutOption(Duration.seconds(wait)),
        // The caller hung up while parked: nobody will read this result by waiting.
        Effect.onInterrupt(() => outbox.abandon(id!).pipe(Effect.ignore))
      )
      const after = yield* read(id!)
      return Option.isNone(after) ? notFound(id!) : reply(after.value)
    }))
  }).pipe(Effect.catchTag("PersistenceError", storageFaultResponse))

  yield* router.add("GET", "/api/executions/:id", handle)
}))

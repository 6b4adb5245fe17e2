import { Clock, Effect, Option } from "effect"
import { HttpServerResponse } from "effect/http"
import type { ScriptHttpRequest } from "../../domain/Exec.ts"
import { rootLineage } from "../../domain/Execution.ts"
import type { Principal } from "../../domain/Identity.ts"
import type { ExecutionId } from "../../domain/Ids.ts"
import { IDEMPOTENCY_WINDOW_HOURS, leaseSeconds, OutboxRepo } from "../../domain/OutboxRepo.ts"
import type { Route } from "../../domain/Route.ts"
import { uuidv7 } from "../../domain/uuidv7.ts"
import type { ResolvedScript } from "../ScriptCache.ts"
import { errorResponse } from "./errorResponse.ts"
import { earlyReply } from "./SyncHttp.ts"

const MAX_IDEMPOTENCY_KEY_LENGTH = 255
/** A full outbox drains at the dispatcher's pace: seconds, not the gate's instant. */
const QUEUE_FULL_RETRY_AFTER_SECONDS = 5

/**
 * Accepting work on an async route (docs/ARCHITECTURE.md §5): the request goes into the outbox (durable
 * before the reply) and the caller gets `202` with the execution id and where to read its result.
 */
export const makeAsyncHttp = Effect.gen(function*() {
  const outbox = yield* OutboxRepo

  const idempotencyKey = (header: string | undefined) => {
    if (header === undefined) return Effect.succeed(undefined)
    return header.length === 0 || header.length > MAX_IDEMPOTENCY_KEY_LENGTH
      ? Effect.fail(
        earlyReply(400, {
          code: "bad_request",
          message: `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`
        })
      )
      : Effect.succeed(header)
  }

  const accept = (
    route: Route,
    { script }: ResolvedScript,
    request: ScriptHttpRequest,
    principal: Option.Option<Principal>,
    idempotencyKeyHeader: string | undefined
  ) =>
    Effect.gen(function*() {
      const key = yield* idempotencyKey(idempotencyKeyHeader)
      if (request.body.includes("\0")) {
        // Stored requests are text PostgreSQL holds, which has no NUL: refused rather than altered.
        return yield* Effect.fail(
          earlyReply(400, {
            code: "bad_request",
            message: "an async route cannot queue a body that contains a NUL character"
          })
        )
      }
      const id = uuidv7() as ExecutionId
      const accepted = yield* outbox.enqueue({
        id,
        app_id: route.app_id,
        script_id: script.id,
        kind: "http",
        payload: { request, principal: Option.getOrNull(principal) },
        retry: route.retry,
        lease_seconds: leaseSeconds(script.timeout_seconds),
        accepted_at: new Date(yield* Clock.currentTimeMillis).toISOString(),
        lineage: rootLineage(id),
        dead_letter_script_id: route.dead_letter_script_id
      }, key)
      return HttpServerResponse.jsonUnsafe(
        { execution_id: accepted.execution_id, accepted_at: accepted.accepted_at },
        {
          status: 202,
          headers: {
            location: `/api/executions/${accepted.execution_id}`,
            ...(accepted.repeated ? { "idempotent-replayed": "true" } : {})
          }
        }
      )
    }).pipe(
      Effect.catchTag("OutboxFull", ({ limit }) =>
        Effect.succeed(errorResponse(
          503,
          { code: "queue_full", message: `${limit} async executions are waiting already; retry later` },
          { "retry-after": String(QUEUE_FULL_RETRY_AFTER_SECONDS) }
        ))),
      Effect.catchTag("IdempotencyKeyReused", ({ key }) =>
        Effect.succeed(errorResponse(422, {
          code: "idempotency_key_reused",
          message: `Idempotency-Key ${
            JSON.stringify(key)
          } was used for a different request in the last ${IDEMPOTENCY_WINDOW_HOURS} hours`
        })))
    )

  return { accept }
})

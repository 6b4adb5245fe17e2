import { Effect, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { apiError, Conflict, NotFound, Unprocessable } from "../../domain/api/ApiError.ts"
import type { ScriptInvalid, ScriptNameTaken, ScriptNotFound } from "../../domain/Errors.ts"
import { ScriptValidator } from "../../domain/Executor.ts"
import type { ScriptId } from "../../domain/Ids.ts"
import { DEFAULT_APP_ID } from "../../domain/App.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { ScriptChanges } from "../../domain/ScriptChanges.ts"
import { ScriptRepo } from "../../domain/ScriptRepo.ts"
import { internalError } from "./internalError.ts"

const notFound = (e: ScriptNotFound) => apiError(NotFound, "script_not_found", `no script ${e.ref}`)
const nameTaken = (e: ScriptNameTaken) => apiError(Conflict, "script_name_taken", `a script named ${e.name} exists in this app`)
const invalid = (e: ScriptInvalid) =>
  apiError(Unprocessable, "script_invalid", e.message, { line: e.line, column: e.column })

/**
 * Handlers of `/api/admin/scripts`: every source is compiled before it is stored, and caches hear of
 * every update and delete before the reply goes out.
 */
export const ScriptsHttp = HttpApiBuilder.group(
  AdminApi,
  "scripts",
  Effect.fn(function*(handlers) {
    const scripts = yield* ScriptRepo
    const validator = yield* ScriptValidator
    const changes = yield* ScriptChanges
    const apps = yield* AppRepo

    /** The app named by `ref` (name or id), the default app when there is none. */
    const appId = (ref: string | undefined) =>
      ref === undefined
        ? Effect.succeed(DEFAULT_APP_ID)
        : apps.findByRef(ref).pipe(
          Effect.flatMap(Option.match({
            onNone: () => Effect.fail(apiError(NotFound, "app_not_found", `no app ${ref}`)),
            onSome: (app) => Effect.succeed(app.id)
          }))
        )
    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          const app_id = yield* appId(payload.app)
          yield* validator.validate(payload.source)
          return yield* scripts.create({
            app_id,
            name: payload.name,
            source: payload.source,
            ...(payload.timeout_seconds === undefined ? {} : { timeout_seconds: payload.timeout_seconds })
          })
        }).pipe(
          Effect.catchTags({
            ScriptInvalid: (e) => Effect.fail(invalid(e)),
            ScriptNameTaken: (e) => Effect.fail(nameTaken(e)),
            PersistenceError: internalError
          })
        ))
      .handle("list", ({ query }) =>
        (query.app === undefined ? scripts.list() : appId(query.app).pipe(Effect.flatMap((app) => scripts.list(app)))).pipe(
          Effect.map((items) => ({ items })),
          Effect.catchTag("PersistenceError", internalError)
        ))
      .handle("get", ({ params }) =>
        scripts.get(params.id as ScriptId).pipe(
          Effect.catchTags({
            ScriptNotFound: (e) => Effect.fail(notFound(e)),
            PersistenceError: internalError
          })
        ))
      .handle("update", ({ params, payload }) =>
        validator.validate(payload.source).pipe(
          Effect.andThen(scripts.update(params.id as ScriptId, payload)),
          Effect.tap((script) => changes.publish(script.id)),
          Effect.catchTags({
            ScriptInvalid: (e) => Effect.fail(invalid(e)),
            ScriptNotFound: (e) => Effect.fail(notFound(e)),
            ScriptNameTaken: (e) => Effect.fail(nameTaken(e)),
            PersistenceError: internalError
          })
        ))
      .handle("delete", ({ params }) =>
        scripts.delete(params.id as ScriptId).pipe(
          Effect.andThen(changes.publish(params.id)),
          Effect.catchTags({
            ScriptNotFound: (e) => Effect.fail(notFound(e)),
            PersistenceError: internalError
          })
        ))
  })
)

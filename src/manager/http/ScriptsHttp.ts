import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import * as Settings from "../../config/Settings.ts"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { apiError, Conflict, NotFound, PayloadTooLarge, Unprocessable } from "../../domain/api/ApiError.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { type ScriptInvalid, type ScriptNameTaken, ScriptNotFound } from "../../domain/Errors.ts"
import { ScriptValidator } from "../../domain/Executor.ts"
import type { ScriptId } from "../../domain/Ids.ts"
import { RouteChanges } from "../../domain/RouteChanges.ts"
import { RouteRepo } from "../../domain/RouteRepo.ts"
import { ScriptChanges } from "../../domain/ScriptChanges.ts"
import { ScriptRepo } from "../../domain/ScriptRepo.ts"
import { manageableApp, requireRole, seesApp } from "./authorize.ts"
import { internalError } from "./internalError.ts"

const notFound = (e: ScriptNotFound) => apiError(NotFound, "script_not_found", `no script ${e.ref}`)
const nameTaken = (e: ScriptNameTaken) =>
  apiError(Conflict, "script_name_taken", `a script named ${e.name} exists in this app`)
const invalid = (e: ScriptInvalid) =>
  apiError(Unprocessable, "script_invalid", e.message, { line: e.line, column: e.column })

/**
 * Handlers of `/api/admin/scripts`, for admins and the developers of the script's app (others get
 * 403; a script in an app the caller may not see is a 404). Every source is checked against
 * `PICLOUD_MAX_SCRIPT_BYTES` (413) and compiled before it is stored, and caches hear of every
 * update and delete before the reply goes out.
 */
export const ScriptsHttp = HttpApiBuilder.group(
  AdminApi,
  "scripts",
  Effect.fn(function*(handlers) {
    const scripts = yield* ScriptRepo
    const validator = yield* ScriptValidator
    const changes = yield* ScriptChanges
    const apps = yield* AppRepo
    const routes = yield* RouteRepo
    const routeChanges = yield* RouteChanges
    const maxBytes = yield* Settings.maxScriptBytes.config
    const manageable = (ref: string | undefined) => manageableApp(ref).pipe(Effect.provideService(AppRepo, apps))

    /**
     * The script, if the caller may manage its app; otherwise, as if it did not exist. Only `get`
     * reads the source: updating or deleting a script must work even when its stored source cannot
     * be read (one stored before sources had a limit).
     */
    const manageableScript = <A extends { readonly app_id: string }, E, R>(
      id: string,
      read: (id: ScriptId) => Effect.Effect<A, E, R>
    ) =>
      Effect.gen(function*() {
        const me = yield* requireRole("admin", "developer")
        const script = yield* read(id as ScriptId)
        if (!seesApp(me, script.app_id)) return yield* new ScriptNotFound({ ref: id })
        return script
      })

    /** A source over the limit is refused before it is compiled or stored (measured in UTF-8 bytes). */
    const withinLimit = (source: string) =>
      Buffer.byteLength(source, "utf8") > maxBytes
        ? Effect.fail(
          apiError(PayloadTooLarge, "payload_too_large", `the script source is over the limit of ${maxBytes} bytes`)
        )
        : Effect.void

    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          const app_id = yield* manageable(payload.app)
          yield* withinLimit(payload.source)
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
        Effect.gen(function*() {
          const me = yield* requireRole("admin", "developer")
          const items = query.app === undefined
            ? (yield* scripts.list()).filter((s) => seesApp(me, s.app_id))
            : yield* scripts.list(yield* manageable(query.app))
          return { items }
        }).pipe(Effect.catchTag("PersistenceError", internalError)))
      .handle("get", ({ params }) =>
        manageableScript(params.id, scripts.get).pipe(
          Effect.catchTags({ ScriptNotFound: (e) => Effect.fail(notFound(e)), PersistenceError: internalError })
        ))
      .handle("update", ({ params, payload }) =>
        Effect.gen(function*() {
          const found = yield* manageableScript(params.id, scripts.find)
          yield* withinLimit(payload.source)
          yield* validator.validate(payload.source)
          const script = yield* scripts.update(found.id, payload)
          yield* changes.publish(script.id)
          return script
        }).pipe(
          Effect.catchTags({
            ScriptInvalid: (e) => Effect.fail(invalid(e)),
            ScriptNotFound: (e) => Effect.fail(notFound(e)),
            ScriptNameTaken: (e) => Effect.fail(nameTaken(e)),
            PersistenceError: internalError
          })
        ))
      .handle("delete", ({ params }) =>
        Effect.gen(function*() {
          const script = yield* manageableScript(params.id, scripts.find)
          yield* routes.deleteForScript(script.id)
          yield* scripts.delete(script.id)
          yield* changes.publish(script.id)
          yield* routeChanges.publish(script.app_id)
        }).pipe(
          Effect.catchTags({ ScriptNotFound: (e) => Effect.fail(notFound(e)), PersistenceError: internalError })
        ))
  })
)

import { Effect, Option } from "effect"
import { HttpApiBuilder, HttpApiSchema } from "effect/http-api"
import { AdminApi } from "../../domain/api/AdminApi.ts"
import { apiError, NotFound } from "../../domain/api/ApiError.ts"
import { AppRepo } from "../../domain/AppRepo.ts"
import { KV_DEFAULT_PAGE, KvStore } from "../../domain/KvStore.ts"
import { KvCommit } from "../../orchestrator/KvCommit.ts"
import { apiErrors } from "./apiErrors.ts"
import { manageableApp } from "./authorize.ts"

const etag = (version: number) => ({ etag: `"${version}"` })
const keyNotFound = (key: string) => apiError(NotFound, "kv_key_not_found", `no key ${JSON.stringify(key)}`)

/**
 * `/api/admin/apps/{app}/kv`, for admins and the app's developers: read, list, write and delete an
 * app's keys; `If-Match` makes a write compare-and-set.
 */
export const KvHttp = HttpApiBuilder.group(
  AdminApi,
  "kv",
  Effect.fn(function*(handlers) {
    const apps = yield* AppRepo
    const kv = yield* KvStore
    const writes = yield* KvCommit
    const manageable = (ref: string) => manageableApp(ref).pipe(Effect.provideService(AppRepo, apps))

    return handlers
      .handle("list", ({ params, query }) =>
        manageable(params.app).pipe(
          Effect.flatMap((appId) =>
            kv.list(appId, { prefix: query.prefix, limit: query.limit ?? KV_DEFAULT_PAGE, cursor: query.cursor })
          ),
          apiErrors
        ))
      .handle("get", ({ params }) =>
        Effect.gen(function*() {
          const entry = yield* kv.get(yield* manageable(params.app), params.key)
          if (Option.isNone(entry)) return yield* keyNotFound(params.key)
          return HttpApiSchema.withHeaders({
            body: { key: params.key, ...entry.value },
            headers: etag(entry.value.version)
          })
        }).pipe(apiErrors))
      .handle("put", ({ headers, params, payload }) =>
        Effect.gen(function*() {
          const appId = yield* manageable(params.app)
          const [written] = yield* writes.commit(appId, [
            { op: "set", key: params.key, value: payload, ifVersion: headers["if-match"] }
          ], null)
          return HttpApiSchema.withHeaders({
            body: { key: params.key, version: written!.version, updated_at: written!.updated_at! },
            headers: etag(written!.version)
          })
        }).pipe(apiErrors))
      .handle("delete", ({ headers, params }) =>
        Effect.gen(function*() {
          const appId = yield* manageable(params.app)
          const [deleted] = yield* writes.commit(appId, [{
            op: "delete",
            key: params.key,
            ifVersion: headers["if-match"]
          }], null)
          if (deleted!.old_version === 0) return yield* keyNotFound(params.key)
        }).pipe(apiErrors))
  })
)

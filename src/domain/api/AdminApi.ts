import { Schema, SchemaTransformation } from "effect"
import {
  HttpApi,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity
} from "effect/http-api"
import { App, CreateApp } from "../App.ts"
import { DeadLetter } from "../DeadLetter.ts"
import {
  ExecutionAttempt,
  ExecutionErrorInfo,
  ExecutionRecord,
  ExecutionStatus,
  ExecutionTree,
  Invocation,
  LogEntry
} from "../Execution.ts"
import {
  ApiToken,
  CreateToken,
  CreateUser,
  CurrentPrincipal,
  GrantApps,
  Login,
  SessionInfo,
  SignIn,
  User
} from "../Identity.ts"
import { UUID_PATTERN } from "../Ids.ts"
import { KV_MAX_PAGE, KvItem, KvKey, KvPage, KvPrefix } from "../KvStore.ts"
import { CreateRoute, Route } from "../Route.ts"
import { CreateSchedule, Schedule, ScheduleDetail, UpdateSchedule } from "../Schedule.ts"
import { CreateScript, Script, UpdateScript } from "../Script.ts"
import { PutSecret, SecretInfo } from "../SecretRepo.ts"
import { Ref, StorableText } from "../StorableText.ts"
import { CreateTrigger, Trigger, UpdateTrigger } from "../Trigger.ts"
import {
  BadRequest,
  Conflict,
  Forbidden,
  InternalError,
  NotFound,
  PayloadTooLargeResponse,
  PreconditionFailed,
  ServiceUnavailable,
  TooManyRequestsResponse,
  Unauthorized,
  Unprocessable
} from "./ApiError.ts"
import { SESSION_COOKIE } from "./credentials.ts"

/**
 * Authentication for the admin API: `Authorization: Bearer <token>`, or the dashboard's session
 * cookie (`picloud_session`, set by `POST /session`); the bearer wins when both are sent. Provides
 * the caller as `CurrentPrincipal`; a missing, unknown, revoked or expired token is a 401 in
 * PiCloud's JSON error body. A cookie-authenticated request other than GET/HEAD must carry
 * `X-PiCloud-CSRF: 1`, and none may carry an `Origin` other than the API's own (403).
 */
export class AdminAuth
  extends HttpApiMiddleware.Service<AdminAuth, { provides: CurrentPrincipal }>()("picloud/api/AdminAuth", {
    error: [Unauthorized, Forbidden, InternalError],
    security: {
      bearer: HttpApiSecurity.bearer,
      session: HttpApiSecurity.apiKey({ in: "cookie", key: SESSION_COOKIE })
    }
  })
{}

/** Maps request decoding failures to `BadRequest` (the default would be an empty 400). */
export class DecodeErrors extends HttpApiMiddleware.Service<DecodeErrors>()("picloud/api/DecodeErrors", {
  error: BadRequest
}) {}

/**
 * Caps the body of every admin request (`PICLOUD_MAX_ADMIN_BODY_BYTES`): over the cap, a 413; a
 * declared `Content-Length` over it is refused before anything is read. A script source over
 * `PICLOUD_MAX_SCRIPT_BYTES` is a 413 of the same shape, from the handler.
 */
export class AdminBodyLimit extends HttpApiMiddleware.Service<AdminBodyLimit>()("picloud/api/AdminBodyLimit", {
  error: [PayloadTooLargeResponse, BadRequest]
}) {}

/**
 * Path parameters and query values are checked like payload fields (`Ref`: storable, bounded),
 * so none reaches the database as text it cannot hold. A `{ref}` names an app or user by name or
 * id, or a script, route, trigger, schedule, token, execution or dead letter by id; a UUID is only ever read as an id.
 */
const IdParams = { id: Ref }
const AppParams = { app: Ref }

/** An id-typed query value: a UUID, or a 400 that says so rather than a listing of nothing. */
const IdQuery = (name: string) =>
  Ref.check(Schema.isPattern(UUID_PATTERN, { message: `${name} must be an id (a UUID)` }))

/** `?limit=` of a listing: 1–200; a listing without it returns `DEFAULT_PAGE_SIZE` items. */
const PageLimit = Schema.optionalKey(
  Schema.FiniteFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 200 }))
)
export const DEFAULT_PAGE_SIZE = 50

/** Script with its current source, as `GET /scripts/{id}` returns it. */
export const ScriptDetail = Schema.Struct({ ...Script.fields, source: Schema.String })

/** At most this many query parameters, and this many headers, in a test run's request. */
export const TEST_RUN_MAX_ENTRIES = 64

/** A header name as HTTP spells one (RFC 9110 `token`). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/

/** Checked on the record, not its key schema: a record drops a key its key schema refuses, silently. */
const headerNames = Schema.makeFilter((entries: object) => {
  const bad = Object.keys(entries).find((name) => !HEADER_NAME.test(name))
  return bad === undefined || `${JSON.stringify(bad)} is not a header name (an HTTP token of at most 128 characters)`
})

const atMostEntries = (what: string) =>
  Schema.makeFilter((entries: object) =>
    Object.keys(entries).length <= TEST_RUN_MAX_ENTRIES || `must hold at most ${TEST_RUN_MAX_ENTRIES} ${what}`
  )

/**
 * `POST /scripts/{id}/test-run`: a request to run the saved script with, as the script will see it.
 * Only these headers reach the script (never the caller's own, so never its session cookie); a
 * `Bearer` authorization or the dashboard's session cookie among them is refused (400), since the
 * platform would consume them and never hand them to a script. `body` is bounded in bytes by
 * `PICLOUD_MAX_REQUEST_BYTES`, as the data plane's is (413).
 */
export const TestRunRequest = Schema.Struct({
  method: Schema.optionalKey(Schema.Literals(["GET", "POST", "PUT", "PATCH", "DELETE"])),
  path: Schema.optionalKey(
    StorableText(2048).check(Schema.isPattern(/^\//, { message: "a path must start with /" }))
  ),
  query: Schema.optionalKey(
    Schema.Record(StorableText(256), StorableText(8192)).check(atMostEntries("query parameters"))
  ),
  headers: Schema.optionalKey(
    Schema.Record(Schema.String, StorableText(8192)).check(atMostEntries("headers"), headerNames)
  ),
  body: Schema.optionalKey(StorableText())
})
export type TestRunRequest = typeof TestRunRequest.Type

/**
 * What a test run answers: the execution's id, the status, headers and body a caller of the script
 * would have got (for a failed run, the data plane's JSON error body), its error (`null` when it
 * responded), its logs and its duration in the sandbox.
 */
export const TestRunResult = Schema.Struct({
  execution_id: Schema.String,
  status: Schema.Int,
  headers: Schema.Record(Schema.String, Schema.String),
  body: Schema.String,
  error: Schema.NullOr(ExecutionErrorInfo),
  logs: Schema.Array(LogEntry),
  logs_truncated: Schema.Boolean,
  duration_ms: Schema.Number
})

export const ScriptsGroup = HttpApiGroup.make("scripts")
  .add(
    HttpApiEndpoint.post("create", "/scripts", {
      payload: CreateScript,
      success: Script.pipe(HttpApiSchema.status(201)),
      error: [NotFound, Conflict, Unprocessable, PayloadTooLargeResponse, InternalError]
    }),
    HttpApiEndpoint.get("list", "/scripts", {
      query: { app: Schema.optionalKey(Ref) },
      success: Schema.Struct({ items: Schema.Array(Script) }),
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.get("get", "/scripts/:id", {
      params: IdParams,
      success: ScriptDetail,
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.put("update", "/scripts/:id", {
      params: IdParams,
      payload: UpdateScript,
      success: Script,
      error: [NotFound, Conflict, Unprocessable, PayloadTooLargeResponse, InternalError]
    }),
    HttpApiEndpoint.delete("delete", "/scripts/:id", {
      params: IdParams,
      success: HttpApiSchema.NoContent,
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.post("testRun", "/scripts/:id/test-run", {
      params: IdParams,
      payload: TestRunRequest,
      success: TestRunResult,
      error: [BadRequest, NotFound, PayloadTooLargeResponse, ServiceUnavailable, InternalError]
    })
  )

export const AppsGroup = HttpApiGroup.make("apps")
  .add(
    HttpApiEndpoint.post("create", "/apps", {
      payload: CreateApp,
      success: App.pipe(HttpApiSchema.status(201)),
      error: [Conflict, InternalError]
    }),
    HttpApiEndpoint.get("list", "/apps", {
      success: Schema.Struct({ items: Schema.Array(App) }),
      error: InternalError
    }),
    HttpApiEndpoint.get("get", "/apps/:app", {
      params: AppParams,
      success: App,
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.delete("delete", "/apps/:app", {
      params: AppParams,
      query: { force: Schema.optionalKey(Schema.Literals(["true", "false"])) },
      success: HttpApiSchema.NoContent,
      error: [NotFound, Conflict, InternalError]
    })
  )

export const SecretsGroup = HttpApiGroup.make("secrets")
  .add(
    HttpApiEndpoint.post("put", "/apps/:app/secrets", {
      params: AppParams,
      payload: PutSecret,
      success: SecretInfo.pipe(HttpApiSchema.status(201)),
      error: [NotFound, Conflict, InternalError]
    }),
    HttpApiEndpoint.get("list", "/apps/:app/secrets", {
      params: AppParams,
      success: Schema.Struct({ items: Schema.Array(SecretInfo) }),
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.delete("delete", "/apps/:app/secrets/:name", {
      params: { ...AppParams, name: Ref },
      success: HttpApiSchema.NoContent,
      error: [NotFound, InternalError]
    })
  )

export const RoutesGroup = HttpApiGroup.make("routes")
  .add(
    HttpApiEndpoint.post("create", "/routes", {
      payload: CreateRoute,
      success: Route.pipe(HttpApiSchema.status(201)),
      error: [NotFound, Conflict, Unprocessable, InternalError]
    }),
    HttpApiEndpoint.get("list", "/routes", {
      query: { app: Schema.optionalKey(Ref) },
      success: Schema.Struct({ items: Schema.Array(Route) }),
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.get("get", "/routes/:id", {
      params: IdParams,
      success: Route,
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.delete("delete", "/routes/:id", {
      params: IdParams,
      success: HttpApiSchema.NoContent,
      error: [NotFound, InternalError]
    })
  )

export const TriggersGroup = HttpApiGroup.make("triggers")
  .add(
    HttpApiEndpoint.post("create", "/triggers", {
      payload: CreateTrigger,
      success: Trigger.pipe(HttpApiSchema.status(201)),
      error: [BadRequest, NotFound, InternalError]
    }),
    HttpApiEndpoint.get("list", "/triggers", {
      query: { app: Schema.optionalKey(Ref) },
      success: Schema.Struct({ items: Schema.Array(Trigger) }),
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.get("get", "/triggers/:id", {
      params: IdParams,
      success: Trigger,
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.patch("update", "/triggers/:id", {
      params: IdParams,
      payload: UpdateTrigger,
      success: Trigger,
      error: [BadRequest, NotFound, InternalError]
    }),
    HttpApiEndpoint.delete("delete", "/triggers/:id", {
      params: IdParams,
      success: HttpApiSchema.NoContent,
      error: [NotFound, InternalError]
    })
  )

/**
 * `If-Match: <version>` (bare, or quoted as `ETag` sends it): the write happens only if the key
 * is at that version, `0` meaning absent; otherwise 412.
 */
const IfMatch = Schema.String.check(
  Schema.isPattern(/^(\d{1,15}|"\d{1,15}")$/, { message: "If-Match must be a version: digits, optionally quoted" })
).pipe(Schema.decodeTo(
  Schema.Int,
  SchemaTransformation.transform({ decode: (text) => Number(text.replaceAll("\"", "")), encode: String })
))
const KvWriteHeaders = { "if-match": Schema.optionalKey(IfMatch) }

/** `ETag: "<version>"` on what GET and PUT answer. */
const WithETag = <S extends Schema.Top>(body: S) => HttpApiSchema.WithHeaders(body, { etag: Schema.String })

const KvKeyParams = { ...AppParams, key: KvKey }

/** What a PUT answers: the key's new version (the value is what was sent). */
export const KvWritten = Schema.Struct({ key: Schema.String, version: Schema.Int, updated_at: Schema.String })

export const KvGroup = HttpApiGroup.make("kv")
  .add(
    HttpApiEndpoint.get("list", "/apps/:app/kv", {
      params: AppParams,
      query: {
        prefix: Schema.optionalKey(KvPrefix),
        limit: Schema.optionalKey(
          Schema.FiniteFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: KV_MAX_PAGE }))
        ),
        cursor: Schema.optionalKey(StorableText(1024))
      },
      success: KvPage,
      error: [BadRequest, NotFound, InternalError]
    }),
    HttpApiEndpoint.get("get", "/apps/:app/kv/:key", {
      params: KvKeyParams,
      success: WithETag(KvItem),
      error: [BadRequest, NotFound, InternalError]
    }),
    HttpApiEndpoint.put("put", "/apps/:app/kv/:key", {
      params: KvKeyParams,
      headers: KvWriteHeaders,
      payload: Schema.Json,
      success: WithETag(KvWritten),
      error: [BadRequest, NotFound, PreconditionFailed, PayloadTooLargeResponse, InternalError]
    }),
    HttpApiEndpoint.delete("delete", "/apps/:app/kv/:key", {
      params: KvKeyParams,
      headers: KvWriteHeaders,
      success: HttpApiSchema.NoContent,
      error: [BadRequest, NotFound, PreconditionFailed, InternalError]
    })
  )

export const ExecutionPage = Schema.Struct({
  items: Schema.Array(ExecutionRecord),
  next_cursor: Schema.NullOr(Schema.String)
})

/**
 * One execution as `GET /executions/{id}` shows it: its record, with `attempts` its attempts in
 * order (the retried ones kept, then the one its record ran) and `attempt_count` how many it made.
 */
export const ExecutionDetail = Schema.Struct({
  ...ExecutionRecord.fields,
  attempt_count: Schema.Int,
  attempts: Schema.Array(ExecutionAttempt)
})

export const ExecutionsGroup = HttpApiGroup.make("executions")
  .add(
    // Server-Sent Events: `event: execution` (id: the execution id, data: its record), and a
    // last `event: dropped` or `event: shutdown` (docs/ARCHITECTURE.md §4; README, Live tail).
    HttpApiEndpoint.get("stream", "/executions/stream", {
      query: {
        app: Schema.optionalKey(Ref),
        script: Schema.optionalKey(IdQuery("script")),
        status: Schema.optionalKey(ExecutionStatus),
        since: Schema.optionalKey(IdQuery("since"))
      },
      headers: { "last-event-id": Schema.optionalKey(IdQuery("Last-Event-ID")) },
      success: HttpApiSchema.StreamUint8Array({ contentType: "text/event-stream" }),
      error: [BadRequest, NotFound, InternalError]
    }),
    HttpApiEndpoint.get("list", "/executions", {
      query: {
        app: Schema.optionalKey(Ref),
        script: Schema.optionalKey(IdQuery("script")),
        invocation: Schema.optionalKey(Invocation),
        /** Only the runs this KV trigger started. */
        trigger: Schema.optionalKey(IdQuery("trigger")),
        /** Only the runs a write of this KV key triggered (`kv_key`); needs `app`: keys are per app. */
        key: Schema.optionalKey(KvKey),
        status: Schema.optionalKey(ExecutionStatus),
        limit: PageLimit,
        cursor: Schema.optionalKey(StorableText(256))
      },
      success: ExecutionPage,
      error: [BadRequest, NotFound, InternalError]
    }),
    HttpApiEndpoint.get("get", "/executions/:id", {
      params: IdParams,
      success: ExecutionDetail,
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.get("tree", "/executions/:id/tree", {
      params: IdParams,
      success: ExecutionTree,
      error: [NotFound, InternalError]
    })
  )

export const UsersGroup = HttpApiGroup.make("users")
  .add(
    HttpApiEndpoint.post("create", "/users", {
      payload: CreateUser,
      success: User.pipe(HttpApiSchema.status(201)),
      error: [NotFound, Conflict, InternalError]
    }),
    HttpApiEndpoint.get("list", "/users", {
      success: Schema.Struct({ items: Schema.Array(User) }),
      error: InternalError
    }),
    HttpApiEndpoint.get("get", "/users/:user", {
      params: { user: Ref },
      success: User,
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.put("grant", "/users/:user/apps", {
      params: { user: Ref },
      payload: GrantApps,
      success: User,
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.delete("delete", "/users/:user", {
      params: { user: Ref },
      success: HttpApiSchema.NoContent,
      error: [NotFound, Conflict, InternalError]
    })
  )

/** A token as created: `secret` is shown this once and never again. */
export const NewApiToken = Schema.Struct({ token: ApiToken, secret: Schema.String })

export const TokensGroup = HttpApiGroup.make("tokens")
  .add(
    HttpApiEndpoint.post("create", "/tokens", {
      payload: CreateToken,
      success: NewApiToken.pipe(HttpApiSchema.status(201)),
      error: [Conflict, InternalError]
    }),
    HttpApiEndpoint.get("list", "/tokens", {
      query: { all: Schema.optionalKey(Schema.Literals(["true", "false"])) },
      success: Schema.Struct({ items: Schema.Array(ApiToken) }),
      error: [Forbidden, InternalError]
    }),
    HttpApiEndpoint.delete("revoke", "/tokens/:id", {
      params: IdParams,
      success: HttpApiSchema.NoContent,
      error: [NotFound, InternalError]
    })
  )

/** One minute of the overview: executions started in it by status, their p95 duration, gate 503s. */
export const StatsMinute = Schema.Struct({
  at: Schema.String,
  outcomes: Schema.Record(Schema.String, Schema.Number),
  /** `null` in a minute without executions. */
  p95_ms: Schema.NullOr(Schema.Number),
  rejected_503: Schema.Number,
  /**
   * The outbox's lag in the minute: the longest wait from acceptance to start of the async
   * executions that started in it at their first attempt; `null` when none did.
   */
  outbox_wait_ms: Schema.NullOr(Schema.Number)
})

/**
 * The dashboard's overview, over the last hour: 60 minutes, oldest first (the last one is the
 * current, partial minute). `outbox` and `rejected_503` are platform-wide; `rejected_503` counts
 * this process's gate refusals only (its counters are process-local).
 */
export const Stats = Schema.Struct({
  from: Schema.String,
  to: Schema.String,
  minutes: Schema.Array(StatsMinute),
  outbox: Schema.Struct({ depth: Schema.Number, due: Schema.Number, oldest_due_age_seconds: Schema.Number }),
  rejected_503: Schema.Number
})

export const StatsGroup = HttpApiGroup.make("stats")
  .add(
    HttpApiEndpoint.get("get", "/stats", {
      query: { app: Schema.optionalKey(Ref) },
      success: Stats,
      error: [NotFound, InternalError]
    })
  )

/**
 * The dashboard's session, as whoever holds it: who it is (`GET`), and signing out (`DELETE`:
 * revokes the cookie's token and clears the cookie).
 */
export const SessionGroup = HttpApiGroup.make("session")
  .add(
    HttpApiEndpoint.get("get", "/session", {
      success: SessionInfo,
      error: InternalError
    }),
    HttpApiEndpoint.delete("delete", "/session", {
      success: HttpApiSchema.NoContent,
      error: InternalError
    })
  )

/**
 * The admin endpoints without a token: trading a password for one (rate limited), and signing in
 * to the dashboard (a password, rate limited the same, or a token: a new session token, set as the
 * `HttpOnly; SameSite=Strict` cookie `picloud_session`).
 */
export const LoginGroup = HttpApiGroup.make("login")
  .add(
    HttpApiEndpoint.post("login", "/login", {
      payload: Login,
      success: NewApiToken.pipe(HttpApiSchema.status(201)),
      error: [Unauthorized, TooManyRequestsResponse, InternalError]
    }),
    HttpApiEndpoint.post("signIn", "/session", {
      payload: SignIn,
      success: SessionInfo.pipe(HttpApiSchema.status(201)),
      error: [BadRequest, Unauthorized, Forbidden, TooManyRequestsResponse, InternalError]
    })
  )
/** An execution accepted for later: what an async route's 202 and a replay answer. */
export const AcceptedExecution = Schema.Struct({ execution_id: Schema.String, accepted_at: Schema.String })

/** At most this many dead letters in one bulk replay. */
export const MAX_BULK_REPLAY = 100

/** `POST /dead-letters/replay`: the dead letters to replay, 1 to `MAX_BULK_REPLAY` ids (a repeated one counts once). */
export const BulkReplay = Schema.Struct({
  ids: Schema.Array(
    StorableText(36).check(Schema.isPattern(UUID_PATTERN, { message: "each id must be a dead letter's id (a UUID)" }))
  ).check(
    Schema.isMinLength(1, { message: "name at least one dead letter" }),
    Schema.isMaxLength(MAX_BULK_REPLAY, { message: `at most ${MAX_BULK_REPLAY} dead letters at once` })
  )
})

/** One id's outcome in a bulk replay: replayed as a new execution, or no such dead letter (for the caller). */
export const BulkReplayResult = Schema.Union([
  Schema.Struct({
    id: Schema.String,
    outcome: Schema.Literal("accepted"),
    execution_id: Schema.String,
    accepted_at: Schema.String
  }),
  Schema.Struct({ id: Schema.String, outcome: Schema.Literal("not_found") })
])

export const DeadLettersGroup = HttpApiGroup.make("deadLetters")
  .add(
    HttpApiEndpoint.get("list", "/dead-letters", {
      query: {
        app: Schema.optionalKey(Ref),
        script: Schema.optionalKey(IdQuery("script")),
        resolution: Schema.optionalKey(Schema.Literals(["none", "pending", "handled", "handler_failed"])),
        limit: PageLimit,
        cursor: Schema.optionalKey(StorableText(256))
      },
      success: Schema.Struct({ items: Schema.Array(DeadLetter), next_cursor: Schema.NullOr(Schema.String) }),
      error: [BadRequest, NotFound, InternalError]
    }),
    HttpApiEndpoint.post("replayMany", "/dead-letters/replay", {
      payload: BulkReplay,
      success: Schema.Struct({ results: Schema.Array(BulkReplayResult) }),
      error: [BadRequest, InternalError]
    }),
    HttpApiEndpoint.get("get", "/dead-letters/:id", {
      params: IdParams,
      success: DeadLetter,
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.post("replay", "/dead-letters/:id/replay", {
      params: IdParams,
      success: AcceptedExecution.pipe(HttpApiSchema.status(202)),
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.delete("discard", "/dead-letters/:id", {
      params: IdParams,
      success: HttpApiSchema.NoContent,
      error: [NotFound, InternalError]
    })
  )

export const SchedulesGroup = HttpApiGroup.make("schedules")
  .add(
    HttpApiEndpoint.post("create", "/schedules", {
      payload: CreateSchedule,
      success: Schedule.pipe(HttpApiSchema.status(201)),
      error: [BadRequest, NotFound, Conflict, InternalError]
    }),
    HttpApiEndpoint.get("list", "/schedules", {
      query: { app: Schema.optionalKey(Ref) },
      success: Schema.Struct({ items: Schema.Array(Schedule) }),
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.get("get", "/schedules/:id", {
      params: IdParams,
      success: ScheduleDetail,
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.patch("update", "/schedules/:id", {
      params: IdParams,
      payload: UpdateSchedule,
      success: Schedule,
      error: [BadRequest, NotFound, Conflict, InternalError]
    }),
    HttpApiEndpoint.delete("delete", "/schedules/:id", {
      params: IdParams,
      success: HttpApiSchema.NoContent,
      error: [NotFound, InternalError]
    }),
    HttpApiEndpoint.post("run", "/schedules/:id/run", {
      params: IdParams,
      success: AcceptedExecution.pipe(HttpApiSchema.status(202)),
      error: [NotFound, InternalError]
    })
  )

/**
 * The admin API: schema-first, published as OpenAPI at `/api/admin/openapi.json`. Every group
 * but login needs a bearer token or the dashboard's session cookie; a role that may not do something gets 403 (`Forbidden`).
 */
export class AdminApi extends HttpApi.make("admin")
  .add(AppsGroup)
  .add(SecretsGroup)
  .add(KvGroup)
  .add(ScriptsGroup)
  .add(RoutesGroup)
  .add(TriggersGroup)
  .add(SchedulesGroup)
  .add(ExecutionsGroup)
  .add(DeadLettersGroup)
  .add(UsersGroup)
  .add(TokensGroup)
  .add(SessionGroup)
  .add(StatsGroup)
  .middleware(AdminAuth)
  .add(LoginGroup)
  .middleware(DecodeErrors)
  .middleware(AdminBodyLimit)
  .prefix("/api/admin")
{}

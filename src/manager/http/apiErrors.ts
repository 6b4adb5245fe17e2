import { Effect } from "effect"
import {
  apiError,
  BadRequest,
  Conflict,
  InternalError,
  NotFound,
  PayloadTooLarge,
  PreconditionFailed,
  Unprocessable
} from "../../domain/api/ApiError.ts"
import type {
  AppNameTaken,
  AppNotEmpty,
  AppNotFound,
  AppProtected,
  ExecutionNotFound,
  InvalidCursor,
  PersistenceError,
  RouteConflict,
  RouteNotFound,
  RoutePathInvalid,
  ScheduleInvalid,
  ScheduleNameTaken,
  ScheduleNotFound,
  ScriptInvalid,
  ScriptNameTaken,
  ScriptNotFound,
  ScriptTooLarge,
  TokenNotFound,
  TriggerNotFound,
  TriggerPatternInvalid,
  UsernameTaken,
  UserNotFound
} from "../../domain/Errors.ts"
import type { KvConflict, KvKeyInvalid, KvValueInvalid, KvValueTooLarge } from "../../domain/KvStore.ts"
import type { SecretKeyMissing } from "../SecretCipher.ts"

/** Every error of the services and repositories that an admin handler may meet. */
type DomainError =
  | PersistenceError
  | AppNameTaken
  | AppNotEmpty
  | AppNotFound
  | AppProtected
  | ExecutionNotFound
  | InvalidCursor
  | KvConflict
  | KvKeyInvalid
  | KvValueInvalid
  | KvValueTooLarge
  | RouteConflict
  | RouteNotFound
  | RoutePathInvalid
  | ScheduleInvalid
  | ScheduleNameTaken
  | ScheduleNotFound
  | ScriptInvalid
  | ScriptNameTaken
  | ScriptNotFound
  | ScriptTooLarge
  | SecretKeyMissing
  | TokenNotFound
  | TriggerNotFound
  | TriggerPatternInvalid
  | UsernameTaken
  | UserNotFound

/** Every tag of `DomainError`, each once: the compiler refuses a missing or an unknown one. */
const DOMAIN_TAGS: Record<DomainError["_tag"], true> = {
  PersistenceError: true,
  AppNameTaken: true,
  AppNotEmpty: true,
  AppNotFound: true,
  AppProtected: true,
  ExecutionNotFound: true,
  InvalidCursor: true,
  KvConflict: true,
  KvKeyInvalid: true,
  KvValueInvalid: true,
  KvValueTooLarge: true,
  RouteConflict: true,
  RouteNotFound: true,
  RoutePathInvalid: true,
  ScheduleInvalid: true,
  ScheduleNameTaken: true,
  ScheduleNotFound: true,
  ScriptInvalid: true,
  ScriptNameTaken: true,
  ScriptNotFound: true,
  ScriptTooLarge: true,
  SecretKeyMissing: true,
  TokenNotFound: true,
  TriggerNotFound: true,
  TriggerPatternInvalid: true,
  UsernameTaken: true,
  UserNotFound: true
}

const isDomainError = <E>(error: E): error is Extract<E, DomainError> =>
  typeof error === "object" && error !== null &&
  Object.hasOwn(DOMAIN_TAGS, (error as { readonly _tag?: string })._tag ?? "")

/** The API error for a domain error: the admin API's one mapping. A storage fault is logged and a bare 500. */
const toApiError = (error: DomainError) => {
  switch (error._tag) {
    case "PersistenceError":
      return Effect.logError(`${error.operation} failed`, error.cause).pipe(
        Effect.andThen(Effect.fail(apiError(InternalError, "internal", "internal error")))
      )
    case "AppNameTaken":
      return Effect.fail(apiError(Conflict, "app_name_taken", `an app named ${error.name} exists`))
    case "AppNotEmpty":
      return Effect.fail(apiError(
        Conflict,
        "app_not_empty",
        `app ${error.name} holds ${error.scripts} script(s); delete them first or pass ?force=true`
      ))
    case "AppNotFound":
      return Effect.fail(apiError(NotFound, "app_not_found", `no app ${error.ref}`))
    case "AppProtected":
      return Effect.fail(apiError(Conflict, "app_protected", `the ${error.name} app cannot be deleted`))
    case "ExecutionNotFound":
      return Effect.fail(apiError(NotFound, "execution_not_found", `no execution ${error.id}`))
    case "InvalidCursor":
      return Effect.fail(apiError(BadRequest, "bad_request", "invalid cursor"))
    case "KvConflict":
      return Effect.fail(apiError(
        PreconditionFailed,
        "version_mismatch",
        `key ${JSON.stringify(error.key)} is at version ${error.actual}, not ${error.expected}`
      ))
    case "KvKeyInvalid":
      return Effect.fail(apiError(BadRequest, "kv_key_invalid", `invalid key: ${error.reason}`))
    case "KvValueInvalid":
      return Effect.fail(apiError(BadRequest, "kv_value_invalid", `invalid value: ${error.reason}`))
    case "KvValueTooLarge":
      return Effect.fail(apiError(
        PayloadTooLarge,
        "kv_value_too_large",
        `the value is ${error.bytes} bytes of JSON, over the limit of ${error.limit}`
      ))
    case "RouteConflict":
      return Effect.fail(
        apiError(Conflict, "route_conflict", `a ${error.method} route of the same shape as ${error.path} exists`)
      )
    case "RouteNotFound":
      return Effect.fail(apiError(NotFound, "route_not_found", `no route ${error.id}`))
    case "RoutePathInvalid":
      return Effect.fail(apiError(Unprocessable, "bad_path", error.reason))
    case "ScheduleInvalid":
      return Effect.fail(apiError(BadRequest, "bad_request", `invalid ${error.field}: ${error.reason}`))
    case "ScheduleNameTaken":
      return Effect.fail(
        apiError(Conflict, "schedule_name_taken", `a schedule named ${error.name} exists in this app`)
      )
    case "ScheduleNotFound":
      return Effect.fail(apiError(NotFound, "schedule_not_found", `no schedule ${error.id}`))
    case "ScriptInvalid":
      return Effect.fail(
        apiError(Unprocessable, "script_invalid", error.message, { line: error.line, column: error.column })
      )
    case "ScriptNameTaken":
      return Effect.fail(apiError(Conflict, "script_name_taken", `a script named ${error.name} exists in this app`))
    case "ScriptNotFound":
      return Effect.fail(apiError(NotFound, "script_not_found", `no script ${error.ref}`))
    case "ScriptTooLarge":
      return Effect.fail(
        apiError(PayloadTooLarge, "payload_too_large", `the script source is over the limit of ${error.limit} bytes`)
      )
    case "SecretKeyMissing":
      return Effect.fail(apiError(Conflict, "secret_key_missing", "set PICLOUD_SECRET_KEY to store secrets"))
    case "TokenNotFound":
      return Effect.fail(apiError(NotFound, "token_not_found", `no token ${error.id}`))
    case "TriggerNotFound":
      return Effect.fail(apiError(NotFound, "trigger_not_found", `no trigger ${error.id}`))
    case "TriggerPatternInvalid":
      return Effect.fail(apiError(BadRequest, "bad_request", `invalid key_pattern: ${error.reason}`))
    case "UsernameTaken":
      return Effect.fail(apiError(Conflict, "username_taken", `a user named ${error.username} exists`))
    case "UserNotFound":
      return Effect.fail(apiError(NotFound, "user_not_found", `no user ${error.ref}`))
  }
}

/**
 * Maps the domain errors of an admin handler to the API's errors, in one place: every handler
 * ends with `.pipe(apiErrors)`, and says nothing else about errors it does not decide itself.
 */
export const apiErrors = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchIf(
    effect,
    (error): error is Extract<E, DomainError> => isDomainError(error),
    (error) => toApiError(error)
  )

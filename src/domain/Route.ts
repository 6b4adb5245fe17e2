import { Schema } from "effect"
import { RetryPolicy, RetryPolicyInput } from "./RetryPolicy.ts"
import { Ref, StorableText } from "./StorableText.ts"

/** First path segments the platform keeps for itself: no app route can live under them. */
export const RESERVED_SEGMENTS: ReadonlySet<string> = new Set(["api", "dashboard", "health", "metrics"])

export const RouteMethod = Schema.Literals(["GET", "POST", "PUT", "PATCH", "DELETE", "ANY"])
export type RouteMethod = typeof RouteMethod.Type

/** One segment of a pattern: literal text, a `:param`, or a trailing `*rest`. */
export type Segment =
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "param"; readonly name: string }
  | { readonly kind: "rest"; readonly name: string }

const LITERAL = /^[A-Za-z0-9._~-]+$/
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/

/** Parses `/orders/:id/*rest`; a string says what is wrong. */
export const parsePattern = (path: string): ReadonlyArray<Segment> | string => {
  if (!path.startsWith("/")) return "a route path starts with '/'"
  const parts = path === "/" ? [] : path.slice(1).split("/")
  const segments: Array<Segment> = []
  for (const [i, part] of parts.entries()) {
    if (part.startsWith(":")) {
      if (!NAME.test(part.slice(1))) return `bad parameter name in '${part}'`
      segments.push({ kind: "param", name: part.slice(1) })
    } else if (part.startsWith("*")) {
      if (i !== parts.length - 1) return "a '*rest' segment must come last"
      if (!NAME.test(part.slice(1))) return `bad rest name in '${part}'`
      segments.push({ kind: "rest", name: part.slice(1) })
    } else if (!LITERAL.test(part)) {
      return `'${part}' is not a valid path segment`
    } else if (part === "." || part === "..") {
      // Clients and proxies resolve dot segments before a request is sent: nothing could reach it.
      return `'${part}' segments are not allowed: URLs resolve them away, so the route could never be reached`
    } else {
      segments.push({ kind: "literal", text: part })
    }
  }
  const names = segments.flatMap((s) => (s.kind === "literal" ? [] : [s.name]))
  if (new Set(names).size !== names.length) return "parameter names must be distinct"
  return segments
}

/** Two patterns with the same shape (parameter names aside) conflict: `/a/:x` and `/a/:y`. */
export const patternShape = (segments: ReadonlyArray<Segment>) =>
  "/" + segments.map((s) => (s.kind === "literal" ? s.text : s.kind === "param" ? ":" : "*")).join("/")

/** The captures when `path` (without the app segment) matches, else undefined. */
export const matchPattern = (
  segments: ReadonlyArray<Segment>,
  path: ReadonlyArray<string>
): Record<string, string> | undefined => {
  const params: Record<string, string> = {}
  for (const [i, segment] of segments.entries()) {
    if (segment.kind === "rest") {
      params[segment.name] = path.slice(i).join("/")
      return params
    }
    const part = path[i]
    if (part === undefined) return undefined
    if (segment.kind === "literal" ? part !== segment.text : part === "") return undefined
    if (segment.kind === "param") params[segment.name] = part
  }
  return path.length === segments.length ? params : undefined
}

/** Literal segments beat parameters, which beat a rest: `/a/new` wins over `/a/:id` over `/a/*x`. */
export const specificity = (segments: ReadonlyArray<Segment>) =>
  segments.map((s) => (s.kind === "literal" ? "2" : s.kind === "param" ? "1" : "0")).join("") + "3"

/** Bounds of a new route's path (routes stored before them still load and match). */
export const MAX_ROUTE_PATH_LENGTH = 1024
export const MAX_ROUTE_SEGMENTS = 32

const Pattern = StorableText(MAX_ROUTE_PATH_LENGTH).check(
  Schema.makeFilter((path: string) => {
    const parsed = parsePattern(path)
    if (typeof parsed === "string") return parsed
    return parsed.length <= MAX_ROUTE_SEGMENTS || `a route path has at most ${MAX_ROUTE_SEGMENTS} segments`
  })
)

export const Route = Schema.Struct({
  id: Schema.String,
  app_id: Schema.String,
  method: RouteMethod,
  path: Schema.String,
  script_id: Schema.String,
  dispatch_mode: Schema.Literals(["sync", "async"]),
  auth: Schema.Literals(["none", "token"]),
  /** How an async route's failed executions are retried (sync routes are not retried). */
  retry: RetryPolicy,
  /** The script (of the same app) run when an async execution of the route is dead-lettered. */
  dead_letter_script_id: Schema.NullOr(Schema.String),
  created_at: Schema.String
})
export type Route = typeof Route.Type

export const CreateRoute = Schema.Struct({
  /** The app's name or id; the default app when absent. */
  app: Schema.optionalKey(Ref),
  method: RouteMethod,
  path: Pattern,
  /** The script's name (in the app) or id. */
  script: Ref,
  dispatch_mode: Schema.optionalKey(Schema.Literals(["sync", "async"])),
  auth: Schema.optionalKey(Schema.Literals(["none", "token"])),
  /** Fields left out take their defaults (exponential from 1 s, capped at 5 min, 5 attempts, jitter). */
  retry: Schema.optionalKey(RetryPolicyInput),
  /** The name (in the app) or id of the script to run when an execution is dead-lettered. */
  dead_letter_script: Schema.optionalKey(Ref)
}).check(
  // A sync route's execution is never retried nor dead-lettered: a policy or a handler given for
  // one would be kept and ignored.
  Schema.makeFilter((route) =>
    route.retry === undefined || route.dispatch_mode === "async" ||
    "retry applies to async routes only (dispatch_mode: \"async\")"
  ),
  Schema.makeFilter((route) =>
    route.dead_letter_script === undefined || route.dispatch_mode === "async" ||
    "dead_letter_script applies to async routes only (dispatch_mode: \"async\")"
  )
)
export type CreateRoute = typeof CreateRoute.Type

import { Config, Duration, Effect, LogLevel, Option, Schema, SchemaIssue, SchemaTransformation } from "effect"
import { availableParallelism, hostname } from "node:os"
import { defaultLimits } from "../executor/Engine.ts"
import { MIN_MEMORY_MB } from "../executor/quickjsInstance.ts"

/**
 * One setting read from the environment. Layers read it when they are built
 * (`yield* Settings.port.config`), never at module top level; the README's Configuration table
 * documents the same list (test/unit/config/Settings.test.ts keeps the two in step).
 */
export interface Setting<A> {
  /** The environment variable. */
  readonly name: string
  /** What it sets, in one line. */
  readonly meaning: string
  /** How it is read: its type, bounds and default. */
  readonly config: Config.Config<A>
  /** The default in words, for one that depends on the machine or on another setting. */
  readonly defaultText?: string
}

const setting = <A>(
  name: string,
  meaning: string,
  read: (name: string) => Config.Config<A>,
  options: { readonly defaultText?: string } = {}
): Setting<A> => ({ name, meaning, config: read(name), ...options })

/**
 * One of `values`, in any case (`warn`, `WARN` and `Warn` all read as `Warn`); anything else is
 * refused with the list of what is allowed.
 */
const literalAnyCase = <const L extends ReadonlyArray<string>>(values: L) =>
  Schema.String.pipe(Schema.decodeTo(
    Schema.Literals(values),
    SchemaTransformation.transformEffect({
      decode: (input: string) => {
        const match = values.find((value) => value.toLowerCase() === input.toLowerCase())
        return match === undefined
          ? Effect.fail(
            new SchemaIssue.InvalidValue({
              message: `expected one of ${values.join(", ")} (in any case), got ${JSON.stringify(input)}`
            })
          )
          : Effect.succeed(match as L[number])
      },
      encode: (value: L[number]) => Effect.succeed<string>(value)
    })
  ))

/** An integer of at least `minimum`. */
const intAtLeast = (minimum: number, name: string) =>
  Config.schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(minimum)), name)

export const databaseUrl = setting(
  "DATABASE_URL",
  "the PostgreSQL to use; unset: an embedded one under PICLOUD_DATA_DIR",
  (name) => Config.option(Config.Redacted(name))
)

export const dataDir = setting(
  "PICLOUD_DATA_DIR",
  "where the embedded PostgreSQL keeps its files",
  (name) => Config.String(name).pipe(Config.withDefault("./data"))
)

export const port = setting("PORT", "the HTTP port", (name) => Config.Port(name).pipe(Config.withDefault(8080)))

export const host = setting(
  "HOST",
  "the HTTP bind address",
  (name) => Config.String(name).pipe(Config.withDefault("0.0.0.0"))
)

export const secretKey = setting(
  "PICLOUD_SECRET_KEY",
  "the key that encrypts app secrets (required once any are stored)",
  (name) => Config.option(Config.Redacted(name))
)

export const adminToken = setting(
  "PICLOUD_ADMIN_TOKEN",
  "an admin token; unset on a fresh database: a generated one is printed once",
  (name) => Config.option(Config.Redacted(name))
)

export const metricsToken = setting(
  "PICLOUD_METRICS_TOKEN",
  "the bearer token GET /metrics requires; unset: /metrics is open to anyone who can reach it",
  (name) => Config.option(Config.Redacted(name))
)

export const sessionLifetime = setting(
  "PICLOUD_SESSION_LIFETIME",
  "how long a dashboard sign-in (the token in its session cookie) lasts",
  (name) => Config.Duration(name).pipe(Config.withDefault(Duration.hours(12)))
)

export const maxConcurrentExecutions = setting(
  "PICLOUD_MAX_CONCURRENT_EXECUTIONS",
  "executions at once in the whole process; beyond it, 503",
  (name) => intAtLeast(1, name).pipe(Config.withDefault(32))
)

export const maxQueuedExecutions = setting(
  "PICLOUD_MAX_QUEUED_EXECUTIONS",
  "accepted async executions the outbox may hold, so a flood cannot fill the disk; beyond it, 503",
  (name) => intAtLeast(1, name).pipe(Config.withDefault(100_000))
)

export const maxTriggerDepth = setting(
  "PICLOUD_MAX_TRIGGER_DEPTH",
  "how deep a chain of triggered executions may go; deeper ones are not run (depth_exceeded)",
  (name) => intAtLeast(0, name).pipe(Config.withDefault(8))
)

export const maxCatchUp = setting(
  "PICLOUD_MAX_CATCH_UP",
  "the most missed ticks a schedule with `missed: all` runs when it catches up; older ones are skipped",
  (name) =>
    Config.schema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000 })), name).pipe(
      Config.withDefault(100)
    )
)

export const scheduleGrace = setting(
  "PICLOUD_SCHEDULE_GRACE",
  "how late a schedule's tick may be picked up and still run as on time; a later one is missed",
  (name) => Config.Duration(name).pipe(Config.withDefault(Duration.minutes(1)))
)

export const executorThreads = setting(
  "PICLOUD_EXECUTOR_THREADS",
  "sandbox worker threads",
  // Looked up when read, not when this module loads.
  (name) => Config.option(intAtLeast(1, name)).pipe(Config.map(Option.getOrElse(() => availableParallelism()))),
  { defaultText: "available cores" }
)

export const warmScripts = setting(
  "PICLOUD_WARM_SCRIPTS",
  "warm sandboxes kept per worker thread (0: a fresh sandbox every time)",
  (name) => intAtLeast(0, name).pipe(Config.withDefault(defaultLimits.warmScripts))
)

export const warmMemoryMb = setting(
  "PICLOUD_WARM_MEMORY_MB",
  "memory the idle warm sandboxes of a worker thread may hold in all",
  (name) => intAtLeast(0, name).pipe(Config.withDefault(defaultLimits.warmMemoryMb))
)

export const sandboxMemoryMb = setting(
  "PICLOUD_SANDBOX_MEMORY_MB",
  `memory cap of each sandbox, at least ${MIN_MEMORY_MB}`,
  (name) => intAtLeast(MIN_MEMORY_MB, name).pipe(Config.withDefault(defaultLimits.memoryMb))
)

export const maxLogBytes = setting(
  "PICLOUD_MAX_LOG_BYTES",
  "captured log text per execution",
  (name) => intAtLeast(0, name).pipe(Config.withDefault(defaultLimits.maxLogBytes))
)

export const maxRequestBytes = setting(
  "PICLOUD_MAX_REQUEST_BYTES",
  "request body limit of scripts' endpoints",
  (name) => intAtLeast(0, name).pipe(Config.withDefault(1024 * 1024))
)

export const maxScriptBytes = setting(
  "PICLOUD_MAX_SCRIPT_BYTES",
  "the largest script source stored, in UTF-8 bytes; beyond it, 413",
  (name) => intAtLeast(1, name).pipe(Config.withDefault(1024 * 1024))
)

export const maxAdminBodyBytes = setting(
  "PICLOUD_MAX_ADMIN_BODY_BYTES",
  "the largest admin request body; beyond it, 413",
  // Twice the script limit plus 64 KiB by default, so a source at its limit fits even when JSON
  // escaping doubles it (quotes, backslashes, newlines), with room for the other fields.
  (name) =>
    Config.option(intAtLeast(1, name)).pipe(Config.flatMap(Option.match({
      onNone: () => maxScriptBytes.config.pipe(Config.map((script) => 2 * script + 64 * 1024)),
      onSome: (bytes) => Config.succeed(bytes)
    }))),
  { defaultText: "twice `PICLOUD_MAX_SCRIPT_BYTES` + 65536 (`2162688`)" }
)

export const kvMaxValueBytes = setting(
  "PICLOUD_KV_MAX_VALUE_BYTES",
  "the largest value of the key-value store, as JSON in UTF-8 bytes; beyond it, 413",
  (name) => intAtLeast(1, name).pipe(Config.withDefault(256 * 1024))
)

export const kvMaxOpsPerExecution = setting(
  "PICLOUD_KV_MAX_OPS",
  "the most key-value calls (reads and writes) one execution may make; past it each call throws `KvLimitExceeded`",
  (name) => intAtLeast(1, name).pipe(Config.withDefault(1000))
)

export const kvMaxPendingBytes = setting(
  "PICLOUD_KV_MAX_PENDING_BYTES",
  "the most an execution's uncommitted writes may hold (keys and values as JSON, UTF-8 bytes); past it a write throws `KvLimitExceeded`",
  (name) => intAtLeast(1, name).pipe(Config.withDefault(4 * 1024 * 1024))
)

export const maxResponseBytes = setting(
  "PICLOUD_MAX_RESPONSE_BYTES",
  "response limit: body plus header names and values",
  (name) => intAtLeast(1, name).pipe(Config.withDefault(defaultLimits.maxResponseBytes))
)

export const shutdownTimeout = setting(
  "PICLOUD_SHUTDOWN_TIMEOUT",
  "how long SIGTERM waits for executions in flight",
  // The execution timeout ceiling is 300 s, but a supervisor rarely waits that long.
  (name) => Config.Duration(name).pipe(Config.withDefault(Duration.seconds(30)))
)

export const dbMaxConnections = setting(
  "PICLOUD_DB_MAX_CONNECTIONS",
  "PostgreSQL connection pool size",
  (name) => intAtLeast(1, name).pipe(Config.withDefault(10))
)

export const dbIdleTimeout = setting(
  "PICLOUD_DB_IDLE_TIMEOUT",
  "how long a pooled connection may sit unused before it is closed",
  // The pool lends connections in turn, so with the driver's default (60 s) the idle platform's few
  // queries (the dispatcher's fallback poll) touched every connection a burst had opened often
  // enough to keep them all, and PostgreSQL kept a backend process for each. 10 s lets them go.
  (name) => Config.Duration(name).pipe(Config.withDefault(Duration.seconds(10)))
)

export const executionRetentionDays = setting(
  "PICLOUD_EXECUTION_RETENTION_DAYS",
  "execution records older than this many days are deleted",
  (name) => intAtLeast(1, name).pipe(Config.withDefault(7))
)

export const executionRetentionCount = setting(
  "PICLOUD_EXECUTION_RETENTION_COUNT",
  "at most this many execution records are kept (the newest)",
  (name) => intAtLeast(1, name).pipe(Config.withDefault(1_000_000))
)

export const executionPruneInterval = setting(
  "PICLOUD_EXECUTION_PRUNE_INTERVAL",
  "how often, at most, pruning runs (only after writes)",
  (name) => Config.Duration(name).pipe(Config.withDefault(Duration.minutes(1)))
)

export const nodeId = setting(
  "PICLOUD_NODE_ID",
  "names this process's outbox claims; each process sharing a database needs its own",
  // Looked up when read, not when this module loads.
  (name) => Config.option(Config.String(name)).pipe(Config.map(Option.getOrElse(() => hostname()))),
  { defaultText: "the host name" }
)

export const logLevel = setting(
  "LOG_LEVEL",
  "the minimum log level, in any case",
  (name) => Config.schema(literalAnyCase(LogLevel.values), name).pipe(Config.withDefault("Info"))
)

export const logFormat = setting(
  "LOG_FORMAT",
  "json (one object a line) or pretty, in any case",
  (name) => Config.schema(literalAnyCase(["json", "pretty"]), name).pipe(Config.withDefault("json"))
)

/** Every setting, in the README's order. */
export const all: ReadonlyArray<Setting<unknown>> = [
  databaseUrl,
  dataDir,
  port,
  host,
  secretKey,
  adminToken,
  metricsToken,
  sessionLifetime,
  maxConcurrentExecutions,
  maxQueuedExecutions,
  maxTriggerDepth,
  maxCatchUp,
  scheduleGrace,
  executorThreads,
  warmScripts,
  warmMemoryMb,
  sandboxMemoryMb,
  maxLogBytes,
  maxRequestBytes,
  maxScriptBytes,
  maxAdminBodyBytes,
  kvMaxValueBytes,
  kvMaxOpsPerExecution,
  kvMaxPendingBytes,
  maxResponseBytes,
  shutdownTimeout,
  dbMaxConnections,
  dbIdleTimeout,
  executionRetentionDays,
  executionRetentionCount,
  executionPruneInterval,
  nodeId,
  logLevel,
  logFormat
]

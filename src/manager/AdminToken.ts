import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"

const digest = (token: string) => createHash("sha256").update(token).digest()

/**
 * The one admin token, until users and tokens land: `PICLOUD_ADMIN_TOKEN`, or when unset a random
 * token made at start and logged once. Only its SHA-256 digest is kept in memory.
 */
export class AdminToken extends Context.Service<AdminToken, {
  /** Constant-time comparison of the digests, so timing says nothing about the token. */
  readonly verify: (candidate: string) => boolean
}>()("picloud/manager/AdminToken") {
  static readonly layer = Layer.effect(
    AdminToken,
    Effect.gen(function*() {
      const configured = yield* Config.option(Config.Redacted("PICLOUD_ADMIN_TOKEN"))
      const token = Option.isSome(configured) && Redacted.value(configured.value).length > 0
        ? Redacted.value(configured.value)
        : yield* Effect.sync(() => randomBytes(24).toString("base64url")).pipe(
          Effect.tap((generated) =>
            Effect.logWarning(
              `PICLOUD_ADMIN_TOKEN is not set; this run's admin token is ${generated} (set PICLOUD_ADMIN_TOKEN to choose one)`
            )
          )
        )
      const expected = digest(token)
      return AdminToken.of({ verify: (candidate) => timingSafeEqual(digest(candidate), expected) })
    })
  )

  /** A fixed token, for tests. */
  static readonly layerTest = (token: string) =>
    Layer.succeed(AdminToken, AdminToken.of({ verify: (candidate) => timingSafeEqual(digest(candidate), digest(token)) }))
}

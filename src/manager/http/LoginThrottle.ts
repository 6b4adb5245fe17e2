import { Context, Effect, Layer } from "effect"

const MAX_FAILURES = 5
const WINDOW_MS = 15 * 60_000

/**
 * Failed logins per username: after 5 in 15 minutes, further attempts are refused (429) until the
 * window has passed, whatever the password, so guessing is slow. A success clears the count.
 */
export class LoginThrottle extends Context.Service<LoginThrottle, {
  /** Seconds to wait before trying again, or 0 when an attempt is allowed now. */
  readonly retryAfter: (username: string) => Effect.Effect<number>
  readonly failed: (username: string) => Effect.Effect<void>
  readonly succeeded: (username: string) => Effect.Effect<void>
}>()("picloud/manager/LoginThrottle") {
  static readonly layer = Layer.sync(LoginThrottle, () => {
    const failures = new Map<string, Array<number>>()
    const recent = (username: string, now: number) => (failures.get(username) ?? []).filter((at) => now - at < WINDOW_MS)
    return LoginThrottle.of({
      retryAfter: (username) =>
        Effect.sync(() => {
          const now = Date.now()
          const times = recent(username, now)
          return times.length >= MAX_FAILURES ? Math.ceil((times[0]! + WINDOW_MS - now) / 1000) : 0
        }),
      failed: (username) =>
        Effect.sync(() => {
          const now = Date.now()
          failures.set(username, [...recent(username, now), now].slice(-MAX_FAILURES))
        }),
      succeeded: (username) => Effect.sync(() => void failures.delete(username))
    })
  })
}

import { Clock, Context, Effect, Layer } from "effect"

export const MAX_FAILURES = 5
const WINDOW_MS = 15 * 60_000
/** Usernames tracked at most: with names of at most 64 characters, a few MB in all. */
export const MAX_TRACKED = 10_000

/**
 * Failed logins per username: after 5 in 15 minutes, further attempts are refused (429) until the
 * window has passed, whatever the password, so guessing is slow. A success clears the count.
 *
 * Memory is bounded. An entry is dropped once its latest failure is older than the window, and at
 * most `MAX_TRACKED` are kept. When the table is full, a new name takes the place of the entry that
 * failed least recently among those *not* locked out (only if every entry is locked out does the
 * oldest lockout end early). So a flood of made-up names can neither grow memory nor lock anyone
 * out, since a name the table does not hold is never refused; the most it can do is forget a few
 * failures of a name not locked out, and every forgotten name costs it `MAX_TRACKED` failed
 * logins, each one a password hash on our side.
 */
export class LoginThrottle extends Context.Service<LoginThrottle, {
  /** Seconds to wait before trying again, or 0 when an attempt is allowed now. */
  readonly retryAfter: (username: string) => Effect.Effect<number>
  readonly failed: (username: string) => Effect.Effect<void>
  readonly succeeded: (username: string) => Effect.Effect<void>
  /** How many usernames are tracked now (at most `MAX_TRACKED`). */
  readonly size: Effect.Effect<number>
}>()("picloud/manager/LoginThrottle") {
  static readonly layer = Layer.sync(LoginThrottle, () => {
    // Failure times per username, oldest first. The map's order is that of each name's latest
    // failure (a failure moves its name to the end), so expired entries are all at the front.
    const failures = new Map<string, ReadonlyArray<number>>()
    const recent = (username: string, now: number) =>
      (failures.get(username) ?? []).filter((at) => now - at < WINDOW_MS)
    const sweep = (now: number) => {
      for (const [username, times] of failures) {
        if (now - times[times.length - 1]! < WINDOW_MS) return
        failures.delete(username)
      }
    }
    const evictOne = (now: number) => {
      for (const username of failures.keys()) {
        if (recent(username, now).length < MAX_FAILURES) return void failures.delete(username)
      }
      failures.delete(failures.keys().next().value!)
    }
    return LoginThrottle.of({
      retryAfter: (username) =>
        Clock.currentTimeMillis.pipe(Effect.map((now) => {
          sweep(now)
          const times = recent(username, now)
          return times.length >= MAX_FAILURES ? Math.ceil((times[0]! + WINDOW_MS - now) / 1000) : 0
        })),
      failed: (username) =>
        Clock.currentTimeMillis.pipe(Effect.map((now) => {
          sweep(now)
          const times = [...recent(username, now), now].slice(-MAX_FAILURES)
          failures.delete(username)
          if (failures.size >= MAX_TRACKED) evictOne(now)
          failures.set(username, times)
        })),
      succeeded: (username) => Effect.sync(() => void failures.delete(username)),
      size: Effect.sync(() => failures.size)
    })
  })
}

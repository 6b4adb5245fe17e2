import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { memoryPlatform } from "./client.ts"

const PASSWORD = "correct horse battery staple"

describe("admin API: users, tokens, login", () => {
  it.live("five failed logins lock a username out: 429 with Retry-After, for the right password too; others are not affected", () =>
    Effect.gen(function*() {
      const call = yield* memoryPlatform
      yield* call("POST", "/api/admin/users", { body: { username: "bob", password: PASSWORD, role: "invoker" } })
      yield* call("POST", "/api/admin/users", { body: { username: "carol", password: PASSWORD, role: "invoker" } })
      const login = (username: string, password: string) => call("POST", "/api/admin/login", { token: null, body: { username, password } })
      for (let i = 0; i < 5; i++) assert.strictEqual((yield* login("bob", "wrong password!")).status, 401)
      for (const password of ["wrong password!", PASSWORD]) {
        const locked = yield* login("bob", password)
        assert.strictEqual(locked.status, 429, locked.text)
        assert.strictEqual(locked.json.error.code, "too_many_attempts")
        const retryAfter = Number(locked.headers.get("retry-after"))
        assert.isTrue(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 15 * 60, `Retry-After: ${locked.headers.get("retry-after")}`)
        assert.include(locked.json.error.message, `${retryAfter} s`)
      }
      assert.strictEqual((yield* login("carol", PASSWORD)).status, 201)
    }))
})

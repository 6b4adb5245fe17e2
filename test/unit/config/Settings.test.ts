import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Equal, LogLevel, Option } from "effect"
import { readFileSync } from "node:fs"
import * as Settings from "../../../src/config/Settings.ts"

const read = <A>(setting: Settings.Setting<A>, env: Record<string, string> = {}) =>
  setting.config.parse(ConfigProvider.fromUnknown(env))

/** The rows of the README's Configuration table: variable and default, as written there. */
const readmeTable = () => {
  const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8")
  const section = readme.split(/^## /m).find((part) => part.startsWith("Configuration\n"))
  assert.isDefined(section, "README.md has a ## Configuration section")
  return section!.split("\n").filter((line) => line.startsWith("| `")).map((line) => {
    const [name, defaultText] = line.split("|").slice(1, 3).map((cell) => cell.trim())
    return { name: name!.replaceAll("`", ""), defaultText: defaultText! }
  })
}

describe("Settings and the README's Configuration table", () => {
  it("list the same variables", () => {
    const documented = readmeTable().map((row) => row.name)
    const declared = Settings.all.map((setting) => setting.name)
    assert.strictEqual(new Set(documented).size, documented.length, "no variable documented twice")
    assert.deepStrictEqual(declared.filter((name) => !documented.includes(name)), [], "declared, not in the README")
    assert.deepStrictEqual(documented.filter((name) => !declared.includes(name)), [], "in the README, not declared")
  })

  it("every setting the module declares is in its list", () => {
    const declared = Object.values(Settings).filter((value) =>
      typeof value === "object" && value !== null && "config" in value && "name" in value
    )
    assert.deepStrictEqual(new Set(declared), new Set(Settings.all))
  })

  it.effect("give the same defaults", () =>
    Effect.gen(function*() {
      for (const { name, defaultText } of readmeTable()) {
        const setting = Settings.all.find((s) => s.name === name)
        if (setting === undefined) continue
        const unset = yield* read(setting)
        // The README's value, typed in, must read as what the setting gives when it is unset.
        const sameAsUnset = (written: string) =>
          read(setting, { [name]: written }).pipe(
            Effect.map((value) => assert.isTrue(Equal.equals(value, unset), `${name}: ${written} vs ${String(unset)}`))
          )
        if (setting.defaultText !== undefined) {
          assert.strictEqual(defaultText, setting.defaultText, name)
          const value = /\(`([^`]+)`\)$/.exec(defaultText)
          if (value !== null) yield* sameAsUnset(value[1]!)
        } else if (Option.isOption(unset) && Option.isNone(unset)) {
          assert.strictEqual(defaultText, "unset", name)
        } else {
          const value = /^`([^`]+)`$/.exec(defaultText)
          assert.isNotNull(value, `${name}: the README's default ${defaultText} is not one value in backquotes`)
          yield* sameAsUnset(value![1]!)
        }
      }
    }))
})

describe("LOG_LEVEL and LOG_FORMAT", () => {
  it.effect("read in any case", () =>
    Effect.gen(function*() {
      for (const written of ["warn", "WARN", "Warn", "wArN"]) {
        assert.strictEqual(yield* read(Settings.logLevel, { LOG_LEVEL: written }), "Warn", written)
      }
      assert.strictEqual(yield* read(Settings.logLevel, { LOG_LEVEL: "debug" }), "Debug")
      assert.strictEqual(yield* read(Settings.logLevel), "Info")
      assert.strictEqual(yield* read(Settings.logFormat, { LOG_FORMAT: "PRETTY" }), "pretty")
      assert.strictEqual(yield* read(Settings.logFormat, { LOG_FORMAT: "Json" }), "json")
      assert.strictEqual(yield* read(Settings.logFormat), "json")
    }))

  it.effect("anything else is refused, naming the variable, the value and every allowed value", () =>
    Effect.gen(function*() {
      const level = yield* read(Settings.logLevel, { LOG_LEVEL: "loud" }).pipe(Effect.flip)
      assert.include(level.message, "LOG_LEVEL")
      assert.include(level.message, `got "loud"`)
      for (const allowed of LogLevel.values) assert.include(level.message, allowed)
      const format = yield* read(Settings.logFormat, { LOG_FORMAT: "xml" }).pipe(Effect.flip)
      assert.include(format.message, "LOG_FORMAT")
      assert.include(format.message, "expected one of json, pretty (in any case), got \"xml\"")
    }))
})

describe("PICLOUD_MAX_ADMIN_BODY_BYTES", () => {
  it.effect("follows PICLOUD_MAX_SCRIPT_BYTES when unset, and is refused when it is not an integer", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* read(Settings.maxAdminBodyBytes, { PICLOUD_MAX_SCRIPT_BYTES: "1000" }), 2000 + 65536)
      assert.strictEqual(yield* read(Settings.maxAdminBodyBytes, { PICLOUD_MAX_ADMIN_BODY_BYTES: "5000" }), 5000)
      const refused = yield* read(Settings.maxAdminBodyBytes, { PICLOUD_MAX_ADMIN_BODY_BYTES: "lots" }).pipe(
        Effect.flip
      )
      assert.include(refused.message, "PICLOUD_MAX_ADMIN_BODY_BYTES")
    }))
})

describe("integer settings", () => {
  it.effect("a count or size below its least sensible value is refused at start, naming the variable", () =>
    Effect.gen(function*() {
      const cases: Array<[Settings.Setting<unknown>, string]> = [
        [Settings.maxQueuedExecutions, "0"],
        [Settings.executorThreads, "0"],
        [Settings.warmScripts, "-1"],
        [Settings.warmMemoryMb, "-1"],
        [Settings.maxLogBytes, "-1"],
        [Settings.maxRequestBytes, "-1"],
        [Settings.maxScriptBytes, "0"],
        [Settings.maxAdminBodyBytes, "0"],
        [Settings.maxResponseBytes, "0"],
        [Settings.dbMaxConnections, "0"],
        [Settings.executionRetentionDays, "0"],
        [Settings.executionRetentionCount, "0"],
        [Settings.maxCatchUp, "0"],
        [Settings.maxCatchUp, "10001"]
      ]
      for (const [setting, value] of cases) {
        const refused = yield* read(setting, { [setting.name]: value }).pipe(Effect.flip)
        assert.include(refused.message, setting.name, `${setting.name}=${value}`)
      }
    }))
})

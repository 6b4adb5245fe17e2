/**
 * Guest code: evaluated inside each QuickJS context before the user's module. It builds the
 * script-facing globals (`console`) and the runner the host calls. It captures the built-ins it
 * relies on first, so a script that overwrites `JSON.stringify` or `Array.prototype` changes only
 * what the script itself sees. The host function `__picloud_log(level, message)` is removed from
 * the global object as soon as `console` holds it.
 */
export const PRELUDE = String.raw`
(() => {
  "use strict"
  const hostLog = globalThis.__picloud_log
  delete globalThis.__picloud_log
  const stringify = JSON.stringify
  const parse = JSON.parse
  const StringCtor = String
  const defineProperty = Object.defineProperty
  const TypeErrorCtor = TypeError

  const format = (value) => {
    if (typeof value === "string") return value
    if (value instanceof Error) return value.stack ? value.name + ": " + value.message + "\n" + value.stack : value.name + ": " + value.message
    if (typeof value === "function") return "[Function " + (value.name || "anonymous") + "]"
    if (typeof value === "symbol" || typeof value === "bigint") return StringCtor(value)
    try {
      const json = stringify(value)
      return json === undefined ? StringCtor(value) : json
    } catch {
      return StringCtor(value)
    }
  }
  const logger = (level) => (...args) => { hostLog(level, args.map(format).join(" ")) }
  const console = {
    log: logger("log"), info: logger("info"), warn: logger("warn"), error: logger("error"), debug: logger("debug")
  }
  defineProperty(globalThis, "console", { value: console, writable: true, configurable: true, enumerable: false })

  // What the host sends back to the client, described as JSON text: the host only parses it.
  const describe = (value) => {
    if (value === undefined) return stringify({ kind: "empty" })
    if (value !== null && typeof value === "object" && typeof value.statusCode === "number") {
      const body = value.body
      const headers = value.headers === undefined || value.headers === null ? {} : value.headers
      if (body === undefined || body === null) return stringify({ kind: "response", statusCode: value.statusCode, headers, body: null, json: false })
      if (typeof body === "string") return stringify({ kind: "response", statusCode: value.statusCode, headers, body, json: false })
      const json = stringify(body)
      if (json === undefined) throw new TypeErrorCtor("the response body cannot be sent as JSON")
      return stringify({ kind: "response", statusCode: value.statusCode, headers, body: json, json: true })
    }
    if (typeof value === "string") return stringify({ kind: "text", body: value })
    const json = stringify(value)
    if (json === undefined) throw new TypeErrorCtor("the handler returned a value that cannot be sent as JSON")
    return stringify({ kind: "json", body: json })
  }

  const run = async (handler, requestJson, ctxJson) => {
    const request = requestJson === null ? undefined : parse(requestJson)
    if (request !== undefined) {
      defineProperty(request, "json", { value: function () { return parse(this.body) }, enumerable: false })
    }
    const result = await handler(request, parse(ctxJson))
    try {
      return describe(result)
    } catch (error) {
      return stringify({ kind: "invalid", message: format(error) })
    }
  }
  defineProperty(globalThis, "__picloud_run", { value: run, enumerable: false, writable: false, configurable: false })
})()
`

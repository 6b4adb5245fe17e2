/**
 * A stack frame of the script's own: in its module, or in code it evaluated (`<input>`). With the
 * built-ins it called (`NATIVE_FRAME`), these are all of a stack a caller or a log may see: the
 * prelude's frames are the platform's. Shared with the host, which filters what it reads the same way.
 */
export const OWN_FRAME = String.raw`^\s*at (?:.*\()?(?:script\.mjs|<input>):\d+(?::\d+)?\)?$`
export const NATIVE_FRAME = String.raw`^\s*at .*\(native\)$`

/** The most `crypto.getRandomValues` fills in one call, as in Web Crypto. */
export const MAX_RANDOM_BYTES = 65536

/**
 * Guest code: evaluated inside each QuickJS context before the user's module. It builds the
 * script-facing globals (`console`, whose errors show the script's frames only, and `crypto`) and
 * the runner the host calls (its completion value). It captures the built-ins it relies on first,
 * so a script that overwrites `JSON.stringify` or `Array.prototype` changes only what the script
 * itself sees. The host functions `__picloud_log(level, message)`, `__picloud_random(size)` (an ArrayBuffer of
 * `size` bytes from the host's secure random source) and `__picloud_host(op, payload)` (a promise
 * of the platform's answer, JSON text in and out, for `kv`) are removed from the global object at
 * once: only the prelude's closures hold them.
 */
export const PRELUDE = String.raw`
(() => {
  "use strict"
  const hostLog = globalThis.__picloud_log
  const hostRandom = globalThis.__picloud_random
  const hostCall = globalThis.__picloud_host
  delete globalThis.__picloud_log
  delete globalThis.__picloud_random
  delete globalThis.__picloud_host
  const stringify = JSON.stringify
  const parse = JSON.parse
  const StringCtor = String
  const defineProperty = Object.defineProperty
  const TypeErrorCtor = TypeError
  const apply = Reflect.apply
  const indexOf = String.prototype.indexOf
  const slice = String.prototype.slice
  const exec = RegExp.prototype.exec
  const ownFrame = new RegExp(${JSON.stringify(OWN_FRAME)})
  const nativeFrame = new RegExp(${JSON.stringify(NATIVE_FRAME)})

  // The script's frames of a stack, or "" if it has none (an error of the prelude's own making).
  // Captured built-ins only: a script that patches String.prototype still gets its frames filtered.
  const scriptFrames = (stack) => {
    const text = StringCtor(stack)
    let kept = ""
    let own = false
    let start = 0
    while (start < text.length) {
      let end = apply(indexOf, text, ["\n", start])
      if (end < 0) end = text.length
      const line = apply(slice, text, [start, end])
      start = end + 1
      const isOwn = apply(exec, ownFrame, [line]) !== null
      if (isOwn || apply(exec, nativeFrame, [line]) !== null) {
        kept = kept === "" ? line : kept + "\n" + line
        own = own || isOwn
      }
    }
    return own ? kept : ""
  }

  const format = (value) => {
    if (typeof value === "string") return value
    if (value instanceof Error) {
      const head = value.name + ": " + value.message
      const frames = scriptFrames(value.stack)
      return frames === "" ? head : head + "\n" + frames
    }
    if (typeof value === "function") return "[Function " + (value.name || "anonymous") + "]"
    if (typeof value === "symbol" || typeof value === "bigint") return StringCtor(value)
    try {
      const json = stringify(value)
      return json === undefined ? StringCtor(value) : json
    } catch {
      return StringCtor(value)
    }
  }
  // As JSON text: the host reads guest strings as C strings, which end at the first NUL.
  const logger = (level) => (...args) => { hostLog(level, stringify(args.map(format).join(" "))) }
  const console = {
    log: logger("log"), info: logger("info"), warn: logger("warn"), error: logger("error"), debug: logger("debug")
  }
  defineProperty(globalThis, "console", { value: console, writable: true, configurable: true, enumerable: false })

  // Web Crypto's two synchronous functions. The typed array's kind, buffer and extent are read
  // through %TypedArray%.prototype's own getters, which a script cannot fake or patch.
  const ErrorCtor = Error
  const Uint8ArrayCtor = Uint8Array
  const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor
  const TypedArrayPrototype = Object.getPrototypeOf(Uint8ArrayCtor.prototype)
  const getter = (name) => getOwnPropertyDescriptor(TypedArrayPrototype, name).get
  const kindOf = getter(Symbol.toStringTag)
  const bufferOf = getter("buffer")
  const byteOffsetOf = getter("byteOffset")
  const byteLengthOf = getter("byteLength")
  const setBytes = TypedArrayPrototype.set
  const INTEGER_ARRAYS = {
    __proto__: null, Int8Array: true, Uint8Array: true, Uint8ClampedArray: true, Int16Array: true, Uint16Array: true,
    Int32Array: true, Uint32Array: true, BigInt64Array: true, BigUint64Array: true
  }
  class QuotaExceededError extends ErrorCtor {
    constructor(message) {
      super(message)
      defineProperty(this, "name", { value: "QuotaExceededError", writable: true, configurable: true, enumerable: false })
    }
  }
  const getRandomValues = (array) => {
    if (INTEGER_ARRAYS[apply(kindOf, array, [])] !== true) {
      throw new TypeErrorCtor("crypto.getRandomValues takes an integer typed array")
    }
    const byteLength = apply(byteLengthOf, array, [])
    if (byteLength > ${MAX_RANDOM_BYTES}) {
      throw new QuotaExceededError("crypto.getRandomValues fills at most ${MAX_RANDOM_BYTES} bytes at a time, not " + byteLength)
    }
    if (byteLength > 0) {
      const target = new Uint8ArrayCtor(apply(bufferOf, array, []), apply(byteOffsetOf, array, []), byteLength)
      apply(setBytes, target, [new Uint8ArrayCtor(hostRandom(byteLength))])
    }
    return array
  }
  const HEX = "0123456789abcdef"
  const randomUUID = () => {
    const bytes = new Uint8ArrayCtor(hostRandom(16))
    bytes[6] = (bytes[6] & 0x0f) | 0x40 // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80 // variant 10xx (RFC 4122)
    let uuid = ""
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) uuid += "-"
      uuid += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15]
    }
    return uuid
  }
  defineProperty(globalThis, "crypto", { value: { getRandomValues, randomUUID }, writable: true, configurable: true, enumerable: false })

  // The app's key-value store. Arguments and answers cross as JSON text (values are JSON); the
  // host checks every argument. Writes are kept by the host until the execution ends well.
  const then = Promise.prototype.then
  const call = (op, args) => apply(then, hostCall(op, stringify(args)), [parse])
  const optionsOf = (name, options) => {
    if (options === undefined || options === null) return {}
    if (typeof options !== "object") throw new TypeErrorCtor(name + ": options must be an object")
    return options
  }
  const kv = {
    get: async (key) => call("kv.get", { key }),
    getEntry: async (key) => call("kv.getEntry", { key }),
    set: async (key, value, options) => {
      if (value === undefined) throw new TypeErrorCtor("kv.set: the value is undefined (kv.delete removes a key)")
      const json = stringify(value)
      if (json === undefined) throw new TypeErrorCtor("kv.set: the value cannot be stored as JSON")
      return call("kv.set", { key, json, ifVersion: optionsOf("kv.set", options).ifVersion })
    },
    delete: async (key, options) => call("kv.delete", { key, ifVersion: optionsOf("kv.delete", options).ifVersion }),
    list: async (options) => {
      const { prefix, limit, cursor } = optionsOf("kv.list", options)
      return call("kv.list", { prefix, limit, cursor })
    }
  }
  defineProperty(globalThis, "kv", { value: kv, writable: true, configurable: true, enumerable: false })

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
  // The script's completion value: the host keeps it, and no global holds it.
  return run
})()
`

import { readFileSync } from "node:fs"
import { assert, describe, it } from "vitest"
import { NODE_FLAGS } from "../../../src/runtime/nodeFlags.ts"

describe("node flags", () => {
  it("npm start runs the server with NODE_FLAGS", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"))
    assert.strictEqual(pkg.scripts.start, `node ${NODE_FLAGS.join(" ")} src/runtime/main.ts`)
  })
})

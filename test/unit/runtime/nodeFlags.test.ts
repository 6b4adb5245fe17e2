import { readFileSync } from "node:fs"
import { assert, describe, it } from "vitest"
import { NODE_FLAGS } from "../../../src/runtime/nodeFlags.ts"
import { DOCKER, parseDockerfile } from "../../support/dockerfile.ts"

describe("node flags", () => {
  it("npm start runs the server with NODE_FLAGS", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"))
    assert.strictEqual(pkg.scripts.start, `node ${NODE_FLAGS.join(" ")} src/runtime/main.ts`)
  })

  it("the image's CMD runs the server with NODE_FLAGS too", () => {
    const stages = parseDockerfile(`${DOCKER}/Dockerfile`)
    const cmd = stages[stages.length - 1]!.find((instruction) => instruction.keyword === "CMD")!
    assert.deepStrictEqual(JSON.parse(cmd.args), ["node_modules/.bin/node", ...NODE_FLAGS, "src/runtime/main.ts"])
  })

  it("the README's systemd unit runs the server with NODE_FLAGS too", () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8")
    assert.include(readme, `ExecStart=/opt/picloud/node_modules/.bin/node ${NODE_FLAGS.join(" ")} src/runtime/main.ts`)
  })
})

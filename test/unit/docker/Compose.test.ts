import { assert, describe, it } from "@effect/vitest"
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { parse } from "yaml"
import * as Settings from "../../../src/config/Settings.ts"
import { NODE_FLAGS } from "../../../src/runtime/nodeFlags.ts"
import { DOCKER, envOf, parseDockerfile } from "../../support/dockerfile.ts"

interface Service {
  readonly image?: string
  readonly build?: { readonly context: string; readonly dockerfile: string }
  readonly command?: ReadonlyArray<string>
  readonly environment?: Record<string, string>
  readonly depends_on?: Record<string, { readonly condition: string }> | ReadonlyArray<string>
  readonly volumes?: ReadonlyArray<string>
  readonly ports?: ReadonlyArray<string>
  readonly init?: boolean
}

interface Compose {
  readonly services: Record<string, Service>
  readonly volumes?: Record<string, unknown>
}

const load = (file: string) => parse(readFileSync(join(DOCKER, file), "utf8"), { merge: true }) as Compose

/** The settings a PiCloud process reads. */
const KNOWN = new Set(Settings.all.map((setting) => setting.name))
/** How the image and the compose files start PiCloud: Node itself, with `npm start`'s flags. */
const PICLOUD = ["node_modules/.bin/node", ...NODE_FLAGS, "src/runtime/main.ts"]
const CREDENTIAL = /TOKEN|SECRET|PASSWORD|DATABASE_URL/

const dependsOn = (service: Service) =>
  Array.isArray(service.depends_on)
    ? Object.fromEntries(service.depends_on.map((name: string) => [name, { condition: "service_started" }]))
    : (service.depends_on ?? {}) as Record<string, { readonly condition: string }>

const roleOf = (service: Service) => {
  assert.deepStrictEqual(service.command?.slice(0, PICLOUD.length), PICLOUD)
  return service.command?.[PICLOUD.length] ?? "all-in-one"
}

/** Checks what every PiCloud service shares: the image built here, tini as PID 1, known settings only. */
const checkPicloudService = (name: string, service: Service) => {
  assert.deepStrictEqual(service.build, { context: "..", dockerfile: "docker/Dockerfile" }, name)
  assert.isTrue(service.init, `${name} runs under an init that reaps PostgreSQL's orphans`)
  for (const [variable, value] of Object.entries(service.environment ?? {})) {
    assert.isTrue(KNOWN.has(variable), `${name}: ${variable} is not a PiCloud setting`)
    if (CREDENTIAL.test(variable)) {
      assert.match(String(value), /\$\{[A-Z_]+:\?[^}]+\}/, `${name}: ${variable} comes from the environment`)
    }
  }
}

describe("docker/compose.yaml (the cluster)", () => {
  const compose = load("compose.yaml")
  const services = compose.services
  const picloud = Object.entries(services).filter(([, service]) => service.build !== undefined)
  const ofRole = (role: string) => picloud.filter(([, service]) => roleOf(service) === role)

  it("has postgres, a manager, two nodes (an orchestrator and an executor each) and caddy", () => {
    assert.deepStrictEqual(Object.keys(services).sort(), [
      "caddy",
      "executor-1",
      "executor-2",
      "manager",
      "orchestrator-1",
      "orchestrator-2",
      "postgres"
    ])
    assert.deepStrictEqual(ofRole("manager").map(([name]) => name), ["manager"])
    assert.deepStrictEqual(ofRole("orchestrator").map(([name]) => name), ["orchestrator-1", "orchestrator-2"])
    assert.deepStrictEqual(ofRole("executor").map(([name]) => name), ["executor-1", "executor-2"])
    for (const [name, service] of picloud) checkPicloudService(name, service)
    const nodeIds = picloud.map(([, service]) => service.environment?.["PICLOUD_NODE_ID"])
    assert.strictEqual(new Set(nodeIds).size, picloud.length, "every process has its own PICLOUD_NODE_ID")
  })

  it("the manager and the orchestrators share postgres' database, once it is healthy; the executors get no credential but their token", () => {
    const postgres = services["postgres"]!
    assert.match(postgres.image!, /^postgres:18\b/)
    const password = postgres.environment!["POSTGRES_PASSWORD"]!
    assert.match(password, /^\$\{POSTGRES_PASSWORD:\?/)
    const url = `postgres://${postgres.environment!["POSTGRES_USER"]}:${password}@postgres:5432/${
      postgres.environment![
        "POSTGRES_DB"
      ]
    }`
    for (const [name, service] of [...ofRole("manager"), ...ofRole("orchestrator")]) {
      assert.strictEqual(service.environment?.["DATABASE_URL"], url, name)
      assert.strictEqual(dependsOn(service)["postgres"]?.condition, "service_healthy", name)
      for (const secret of ["PICLOUD_ADMIN_TOKEN", "PICLOUD_SECRET_KEY"]) {
        assert.isDefined(service.environment?.[secret], `${name} has ${secret}`)
      }
    }
    assert.isUndefined(services["manager"]!.environment?.["PICLOUD_EXECUTOR_TOKEN"], "the manager dials no executor")
    for (const [name, service] of ofRole("executor")) {
      const credentials = Object.keys(service.environment ?? {}).filter((variable) => CREDENTIAL.test(variable))
      assert.deepStrictEqual(credentials, ["PICLOUD_EXECUTOR_TOKEN"], `${name} holds no credential but its token`)
      assert.deepStrictEqual(service.ports ?? [], [], `${name} is reached on the compose network only`)
    }
  })

  it("each orchestrator talks to its own executor, on the port that executor listens on, with the token it requires", () => {
    const executors = new Set<string>()
    for (const [name, service] of ofRole("orchestrator")) {
      const executorUrl = new URL(service.environment!["PICLOUD_EXECUTOR_URL"]!)
      const executor = services[executorUrl.hostname]
      assert.isDefined(executor, `${name}'s executor ${executorUrl.hostname} is a service`)
      assert.strictEqual(roleOf(executor!), "executor")
      assert.strictEqual(executorUrl.port, executor!.environment!["PORT"], name)
      assert.strictEqual(dependsOn(service)[executorUrl.hostname]?.condition, "service_healthy", name)
      const token = service.environment!["PICLOUD_EXECUTOR_TOKEN"]
      assert.match(
        String(token),
        /^\$\{PICLOUD_EXECUTOR_TOKEN:\?[^}]+\}$/,
        `${name}: the token comes from the environment`
      )
      assert.strictEqual(executor!.environment!["PICLOUD_EXECUTOR_TOKEN"], token, `${name} and its executor share it`)
      executors.add(executorUrl.hostname)
    }
    assert.strictEqual(executors.size, 2, "no executor is shared")
  })

  it("caddy serves caddy/Caddyfile.cluster with the manager and both orchestrators as upstreams", () => {
    const caddy = services["caddy"]!
    assert.match(caddy.image!, /^caddy:2\b/)
    const [source, target] = caddy.volumes![0]!.split(":")
    assert.strictEqual(source, "../caddy/Caddyfile.cluster")
    assert.isTrue(existsSync(resolve(DOCKER, source!)), "the Caddyfile it mounts exists")
    assert.include(caddy.command!, target!)
    const port = (name: string) => services[name]!.environment!["PORT"] ?? "8080"
    assert.strictEqual(caddy.environment!["PICLOUD_MANAGER"], `manager:${port("manager")}`)
    assert.deepStrictEqual(
      caddy.environment!["PICLOUD_NODES"]!.split(" "),
      ofRole("orchestrator").map(([name]) => `${name}:${port(name)}`)
    )
    const listen = caddy.environment!["PICLOUD_LISTEN"]!
    assert.deepStrictEqual(caddy.ports, [`${listen.slice(1)}:${listen.slice(1)}`])
    assert.deepStrictEqual(Object.keys(dependsOn(caddy)).sort(), ["manager", "orchestrator-1", "orchestrator-2"])
    const published = picloud.filter(([, service]) => (service.ports ?? []).length > 0)
    assert.deepStrictEqual(published, [], "only caddy publishes a port")
  })
})

describe("docker/compose.all-in-one.yaml", () => {
  it("one all-in-one process whose embedded database lives in a named volume at PICLOUD_DATA_DIR", () => {
    const compose = load("compose.all-in-one.yaml")
    assert.deepStrictEqual(Object.keys(compose.services), ["picloud"])
    const service = compose.services["picloud"]!
    checkPicloudService("picloud", service)
    assert.isUndefined(service.command, "the image's CMD: all-in-one")
    assert.isUndefined(service.environment?.["DATABASE_URL"], "the embedded PostgreSQL")
    const image = parseDockerfile(join(DOCKER, "Dockerfile")).at(-1)!
    const env = Object.assign({}, ...image.filter((i) => i.keyword === "ENV").map((i) => envOf(i.args)))
    const [volume, mountedAt] = service.volumes![0]!.split(":")
    assert.strictEqual(mountedAt, env["PICLOUD_DATA_DIR"])
    assert.property(compose.volumes, volume!)
    assert.deepStrictEqual(service.ports, [`8080:${env["PORT"]}`])
  })
})

describe("docker/Dockerfile", () => {
  const stages = parseDockerfile(join(DOCKER, "Dockerfile"))
  const image = stages.at(-1)!
  const args = (keyword: string) => image.filter((i) => i.keyword === keyword)

  it("builds on Node 24, and runs Node itself (not npm, which does not pass SIGTERM on) as a user that is not root", () => {
    const nodeImage = stages[0]!.find((i) => i.keyword === "ARG" && i.args.startsWith("NODE_IMAGE="))!.args
    assert.match(nodeImage, /^NODE_IMAGE=node:24[-.]/)
    for (const stage of stages.slice(1)) assert.strictEqual(stage[0]!.args.split(" ")[0], "${NODE_IMAGE}")
    const users = args("USER")
    assert.lengthOf(users, 1)
    assert.notInclude(["root", "0"], users[0]!.args)
    assert.deepStrictEqual(JSON.parse(args("CMD")[0]!.args), PICLOUD)
    assert.lengthOf(args("VOLUME"), 1)
  })

  it("installs production dependencies only, and takes the dashboard built in the build stage", () => {
    const installs = args("RUN").filter((i) => i.args.includes("npm "))
    assert.deepStrictEqual(installs.map((i) => i.args.split(" ").slice(0, 3)), [["npm", "ci", "--omit=dev"]])
    const fromBuild = args("COPY").filter((i) => i.flags.includes("--from=build"))
    assert.deepStrictEqual(fromBuild.map((i) => i.args), ["/app/dashboard/dist dashboard/dist"])
    assert.isTrue(
      image.indexOf(fromBuild[0]!) < image.indexOf(installs[0]!),
      "the built dashboard is in place before npm ci runs `prepare`, which then builds nothing"
    )
    const build = stages.find((stage) => stage[0]!.args.endsWith(" AS build"))!
    assert.isTrue(build.some((i) => i.keyword === "RUN" && /^npm ci(?! --omit)/.test(i.args)))
  })
})

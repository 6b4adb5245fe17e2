import { execFileSync, spawnSync } from "node:child_process"
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs"
import { tmpdir, userInfo } from "node:os"
import { basename, join, relative } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { DOCKER, envOf, parseDockerfile, REPO } from "../support/dockerfile.ts"
import { exitWithin, freePort, spawnLogged, waitFor } from "./picloudProcess.ts"

/**
 * No Docker engine runs here, so this runs the image's own steps on the host, read from
 * docker/Dockerfile: the final stage's COPYs (with Dockerfile.dockerignore), its `npm ci`, its
 * ENV and its CMD, in a clean directory (mkdtemp: 0700, like /root, so as root it also proves
 * PostgreSQL runs from where its user can reach). The build stage's work, the dashboard build, is
 * the checkout's own (`npm ci` built it; `dashboard/build.mjs` makes sure it is current). Steps
 * that only set up the image (the `picloud` user, its directory) are not run; the host's user
 * stands in for `picloud`.
 */
const ADMIN_TOKEN = "smoke-admin-token"

const ignored = readFileSync(join(DOCKER, "Dockerfile.dockerignore"), "utf8")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"))
const isIgnored = (path: string) => {
  const inRepo = relative(REPO, path)
  return ignored.some((pattern) =>
    pattern.startsWith("**/")
      ? inRepo.split("/").includes(pattern.slice(3))
      : inRepo === pattern || inRepo.startsWith(`${pattern}/`) ||
        (pattern.startsWith("*.") && inRepo.endsWith(pattern.slice(1)))
  )
}

const dir = mkdtempSync(join(tmpdir(), "picloud-docker-smoke-"))
const app = join(dir, "app")
const dataDir = join(dir, "data")

afterAll(() => {
  // As root, the cluster may live outside `dir` (data/postgres links there): remove it too.
  const link = join(dataDir, "postgres")
  const cluster = (() => {
    try {
      return lstatSync(link).isSymbolicLink() ? readlinkSync(link) : undefined
    } catch {
      return undefined
    }
  })()
  if (cluster !== undefined) rmSync(cluster, { recursive: true, force: true })
  rmSync(dir, { recursive: true, force: true })
})

/**
 * Docker's COPY: several sources, or a destination ending in `/`, go into it by name. The ignore
 * file applies to the build context, not to another stage's files.
 */
const copy = (sources: ReadonlyArray<string>, destination: string, fromContext: boolean) => {
  const into = sources.length > 1 || destination.endsWith("/")
  for (const source of sources) {
    const target = into ? join(app, destination, basename(source)) : join(app, destination)
    cpSync(source, target, { recursive: true, filter: (path) => !fromContext || !isIgnored(path) })
  }
}

describe("the Docker image's install and start, run on the host", () => {
  it(
    "npm ci --omit=dev installs Node 24, and the CMD serves /health, /dashboard and a script, then stops on SIGTERM",
    async () => {
      const dashboard = spawnSync(process.execPath, [join(REPO, "dashboard", "build.mjs")], { encoding: "utf8" })
      expect(dashboard.status, dashboard.stderr).toBe(0)

      mkdirSync(app)
      const stages = parseDockerfile(join(DOCKER, "Dockerfile"))
      const image = stages.at(-1)!
      let environment: Record<string, string> = {}
      const ran: Array<string> = []
      for (const instruction of image) {
        if (instruction.keyword === "COPY") {
          const parts = instruction.args.split(/\s+/)
          const destination = parts.pop()!
          const from = instruction.flags.find((flag) => flag.startsWith("--from="))
          // The build stage's WORKDIR is /app: its files are the checkout's.
          copy(
            parts.map((part) => from !== undefined ? join(REPO, relative("/app", part)) : join(REPO, part)),
            destination,
            from === undefined
          )
        } else if (instruction.keyword === "RUN" && instruction.args.startsWith("npm ")) {
          const result = spawnSync("sh", ["-c", instruction.args], {
            cwd: app,
            encoding: "utf8",
            env: { ...process.env, npm_config_prefer_offline: "true" }
          })
          expect(result.status, `${instruction.args}\n${result.stdout}\n${result.stderr}`).toBe(0)
          ran.push(instruction.args)
        } else if (instruction.keyword === "ENV") {
          environment = { ...environment, ...envOf(instruction.args) }
        }
      }
      expect(ran).toHaveLength(1)
      expect(ran[0]).toMatch(/^npm ci --omit=dev\b/)

      const [command, ...args] = JSON.parse(image.find((i) => i.keyword === "CMD")!.args) as Array<string>
      expect(execFileSync(join(app, command!), ["--version"], { encoding: "utf8" })).toMatch(/^v24\./)
      const port = await freePort()
      const picloud = spawnLogged(join(app, command!), args, {
        ...environment,
        PICLOUD_DATA_DIR: dataDir,
        PORT: String(port),
        HOST: "127.0.0.1",
        PICLOUD_ADMIN_TOKEN: ADMIN_TOKEN
      }, { cwd: app }) // the image's WORKDIR
      try {
        const base = `http://127.0.0.1:${port}`
        await waitFor(`${base}/health`, 60_000, picloud)
        const page = await fetch(`${base}/dashboard/`)
        expect(page.status).toBe(200)
        expect(await page.text()).toContain("<script")

        const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }
        const created = await fetch(`${base}/api/admin/scripts`, {
          method: "POST",
          headers,
          body: JSON.stringify({ name: "smoke", source: "export default () => ({ smoke: true })" })
        })
        expect(created.status).toBe(201)
        const executed = await fetch(`${base}/api/execute/smoke`, { headers })
        expect(executed.status).toBe(200)
        expect(await executed.json()).toEqual({ smoke: true })
        if (userInfo().uid === 0) expect(picloud.output()).toContain("its files are in")
      } finally {
        picloud.child.kill("SIGTERM")
      }
      expect(await exitWithin(picloud)).toBe(0)
      expect(picloud.output()).not.toContain(ADMIN_TOKEN)
    },
    240_000
  )
})

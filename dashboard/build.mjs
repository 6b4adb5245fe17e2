// Builds the dashboard into dashboard/dist when its sources changed since the last build, so that
// `npm install` (the `prepare` script) and `npm start` (`prestart`) leave a current build without
// anyone running it by hand. Plain JavaScript, not TypeScript, so any Node runs it. On a production
// install (`npm ci --omit=dev`) Vite is absent: the build is skipped with a note, and the server
// answers /dashboard with a 503 that says how to build it (the Docker image builds it in its build
// stage instead). `--force` builds whatever the hash says.
import { createHash } from "node:crypto"
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const HERE = fileURLToPath(new URL(".", import.meta.url))
const DIST = join(HERE, "dist")
const STAMP = join(DIST, ".build-hash")

const files = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)]
  )

/** A hash of everything the build reads: the sources, the config, and the locked package versions. */
export const sourceHash = () => {
  const hash = createHash("sha256")
  const inputs = [
    ...files(join(HERE, "src")),
    join(HERE, "index.html"),
    join(HERE, "vite.config.ts"),
    join(HERE, "..", "package-lock.json")
  ].sort()
  for (const file of inputs) hash.update(relative(HERE, file)).update("\0").update(readFileSync(file)).update("\0")
  return hash.digest("hex")
}

export const isCurrent = (hash = sourceHash()) =>
  existsSync(join(DIST, "index.html")) && existsSync(STAMP) && readFileSync(STAMP, "utf8") === hash

/** Builds when stale (or always, with `force`); resolves with what it did. */
export const ensureBuilt = async ({ force = false } = {}) => {
  const hash = sourceHash()
  if (!force && isCurrent(hash)) return "current"
  let vite
  try {
    vite = await import("vite")
  } catch {
    return "no-vite"
  }
  await vite.build({ configFile: join(HERE, "vite.config.ts"), logLevel: "warn" })
  writeFileSync(STAMP, hash)
  return "built"
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now()
  const outcome = await ensureBuilt({ force: process.argv.includes("--force") })
  if (outcome === "built") console.log(`dashboard: built into dashboard/dist in ${Date.now() - started} ms`)
  if (outcome === "no-vite") {
    console.warn(
      "dashboard: not built (Vite is a devDependency and is not installed); /dashboard answers 503 until "
        + "`npm install` (with dev dependencies) builds it, or a dashboard/dist built elsewhere is copied in"
    )
  }
}

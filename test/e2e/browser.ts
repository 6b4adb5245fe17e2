import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"
import { assert } from "vitest"

/** Debian's Chromium (`apt-get install chromium`, as .ci/run does): no browser download. */
export const CHROMIUM = "/usr/bin/chromium"
export const hasChromium = existsSync(CHROMIUM)

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
  })

export const RESULTS_DIR = join(process.cwd(), "test-results")

/** Saves the page as `test-results/<name>.png` (git-ignored), answering the path. */
export const screenshot = async (page: Page, name: string) => {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const path = join(RESULTS_DIR, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

/**
 * What the page logged as an error, and its uncaught exceptions. Chromium also logs every 4xx/5xx
 * answer as "Failed to load resource": those are the API's answers the dashboard shows as messages
 * (a 401 before sign-in, a 422 for a bad source), not faults of the page, so they are left out.
 * A CSP refusal ("Refused to …") is kept: it is exactly what must not happen.
 */
export const collectConsoleErrors = (page: Page) => {
  const errors: Array<string> = []
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      errors.push(message.text())
    }
  })
  page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`))
  return errors
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8")

/**
 * Runs axe-core in the page and answers its serious and critical violations (an empty list is a
 * pass). axe is evaluated through the DevTools protocol, not added as a <script>, so the page's
 * Content-Security-Policy stays as strict as it is in use.
 */
export const seriousViolations = async (page: Page) => {
  await page.evaluate(`${axeSource};undefined`)
  const violations = await page.evaluate(async () => {
    const result = await (globalThis as any).axe.run((globalThis as any).document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }
    })
    return result.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n: any) => String(n.target)).slice(0, 3)
    }))
  })
  return (violations as Array<{ id: string; impact: string; help: string; targets: Array<string> }>).filter((v) =>
    v.impact === "serious" || v.impact === "critical"
  )
}

/** Fails unless the page has no serious or critical accessibility violation and logged no error. */
export const assertCleanPage = async (page: Page, consoleErrors: ReadonlyArray<string>, name: string) => {
  const violations = await seriousViolations(page)
  assert.deepStrictEqual(violations, [], `${name}: ${JSON.stringify(violations, null, 2)}`)
  assert.deepStrictEqual(consoleErrors, [], `${name}: console errors`)
}

import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Browser, Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import {
  assertCleanPage as assertCleanPageOf,
  collectConsoleErrors,
  hasChromium,
  launchChromium,
  screenshot
} from "./browser.ts"
import { freePort, startPicloud } from "./picloudProcess.ts"

const TOKEN = "e2e-dashboard-admin-token"
/** The environment's admin token belongs to no user, so cannot hold a session: the browser signs in as a user. */
const USER = { username: "alice", password: "correct horse battery", role: "admin" }
const BROKEN = `export default function (request, ctx) {
  console.log("hello from", ctx.script.name
  return { hello: request.query.name ?? "world" }
}
`
const FIXED = `export default function (request, ctx) {
  console.log("hello from", ctx.script.name)
  return { hello: request.query.name ?? "world" }
}
`

let dataDir = ""
let picloud: Awaited<ReturnType<typeof startPicloud>>
let browser: Browser
let page: Page
let consoleErrors: Array<string> = []
/** The script the flow creates (its id, from the editor's URL). */
let scriptId = ""

/** An admin API call with the environment's token (setting up what the browser then looks at). */
const admin = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(`${picloud.url}/api/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  assert.isBelow(response.status, 300, `${method} ${path}: ${response.status} ${text}`)
  return text === "" ? undefined : JSON.parse(text)
}

/** Runs the script once as the signed-in browser would: a test run with the session and the CSRF header. */
const testRunInPage = (id: string) =>
  page.evaluate(async (id) => {
    const response = await fetch(`/api/admin/scripts/${id}/test-run`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-picloud-csrf": "1" },
      body: JSON.stringify({ query: { name: "tail" } })
    })
    return response.status
  }, id)

const goto = async (path: string) => {
  await page.goto(`${picloud.url}/dashboard${path}`)
}

/** The page has no serious or critical accessibility violation, and logged no error. */
const assertCleanPage = (name: string) => assertCleanPageOf(page, consoleErrors, name)

describe.skipIf(!hasChromium)("the dashboard in Chromium", () => {
  beforeAll(async () => {
    // The same check `npm install`/`npm start` run: builds only when the sources changed.
    execFileSync(process.execPath, ["dashboard/build.mjs"], { stdio: "inherit" })
    dataDir = mkdtempSync(join(tmpdir(), "picloud-dashboard-"))
    ;[picloud, browser] = await Promise.all([
      freePort().then((port) => startPicloud({ dataDir, port, env: { PICLOUD_ADMIN_TOKEN: TOKEN } })),
      launchChromium()
    ])
    const created = await fetch(`${picloud.url}/api/admin/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(USER)
    })
    assert.strictEqual(created.status, 201, await created.text())
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    page.setDefaultTimeout(10_000)
    consoleErrors = collectConsoleErrors(page)
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    picloud?.child.kill("SIGTERM")
    await picloud?.exited
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  }, 60_000)

  it("signed out, every page is the login page; a wrong token is a message", async () => {
    await goto("/scripts")
    await page.getByRole("heading", { name: "Sign in to PiCloud" }).waitFor()
    await assertCleanPage("login")
    await page.getByLabel("Token", { exact: true }).fill("not-the-token")
    await page.getByRole("button", { name: "Sign in with token" }).click()
    await page.getByRole("alert").waitFor()
    assert.match(await page.getByRole("alert").innerText(), /401/)
    await screenshot(page, "dashboard-login")
  })

  it("signs in with a password and stays on the page asked for", async () => {
    await page.getByLabel("Username", { exact: true }).fill(USER.username)
    await page.getByLabel("Password", { exact: true }).fill(USER.password)
    await page.getByRole("button", { name: "Sign in", exact: true }).click()
    await page.getByRole("heading", { name: "Scripts" }).waitFor()
    assert.strictEqual(new URL(page.url()).pathname, "/dashboard/scripts")
    await assertCleanPage("scripts (empty)")
    await page.getByRole("link", { name: "Overview" }).click()
    await page.getByRole("heading", { name: "Overview" }).waitFor()
    await page.locator("main p:not(:first-child), main dl").first().waitFor()
    await assertCleanPage("overview")
    await screenshot(page, "dashboard-overview")
  })

  it("a syntax error is shown at its line; fixed, the script is created", async () => {
    await goto("/scripts")
    await page.getByRole("link", { name: "New script" }).click()
    await page.getByLabel("Name", { exact: true }).fill("hello")
    const editor = page.getByRole("textbox", { name: "Script source" })
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.keyboard.insertText(BROKEN)
    await page.getByRole("button", { name: "Create" }).click()
    const alert = page.getByRole("alert")
    await alert.waitFor()
    assert.match(await alert.innerText(), /^Line \d+, column \d+: /)
    await page.locator(".cm-lintRange-error").first().waitFor()
    await assertCleanPage("editor with an error")
    await screenshot(page, "dashboard-script-error")

    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.keyboard.insertText(FIXED)
    await page.getByRole("button", { name: "Create" }).click()
    await page.getByRole("heading", { name: "hello" }).waitFor()
    assert.match(new URL(page.url()).pathname, /^\/dashboard\/scripts\/[0-9a-f-]{36}$/)
    scriptId = new URL(page.url()).pathname.split("/").pop()!
    assert.strictEqual(await page.locator(".cm-lintRange-error").count(), 0)
    await screenshot(page, "dashboard-script-created")
  })

  // The panel runs the saved script through the admin API (POST /scripts/{id}/test-run), with the session.
  it("a test run shows the status, the response, the duration and the logs", async () => {
    await page.getByLabel("Query", { exact: true }).fill("name=pi")
    await page.getByRole("button", { name: "Run" }).click()
    const result = page.getByRole("status", { name: "Test run result" })
    await result.waitFor()
    const text = await result.innerText()
    assert.match(text, /Status 200/)
    assert.match(text, /"hello":\s*"pi"/)
    assert.match(text, /\d+ ms in the script/)
    assert.match(text, /log\s+hello from hello/)
    assert.match(text, /execution [0-9a-f-]{36}/)
    await assertCleanPage("script with a test run")
    await screenshot(page, "dashboard-test-run")
  })

  it("the execution is in the list, and its detail shows its logs", async () => {
    await page.getByRole("link", { name: "Executions", exact: true }).click()
    await page.getByRole("heading", { name: "Executions" }).waitFor()
    const row = page.locator("tbody tr").first()
    await row.waitFor()
    assert.match(await row.innerText(), /hello\s+v1\s+succeeded\s+200/)
    await assertCleanPage("executions")
    // The filters live in the URL: a filtered list is a link, and a filter that matches nothing says so.
    await page.locator("select[name=status]").selectOption("failed")
    await page.getByText("No executions match.").waitFor()
    assert.strictEqual(new URL(page.url()).search, "?status=failed")
    await page.locator("select[name=status]").selectOption("succeeded")
    await page.locator("select[name=script]").selectOption(scriptId)
    await page.locator("tbody tr").first().waitFor()
    assert.deepStrictEqual(Object.fromEntries(new URL(page.url()).searchParams), {
      status: "succeeded",
      script: scriptId
    })
    await assertCleanPage("executions, filtered")
    await page.locator("tbody tr").first().getByRole("link").click()
    await page.getByRole("heading", { name: "Execution" }).waitFor()
    await page.getByText("hello from hello").waitFor()
    await assertCleanPage("execution detail")
    await screenshot(page, "dashboard-execution")
  })

  it("the live tail shows a run as it finishes; paused, it shows none until resumed", async () => {
    await goto(`/tail?script=${scriptId}`)
    await page.getByRole("heading", { name: "Live tail" }).waitFor()
    const connection = page.getByRole("status", { name: "Connection" })
    await connection.getByText(/^Live/).waitFor()
    // The filter from the URL is the select's value once the scripts are listed.
    await page.locator(`select[name=script] option[value="${scriptId}"]`).waitFor({ state: "attached" })
    assert.strictEqual(await page.locator("select[name=script]").inputValue(), scriptId)
    assert.strictEqual(await testRunInPage(scriptId), 200)
    const rows = page.locator("tbody tr")
    await rows.first().waitFor()
    assert.match(await rows.first().innerText(), /hello\s+v1\s+succeeded\s+200/)
    await assertCleanPage("live tail")

    await page.getByRole("button", { name: "Pause" }).click()
    await connection.getByText(/^Paused/).waitFor()
    assert.strictEqual(await testRunInPage(scriptId), 200)
    await page.waitForTimeout(300)
    assert.strictEqual(await rows.count(), 1, "paused: nothing new is shown")
    await page.getByRole("button", { name: "Resume" }).click()
    // Resumed from the last one shown: the run made while paused arrives.
    await rows.nth(1).waitFor()
    await connection.getByText(/^Live/).waitFor()
    await rows.first().getByRole("link").click()
    await page.getByRole("heading", { name: "Execution" }).waitFor()

    // The stream cannot be reached: the page says so, and EventSource reconnects once it can.
    await page.route("**/api/admin/executions/stream*", (route) => route.abort())
    await goto(`/tail?script=${scriptId}`)
    await connection.getByText(/reconnecting/).waitFor()
    await page.unroute("**/api/admin/executions/stream*")
    await connection.getByText(/^Live/).waitFor({ timeout: 15_000 })
    await screenshot(page, "dashboard-tail")
  })

  it("a failing async route's requests become dead letters; replayed one by one, in bulk, and deleted", async () => {
    const flaky = await admin("POST", "/scripts", {
      name: "flaky",
      source: `export default () => { console.log("trying"); throw new Error("the upstream is down") }`
    })
    await admin("POST", "/routes", {
      method: "POST",
      path: "/orders",
      script: "flaky",
      dispatch_mode: "async",
      auth: "none",
      retry: { max_attempts: 2, initial_delay_ms: 10, max_delay_ms: 10, jitter: false }
    })
    for (let i = 0; i < 2; i++) {
      const accepted = await fetch(`${picloud.url}/default/orders`, { method: "POST", body: `{"n":${i}}` })
      const text = await accepted.text()
      assert.strictEqual(accepted.status, 202, text)
      const { execution_id } = JSON.parse(text)
      const ended = JSON.parse(await (await fetch(`${picloud.url}/api/executions/${execution_id}?wait=10`)).text())
      assert.strictEqual(ended.status, "dead_lettered")
    }

    // The cause fixed, replays succeed.
    await admin("PUT", `/scripts/${flaky.id}`, { source: `export default () => ({ ok: true })` })

    await page.getByRole("link", { name: "Dead letters" }).click()
    await page.getByRole("heading", { name: "Dead letters" }).waitFor()
    const rows = page.locator("tbody tr")
    await rows.nth(1).waitFor()
    assert.strictEqual(await rows.count(), 2)
    assert.match(
      await rows.first().innerText(),
      /flaky[\s\S]*POST \/default\/orders[\s\S]*script_error\s+2\s+no handler\s+no/
    )
    await page.locator("select[name=resolution]").selectOption("handled")
    await page.getByText("No dead letters match.").waitFor()
    assert.strictEqual(new URL(page.url()).search, "?resolution=handled")
    await page.locator("select[name=resolution]").selectOption("none")
    await rows.nth(1).waitFor()
    await assertCleanPage("dead letters")

    // One: its detail, replayed.
    await rows.first().getByRole("link").first().click()
    await page.getByRole("heading", { name: "Dead letter", exact: true }).waitFor()
    await page.getByText("the upstream is down").waitFor()
    await assertCleanPage("dead letter")
    await page.getByRole("button", { name: "Replay" }).click()
    await page.getByRole("status").getByText(/^Replayed as execution/).waitFor()
    const replayedAs = (await page.getByText(/^as [0-9a-f-]{36}$/).innerText()).slice(3)
    const replay = JSON.parse(await (await fetch(`${picloud.url}/api/executions/${replayedAs}?wait=10`)).text())
    assert.strictEqual(replay.status, "succeeded")
    await screenshot(page, "dashboard-dead-letter")

    // Both: selected, replayed in one request.
    await page.getByRole("link", { name: "← All dead letters" }).click()
    await rows.nth(1).waitFor()
    // By keyboard: Space ticks the box, Enter presses the button.
    await page.getByRole("checkbox", { name: "Select all shown" }).focus()
    await page.keyboard.press("Space")
    await page.getByRole("button", { name: "Replay selected (2)" }).focus()
    await page.keyboard.press("Enter")
    await page.getByRole("status").getByText("2 replayed.").waitFor()
    await rows.nth(1).getByRole("link", { name: "yes" }).waitFor()
    assert.strictEqual(await page.getByRole("link", { name: "yes" }).count(), 2)
    await assertCleanPage("dead letters after a bulk replay")
    await screenshot(page, "dashboard-dead-letters")

    // Deleted, after a confirmation; the replays failed again, so there are new dead letters too.
    await rows.first().getByRole("link").first().click()
    await page.getByRole("button", { name: "Delete…" }).click()
    await page.getByRole("group", { name: "Confirm deletion" }).waitFor()
    await assertCleanPage("dead letter, confirming deletion")
    const doomed = new URL(page.url()).pathname.split("/").pop()
    await page.getByRole("button", { name: "Yes, delete" }).click()
    await page.getByRole("heading", { name: "Dead letters" }).waitFor()
    await rows.first().waitFor()
    assert.strictEqual(await rows.count(), 1)
    const gone = await admin("GET", "/dead-letters")
    assert.notInclude(gone.items.map((d: { id: string }) => d.id), doomed)
    // Its page is gone too: the API's 404, as a message.
    await goto(`/dead-letters/${doomed}`)
    assert.match(await page.getByRole("alert").innerText(), /no dead letter .*\(404 dead_letter_not_found\)/)
    await assertCleanPage("a dead letter that is gone")
    await page.getByRole("link", { name: "← All dead letters" }).click()
    await rows.first().waitFor()
    await screenshot(page, "dashboard-dead-letter-deleted")
  })

  it("the overview shows the hour by outcome, and the latest failures", async () => {
    await page.getByRole("link", { name: "Overview" }).click()
    await page.getByRole("heading", { name: "Overview" }).waitFor()
    await page.getByRole("img", { name: "Executions by outcome" }).waitFor()
    const failures = page.getByRole("region", { name: "Latest failures" })
    await failures.waitFor()
    assert.match(await failures.innerText(), /flaky/)
    assert.isAbove(await page.locator("svg.chart rect.fill-succeeded").count(), 0)
    assert.isAbove(await page.locator("svg.chart rect.fill-dead_lettered").count(), 0)
    // The replays waited in the outbox: their minute has an outbox lag.
    assert.isAbove(await page.getByRole("img", { name: "Outbox lag" }).locator(".dot").count(), 0)
    await assertCleanPage("overview with executions")
    await screenshot(page, "dashboard-overview-hour")
  })

  it("fits a 390 px wide screen", async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    for (const path of ["/scripts", "/executions", "/dead-letters", "/"]) {
      await goto(path)
      await page.locator("tbody tr").first().waitFor()
      const width = await page.evaluate("document.documentElement.scrollWidth")
      assert.isAtMost(Number(width), 390, path)
    }
    await assertCleanPage("overview, narrow")
    await screenshot(page, "dashboard-narrow")
    await goto(`/tail?script=${scriptId}`)
    await page.getByRole("status", { name: "Connection" }).getByText(/^Live/).waitFor()
    assert.isAtMost(Number(await page.evaluate("document.documentElement.scrollWidth")), 390, "/tail")
    await assertCleanPage("live tail, narrow")
    await screenshot(page, "dashboard-tail-narrow")
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it("signs out; the API then refuses the browser, and the old cookie", async () => {
    const [old] = (await page.context().cookies()).filter((cookie) => cookie.name === "picloud_session")
    assert.isDefined(old)
    await page.getByRole("button", { name: "Sign out" }).click()
    await page.getByRole("heading", { name: "Sign in to PiCloud" }).waitFor()
    const status = await page.evaluate(async () => (await fetch("/api/admin/scripts")).status)
    assert.strictEqual(status, 401)
    // The session is revoked, not only forgotten by the browser.
    const replayed = await fetch(`${picloud.url}/api/admin/scripts`, {
      headers: { cookie: `picloud_session=${old!.value}` }
    })
    assert.strictEqual(replayed.status, 401, await replayed.text())
    await goto("/executions")
    await page.getByRole("heading", { name: "Sign in to PiCloud" }).waitFor()
    await assertCleanPage("login after sign-out")
    await screenshot(page, "dashboard-signed-out")
  })
})

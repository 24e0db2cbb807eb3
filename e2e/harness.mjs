// Shared helpers for the browser tests: start the real server on loopback with a fresh data
// directory, drive Debian's Chromium at phone size, and check pages with axe-core.
//
// Nothing here talks to anything but 127.0.0.1: every request to another host is aborted, and
// tests that follow an off-site link fulfil it themselves with page.route.

import { spawn } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'

import { chromium } from 'playwright-core'
import { AxeBuilder } from '@axe-core/playwright'

const here = path.dirname(fileURLToPath(import.meta.url))
export const repoRoot = path.resolve(here, '..')
export const artifactsDir = path.join(here, 'artifacts')

export const PHONE = { width: 360, height: 740 }

export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa']

// The site's own script, under its content-hashed name. Aborting it is how the tests turn
// JavaScript "off" while still letting axe run (axe cannot run in a context with
// javaScriptEnabled: false).
export const APP_SCRIPT = '**/static/app.*.js'
const APP_SCRIPT_RE = /\/static\/app\.[0-9a-f]+\.js(\?|$)/

// The off-site page "Exit this page" goes to. Tests fulfil it locally.
export const EXIT_URL_GLOB = 'https://www.bbc.co.uk/**'

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

// Never pass these to the server: the tests use its embedded defaults (SQLite, Bleve,
// in-process limiter, outbox), whatever the shell running `make e2e` has set.
const BACKING_SERVICE_VARS = [
  'DATABASE_URL',
  'MEILI_URL',
  'MEILI_API_KEY',
  'REDIS_URL',
  'SMTP_URL',
  'FAMILYHELP_ADDR',
  'FAMILYHELP_DATA_DIR',
  'FAMILYHELP_BASE_URL',
  'FAMILYHELP_SECRET_KEY'
]

export function freePort () {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Starts `familyhelp serve` on a free loopback port with a fresh data directory and waits
 * until /healthz answers. Returns { baseURL, stop(), output() }.
 *
 * dataDir, if given, is used instead of a fresh one and kept when the server stops (the
 * caller removes it): a test can stop the server and start it again on the same data.
 */
export async function startServer ({ timeoutMs = 60_000, env: extraEnv = {}, dataDir: givenDataDir } = {}) {
  const bin = process.env.FAMILYHELP_BIN || path.join(repoRoot, 'bin', 'familyhelp')
  const dataDir = givenDataDir ?? mkdtempSync(path.join(tmpdir(), 'familyhelp-e2e-'))
  const port = await freePort()
  const env = { ...process.env }
  for (const k of BACKING_SERVICE_VARS) delete env[k]
  env.FAMILYHELP_DATA_DIR = dataDir
  env.FAMILYHELP_ADDR = `127.0.0.1:${port}`
  env.FAMILYHELP_BASE_URL = `http://127.0.0.1:${port}`
  Object.assign(env, extraEnv)

  let log = ''
  const keep = (chunk) => {
    log += chunk
    if (log.length > 200_000) log = log.slice(-100_000)
  }
  const child = spawn(bin, ['serve'], { env, cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.setEncoding('utf8').on('data', keep)
  child.stderr.setEncoding('utf8').on('data', keep)
  let exited = null
  let spawnError = null
  child.on('error', (err) => { spawnError = err })
  const exitedPromise = new Promise((resolve) => child.on('exit', (code, signal) => {
    exited = { code, signal }
    resolve()
  }))

  const baseURL = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (exited === null && !spawnError) {
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exitedPromise
      clearTimeout(t)
    }
    if (!givenDataDir) rmSync(dataDir, { recursive: true, force: true })
  }

  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (spawnError) {
      await stop()
      throw new Error(`could not start ${bin}: ${spawnError.message} (run \`make build\`, or set FAMILYHELP_BIN)`)
    }
    if (exited) {
      await stop()
      throw new Error(`${bin} serve exited (${exited.code ?? exited.signal}) before it was healthy:\n${log}`)
    }
    try {
      const res = await fetch(`${baseURL}/healthz`, { signal: AbortSignal.timeout(2_000) })
      if (res.ok) break
    } catch {}
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`${bin} serve was not healthy within ${timeoutMs / 1000} s:\n${log}`)
    }
    await sleep(100)
  }
  return { baseURL, port, stop, output: () => log }
}

export async function launchBrowser () {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
}

/**
 * A fresh phone-sized context and page.
 *
 * js: 'on' runs the site's script; 'off' aborts it (every page must work without it) while
 * keeping JavaScript available to the test tools; 'disabled' is a real javaScriptEnabled:false
 * context (axe cannot run there).
 *
 * Returns { context, page, problems } where problems() lists console errors, uncaught
 * exceptions and Content-Security-Policy violations seen so far.
 */
export async function openPage (browser, baseURL, { js = 'on', viewport = PHONE } = {}) {
  const context = await browser.newContext({
    viewport,
    screen: viewport,
    deviceScaleFactor: 1,
    isMobile: false,
    hasTouch: false,
    javaScriptEnabled: js !== 'disabled',
    locale: 'en-GB',
    timezoneId: 'Europe/London',
    serviceWorkers: 'block'
  })
  context.setDefaultTimeout(15_000)
  context.setDefaultNavigationTimeout(20_000)

  const origin = new URL(baseURL).origin
  // Only ever talk to our own server. Routes registered later (and page routes) win, so the
  // tests can still answer particular off-site URLs themselves.
  await context.route('**/*', (route) => {
    const u = route.request().url()
    if (u.startsWith(origin + '/') || u.startsWith('data:')) return route.continue()
    return route.abort('blockedbyclient')
  })
  if (js === 'off') {
    await context.route(APP_SCRIPT, (route) => route.abort())
  }
  const problems = []
  if (js !== 'disabled') {
    // CSP violations also reach the console, but an event is certain; it is reported through
    // the console so it lands in the same list.
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} in ${e.sourceFile || 'page'}:${e.lineNumber}`)
      })
    })
  }
  const page = await context.newPage()
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return
    const loc = msg.location()
    // The script the test itself aborted to turn JavaScript off.
    if (js === 'off' && APP_SCRIPT_RE.test(loc.url || '')) return
    problems.push(`console.error: ${msg.text()}${loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`)
  })
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`))
  return { context, page, problems: () => problems.slice() }
}

/** Runs axe with the WCAG 2.2 A/AA tags and returns the violations. */
export async function axeViolations (page) {
  const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze()
  return results.violations
}

/** A readable report of axe violations, one block per rule with every failing element. */
export function formatViolations (violations, label = '') {
  if (violations.length === 0) return 'no axe violations'
  const lines = [`${violations.length} axe rule(s) failed${label ? ` on ${label}` : ''}:`]
  for (const v of violations) {
    lines.push(`- ${v.id} [${v.impact}] ${v.help}`)
    lines.push(`  ${v.helpUrl}`)
    for (const node of v.nodes) {
      lines.push(`    target: ${node.target.map((t) => (Array.isArray(t) ? t.join(' >>> ') : t)).join(', ')}`)
      lines.push(`      html: ${node.html.replace(/\s+/g, ' ').slice(0, 200)}`)
      if (node.failureSummary) {
        lines.push(`      ${node.failureSummary.replace(/\s+/g, ' ').slice(0, 300)}`)
      }
    }
  }
  return lines.join('\n')
}

/** Saves a full-page screenshot as e2e/artifacts/<name>.png. */
export async function screenshot (page, name) {
  mkdirSync(artifactsDir, { recursive: true })
  const file = path.join(artifactsDir, `${name.replace(/[^a-z0-9._-]+/gi, '-')}.png`)
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' })
  return file
}

/** Saves a full-page screenshot as e2e/artifacts/<dir>/<name>.png. */
export async function screenshotIn (page, dir, name) {
  const folder = path.join(artifactsDir, dir.replace(/[^a-z0-9._-]+/gi, '-'))
  mkdirSync(folder, { recursive: true })
  const file = path.join(folder, `${name.replace(/[^a-z0-9._-]+/gi, '-')}.png`)
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' })
  return file
}

/** How wide the document is, to check nothing scrolls sideways. */
export function scrollWidth (page) {
  return page.evaluate(() => document.documentElement.scrollWidth)
}

/** The elements that stick out to the right of the viewport, to say what to fix. */
export function overflowingElements (page, width) {
  return page.evaluate((w) => {
    const out = []
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect()
      if (r.right > w + 0.5 && r.width > 0) {
        const id = el.id ? `#${el.id}` : ''
        const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : ''
        out.push(`${el.tagName.toLowerCase()}${id}${cls} (right edge ${Math.round(r.right)} px)`)
      }
      if (out.length >= 10) break
    }
    return out
  }, width)
}

/** The "Exit this page" link and where it goes. */
export async function exitLink (page) {
  const link = page.locator('.govuk-exit-this-page a', { hasText: 'Exit this page' }).first()
  const count = await link.count()
  if (count === 0) return null
  const href = await link.getAttribute('href')
  return { link, href }
}

/**
 * Sends a complete request for help from a parent in WV1 (the Wolverhampton Central team's
 * area) through the public form as plain HTTP requests. request is a Playwright
 * APIRequestContext, which keeps the journey's cookies. Returns the reference; with send:
 * false, the answers stop at "Check your answers", unsent, and it returns null.
 */
export async function sendReferralOverHTTP (request, baseURL, { story = 'Damp flat, landlord will not fix it', phone = '07700 900321', send = true } = {}) {
  const token = async (res) => (await res.text()).match(/name="_csrf" value="([^"]+)"/)?.[1]
  let csrf = await token(await request.get(baseURL + '/refer'))
  const answers = [
    ['/refer/start', {}],
    ['/refer/who', { asker: 'self' }],
    ['/refer/danger', { danger: 'no' }],
    ['/refer/needs', { needs: 'housing', story }],
    ['/refer/adult', { 'adult-name': 'Robin Example' }],
    ['/refer/children', { 'child-0-name': 'Ash', 'child-0-age': '9' }],
    ['/refer/home', { postcode: 'WV1 1AA' }],
    ['/refer/network', { nobody: 'yes' }],
    ['/refer/contact', { safe: 'call', phone, 'say-who-we-are': 'no' }],
    ['/refer/consent', { consent: 'yes' }],
    ['/refer/check', {}]
  ]
  // Without send, the answers stop at "Check your answers", unsent.
  if (!send) answers.pop()
  let body = ''
  for (const [path, form] of answers) {
    const res = await request.post(baseURL + path, { form: { _csrf: csrf, ...form } })
    if (res.status() !== 200) throw new Error(`POST ${path}: ${res.status()}`)
    body = await res.text()
    csrf = body.match(/name="_csrf" value="([^"]+)"/)?.[1]
  }
  if (!send) return null
  const ref = body.match(/FH-[2-9A-Z]{4}-[2-9A-Z]{4}/)
  if (!ref) throw new Error('no reference after sending')
  return ref[0]
}

/** Fetches a search page from the server and returns the service ids it links to, in order. */
export async function serviceIds (baseURL, query) {
  const res = await fetch(`${baseURL}/search?${query}`)
  if (!res.ok) throw new Error(`GET /search?${query}: ${res.status}`)
  const html = await res.text()
  const ids = []
  for (const m of html.matchAll(/<li class="fh-result">[\s\S]*?href="\/services\/([^"]+)"/g)) {
    if (!ids.includes(m[1])) ids.push(m[1])
  }
  return { ids, html }
}

/** Parses "0.4 miles away", "1 mile away", "Less than 0.1 miles away" into miles. */
export function parseMiles (text) {
  if (/less than 0\.1 miles? away/i.test(text)) return 0
  const m = text.match(/([\d.]+)\s+miles?\s+away/i)
  return m ? Number(m[1]) : null
}

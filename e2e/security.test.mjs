// Security in Chromium, with the site's JavaScript running.
//
// Hostile text: a corpus of XSS payloads typed into every field of the referral journey and of
// the staff listing editor (and a note, a problem report, an account name and the search box),
// then every page that shows them visited: the check page, the confirmation, the staff inbox
// and referral, the preview, the listing, its history, the public service page and search
// results. On each: no payload ran (none set window.__xss or opened a dialog), no
// Content-Security-Policy violation or console error, no element or attribute came from what
// was typed, and the text reads exactly as typed. Where a validator refuses an answer, the page
// that shows it again with the problem is checked the same way.
//
// Error states, axe-clean (WCAG 2.2 AA) and inert: another site's form refused (403), pages
// that timed out (stale CSRF tokens), "please wait" (429) from the search and report limits,
// too many sign-in attempts, a staff 404, and a real 500: a referral sealed under one secret
// key and opened after the site restarted with another.
//
// Screenshots of the pages carrying the most payloads are in e2e/artifacts/security/.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import {
  PHONE,
  axeViolations,
  formatViolations,
  launchBrowser,
  openPage,
  screenshotIn,
  sendReferralOverHTTP,
  startServer
} from './harness.mjs'

const DESKTOP = { width: 1024, height: 800 }
const SHOTS = 'security'

// If a page ever took one of these for markup or script, it would set window.__xss (or open a
// dialog, or load something): each is typed as a person would, and must come back as the
// same text.
const PAYLOADS = [
  '<script>window.__xss=1</script>',
  '"><script>window.__xss=2</script>',
  "'><img src=x onerror=window.__xss=3>",
  '<img src=x onerror="window.__xss=4">',
  '<svg onload=window.__xss=5>',
  '<svg><script>window.__xss=6</script></svg>',
  'javascript:window.__xss=7',
  '" autofocus onfocus="window.__xss=8" x="',
  "' onmouseover='window.__xss=9' x='",
  '</textarea><script>window.__xss=10</script>',
  '</title><script>window.__xss=11</script>',
  '${window.__xss=12}`${window.__xss=12}`', // a template literal, if anything evaluated one
  "{{constructor.constructor('window.__xss=13')()}}",
  '<style>*{background:url(//evil.example/14)}</style>',
  '<p style="background:url(javascript:window.__xss=15)">',
  '&lt;script&gt;window.__xss=16&lt;/script&gt;',
  '\\u003cscript\\u003ewindow.__xss=17\\u003c/script\\u003e',
  '＜script＞window.__xss=18＜/script＞',
  '<iframe srcdoc="<script>parent.__xss=19</script>">',
  '<a href="javascript:window.__xss=20">Click here</a>',
  '<details open ontoggle=window.__xss=21>',
  '<!--<img src="--><img src=x onerror=window.__xss=22>',
  '<base href="https://evil.example/">',
  '<meta http-equiv=refresh content="0;url=//evil.example">',
  '<script>alert(25)</script><img src=x onerror=alert(25)>',
  '<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=26>',
  // A right-to-left override: the validators refuse it, so it tests the pages that show
  // refused answers again.
  '\u202e<script>window.__xss=27</script>'
]
const REFUSED = PAYLOADS[PAYLOADS.length - 1]

let next = 0
/** The next payload that fits a field of maxLength characters, round the corpus in turn. */
function payload (maxLength = Infinity, { refused = true } = {}) {
  for (let i = 0; i < PAYLOADS.length; i++) {
    const p = PAYLOADS[next++ % PAYLOADS.length]
    if (p.length <= maxLength && (refused || p !== REFUSED)) return p
  }
  // A field for a few characters (an age, a day) still gets the start of an attribute breakout.
  return '"><svg/onload=window.__xss=0>'.slice(0, maxLength)
}

// What a validator accepts, for the fields that check their format, by field name.
const VALID = [
  [/(^|-)postcode$/, 'WV1 1AA'],
  [/(^|-)email$/, 'safe@example.org'],
  [/(^|-)phone$|-number$/, '07700 900123'],
  [/^child-\d+-age$/, '7'],
  [/^min-age$/, '0'],
  [/^max-age$/, '18'],
  [/-(day|month|year)$/, ''],
  [/(^|-)times$/, ''],
  // Refused as a website: not https, or with characters no address has. This one is accepted,
  // and still carries script-like text into the page's link.
  [/^website$/, "https://example.org/?q='-alert(28)-'&next=javascript:window.__xss=28"]
]

function validFor (name) {
  for (const [re, v] of VALID) if (re.test(name)) return v
  return null
}

let server
let browser
let base // http://localhost:PORT: browsers keep Secure (__Host-) cookies for localhost over http
const passwords = {}

before(async () => {
  server = await startServer({
    env: { FAMILYHELP_MIN_FILL_SECONDS: '0', FAMILYHELP_TRUSTED_PROXIES: '127.0.0.1' }
  })
  base = server.baseURL.replace('127.0.0.1', 'localhost')
  for (const m of server.output().matchAll(/demo account: (\S+) password: (\S+)/g)) passwords[m[1]] = m[2]
  assert.ok(passwords['wv-central@example.org'] && passwords['editor@example.org'] && passwords['admin@example.org'],
    'sample mode printed no demo accounts')
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

/**
 * A page whose every payload run would be seen: window.__xss reports to the test whenever it
 * is set (in any frame, on any page of the context), and dialogs are recorded and dismissed.
 */
async function armed (viewport = PHONE, headers = null) {
  const { context, page, problems } = await openPage(browser, base, { js: 'on', viewport })
  if (headers) await context.setExtraHTTPHeaders(headers)
  const fired = []
  await context.exposeBinding('__xssFired', ({ frame }, v) => { fired.push(`${frame.url()}: window.__xss=${v}`) })
  await context.addInitScript(() => {
    let value
    Object.defineProperty(window, '__xss', {
      configurable: false,
      get () { return value },
      set (v) {
        value = v
        try { window.__xssFired(String(v)) } catch {}
      }
    })
  })
  const dialogs = []
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()} "${d.message()}" on ${page.url()}`)
    d.dismiss().catch(() => {})
  })
  let seen = 0
  const newProblems = () => {
    const all = problems()
    const out = all.slice(seen)
    seen = all.length
    return out
  }
  return { context, page, fired, dialogs, newProblems }
}

// Statuses that are the point of a page (a refused form, a page to correct, please wait, an
// error page): Chromium reports the page's own load as failed.
const PAGE_STATUS = /the server responded with a status of (401|403|404|422|429|500)/

/**
 * Checks that what is on the page now is inert: nothing ran, nothing was blocked, nothing
 * typed became markup, and the typed text reads as typed (shown: in the page's text; kept: as
 * the value of a field). Optionally runs axe and saves a screenshot.
 */
async function inert (x, label, { shown = [], kept = [], axe = false, shot = null } = {}) {
  const { page } = x
  await page.waitForLoadState('load')
  // Let blocked handlers and violation events (dispatched after the load) arrive.
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 50))))
  const failures = []
  if (x.fired.length > 0) failures.push(`a payload ran: ${x.fired.splice(0).join('; ')}`)
  if (x.dialogs.length > 0) failures.push(`a dialog opened: ${x.dialogs.splice(0).join('; ')}`)
  const url = page.url()
  const seen = x.newProblems().filter((m) => !(PAGE_STATUS.test(m) && m.includes(`(${url}:`)))
  if (seen.length > 0) failures.push(`console errors or CSP violations:\n  ${seen.join('\n  ')}`)
  const found = await page.evaluate(({ shown, kept }) => {
    const bad = []
    for (const el of document.querySelectorAll('*')) {
      for (const a of el.attributes) {
        if (/^on/i.test(a.name)) bad.push(`<${el.localName}> has an ${a.name} attribute`)
        if (['href', 'src', 'action', 'formaction', 'srcdoc', 'data', 'xlink:href'].includes(a.name.toLowerCase()) &&
            /^\s*(javascript|vbscript|data):/i.test(a.value) && !/^data:image\/png;base64,/.test(a.value)) {
          bad.push(`<${el.localName} ${a.name}="${a.value.slice(0, 60)}">`)
        }
      }
    }
    for (const s of document.scripts) {
      if (!s.src || new URL(s.src).origin !== location.origin || !new URL(s.src).pathname.startsWith('/static/')) {
        bad.push(`a script that is not the site's: ${s.src || s.textContent.slice(0, 60)}`)
      }
    }
    for (const tag of ['iframe', 'frame', 'object', 'embed', 'base', 'style', 'mglyph']) {
      for (const el of document.getElementsByTagName(tag)) bad.push(`an element from what was typed: <${el.localName}>`)
    }
    for (const el of document.querySelectorAll('meta[http-equiv], img[src$="/x"], img[src="x"]')) bad.push(`an element from what was typed: ${el.outerHTML.slice(0, 80)}`)
    const text = document.body.textContent
    for (const s of shown) if (!text.includes(s)) bad.push(`the page does not show, as typed: ${s}`)
    const values = [...document.querySelectorAll('input, textarea')].map((e) => e.value)
    for (const s of kept) if (!values.includes(s)) bad.push(`no field kept, as typed: ${s}`)
    if (window.__xss !== undefined) bad.push(`window.__xss is ${window.__xss}`)
    return bad
  }, { shown, kept })
  failures.push(...found)
  // A hostile word longer than the screen must wrap, not push the page sideways.
  const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth])
  if (widths[0] > widths[1]) failures.push(`scrolls sideways: ${widths[0]} px wide in a ${widths[1]} px window`)
  if (shot) await screenshotIn(page, SHOTS, shot)
  if (axe) {
    await page.evaluate(() => window.scrollTo(0, 0))
    const violations = await axeViolations(page)
    if (violations.length > 0) failures.push(formatViolations(violations, label))
  }
  if (failures.length > 0) assert.fail(`${label} (${url}):\n${failures.join('\n')}`)
}

/**
 * Types a payload into every text field the person can see in the page's main form, but those
 * in skip (fields the person's choices make the site ignore). typed collects what went where,
 * under prefix + the field's name.
 */
async function fillAll (page, typed, { prefix = '', skip = [] } = {}) {
  const fields = await page.locator('main form :is(input[type=text], input[type=email], input[type=tel], input[type=url], input[type=search], input:not([type]), textarea):visible').all()
  const here = {}
  for (const f of fields) {
    const name = await f.getAttribute('name')
    if (!name || skip.includes(name)) continue
    if (name === 'website' && (await f.getAttribute('tabindex')) === '-1') continue // the honeypot
    const max = Number(await f.getAttribute('maxlength')) || Infinity
    const p = payload(max)
    await f.fill(p)
    here[name] = p
    typed[prefix + name] = p
  }
  return here
}

/**
 * Submits with button, and while the page comes back with problems: checks it (inert, every
 * answer kept, axe the first time), then replaces what was refused with what the validator
 * takes, and submits again.
 */
async function submitUntilAccepted (x, label, button, here, typed, prefix = '') {
  const { page } = x
  for (let round = 0; round < 4; round++) {
    await button().click()
    await page.waitForLoadState('load')
    if ((await page.locator('.govuk-error-summary').count()) === 0) return
    await inert(x, `${label}, shown again with problems`, { kept: Object.values(here), axe: round === 0, shot: round === 0 ? `${label}-errors` : null })
    const targets = await page.$$eval('.govuk-error-summary a', (as) => as.map((a) => a.getAttribute('href').slice(1)))
    for (const target of targets) {
      // A date's problem links to the date, or to its day.
      let el = page.locator(`:is(input, textarea)[id="${target}"]`)
      if ((await el.count()) === 0) el = page.locator(`[id="${target}-day"]`)
      if ((await el.count()) === 0 || ['radio', 'checkbox'].includes(await el.getAttribute('type'))) continue
      const name = await el.getAttribute('name')
      const fixes = { [name]: validFor(name) ?? payload(Number(await el.getAttribute('maxlength')) || Infinity, { refused: false }) }
      if (/-day$/.test(name)) {
        for (const part of ['month', 'year']) fixes[name.replace(/day$/, part)] = ''
      }
      for (const [n, v] of Object.entries(fixes)) {
        const f = page.locator(`[name="${n}"]`)
        if ((await f.count()) === 0) continue
        await f.first().fill(v)
        here[n] = v
        typed[prefix + n] = v
      }
    }
  }
  const left = await page.locator('.govuk-error-summary').textContent()
  assert.fail(`${label}: the form still has problems after four tries: ${left.replace(/\s+/g, ' ')}`)
}

const shownOf = (typed) => [...new Set(Object.values(typed).filter((v) => PAYLOADS.includes(v)))]

// Choices on each question page, by field name and value, made before the text is typed (a
// choice can reveal a field).
function choices (step, asker) {
  return {
    who: [['asker', asker]],
    professional: [['family-agreed', 'no']],
    danger: [['danger', 'no']],
    needs: [['needs', 'housing']],
    network: [['person-0-may-contact', 'yes']],
    contact: [['safe', 'text'], ['safe', 'letter'], ['say-who-we-are', 'no']],
    consent: [['consent', 'yes']]
  }[step] ?? []
}

/** Goes through the referral journey typing payloads everywhere; returns the reference and what was typed. */
async function hostileJourney (x, asker) {
  const { page } = x
  const typed = {}
  await page.goto(base + '/refer')
  await inert(x, 'start page')
  await page.getByRole('button', { name: 'Start now' }).click()
  for (;;) {
    await page.waitForLoadState('load')
    const step = new URL(page.url()).pathname.replace(/^\/refer\//, '')
    if (step === 'check') break
    if (step === 'urgent') throw new Error('the journey went to the urgent page')
    for (const [n, v] of choices(step, asker)) {
      const el = page.locator(`input[name="${n}"][value="${v}"]`)
      if ((await el.count()) > 0) await el.first().check()
    }
    // A relationship is asked of relatives and friends, an email address only of those who
    // chose email: otherwise what is typed there is not kept.
    const skip = { who: asker === 'someone' ? [] : ['relationship'], contact: ['email'] }[step] ?? []
    const here = await fillAll(page, typed, { prefix: `${step}:`, skip })
    await submitUntilAccepted(x, `refer-${step}-${asker}`, () => page.getByRole('button', { name: /^(Continue|Save and go back)/ }), here, typed, `${step}:`)
  }
  const shown = shownOf(typed)
  assert.ok(shown.length >= 12, `only ${shown.length} payloads reached "Check your answers"`)
  await inert(x, `check your answers (${asker})`, { shown, axe: true, shot: `refer-check-answers-${asker}` })
  await page.getByRole('button', { name: 'Send request' }).click()
  await page.waitForURL('**/refer/done')
  await inert(x, `confirmation (${asker})`)
  const ref = (await page.locator('.fh-reference').textContent()).trim()
  return { ref, shown }
}

async function signIn (page, email) {
  await page.goto(base + '/staff/login')
  await page.getByLabel('Email address').fill(email)
  await page.getByLabel('Password').fill(passwords[email])
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByText('Signed in as').waitFor()
}

describe('hostile text is inert (JavaScript on)', () => {
  test('the referral journey, and the team that reads it', { timeout: 240_000 }, async () => {
    const family = await armed(PHONE)
    const sent = []
    try {
      for (const asker of ['professional', 'someone']) {
        await family.context.clearCookies()
        sent.push({ asker, ...await hostileJourney(family, asker) })
      }
    } finally {
      await family.context.close()
    }

    const team = await armed(DESKTOP)
    try {
      const { page } = team
      await signIn(page, 'wv-central@example.org')
      await page.goto(base + '/staff/referrals')
      await inert(team, 'inbox', { shown: sent.map((s) => s.ref) })
      for (const { asker, ref, shown } of sent) {
        await page.getByRole('link', { name: ref }).click()
        await inert(team, `referral ${ref}`, { shown, shot: `staff-referral-${asker}` })
        const note = payload(1000, { refused: false })
        await page.getByLabel('Add a note').fill(note)
        await page.getByRole('button', { name: 'Add note' }).click()
        await page.getByText('Add a note').first().waitFor()
        await inert(team, `referral ${ref} with a note`, { shown: [note, ...shown], axe: true })
        await page.goto(base + '/staff/referrals')
      }
      // The team's emails: the outbox lists them without their contents.
      await page.goto(base + '/staff/outbox')
      await inert(team, 'outbox', { shown: sent.map((s) => s.ref) })
    } finally {
      await team.context.close()
    }
  })

  test('the listing editor, the public pages that show a listing, and the search box', { timeout: 240_000 }, async () => {
    const editor = await armed(DESKTOP)
    let id
    const typed = {}
    try {
      const { page } = editor
      await signIn(page, 'editor@example.org')
      await page.goto(base + '/staff/listings/new')
      // Not free, so that the cost is shown.
      for (const sel of ['input[name="needs"][value="money"]', 'input[name="free"][value="no"]', '#delivery', '#self-referral']) {
        await page.locator(sel).first().check()
      }
      const here = await fillAll(page, typed)
      // A word people can search for, before the payload.
      const name = 'Quetzal ' + payload(100, { refused: false })
      await page.locator('#name').fill(name)
      here.name = typed.name = name
      await submitUntilAccepted(editor, 'listing-new', () => page.getByRole('button', { name: 'Save as unpublished' }), here, typed)
      await page.getByText('The listing is saved').waitFor()
      id = new URL(page.url()).pathname.split('/').pop()
      const shown = shownOf(typed).concat([name])
      assert.ok(shown.length >= 10, `only ${shown.length} payloads were saved in the listing`)
      await inert(editor, 'listing page', { shown: [name], axe: true, shot: 'listing-page' })

      await page.getByRole('button', { name: 'Preview' }).click()
      await inert(editor, 'preview', { shown, shot: 'listing-preview' })
      await page.goto(base + `/staff/listings/${id}/edit`)
      await inert(editor, 'edit page', { kept: Object.values(here).filter((v) => PAYLOADS.includes(v)) })
      // Previewing unsaved changes carries them in hidden fields.
      await page.locator('#summary').fill(PAYLOADS[1])
      await page.getByRole('button', { name: 'Preview' }).click()
      await inert(editor, 'preview of unsaved changes', { shown: [PAYLOADS[1]] })
      await page.goto(base + `/staff/listings/${id}`)
      await page.getByRole('button', { name: 'Publish' }).click()
      await page.getByText('The listing is published').waitFor()

      // What families see.
      const family = await armed(PHONE)
      try {
        await family.page.goto(base + `/services/${id}`)
        await inert(family, 'service page', { shown: [...shown, typed.website], axe: true, shot: 'service-page' })
        // The website the validator let through, with its quotes and "javascript:", is still
        // the link's address, exactly.
        const hrefs = await family.page.$$eval('main a', (as) => as.map((a) => a.getAttribute('href')))
        assert.ok(hrefs.includes(typed.website), `no link to ${typed.website} on the service page`)
        await family.page.goto(base + '/search?q=Quetzal')
        await inert(family, 'search results', { shown: [name, typed.organisation, typed.summary], shot: 'search-results' })
        await family.page.goto(base + `/services/${id}/report`)
        const problem = payload(1000, { refused: false })
        await family.page.getByLabel('What is wrong with the page?').fill(problem)
        await family.page.getByRole('button', { name: 'Send report' }).click()
        await family.page.getByRole('heading', { name: 'Thank you' }).waitFor()
        await inert(family, 'report sent')
        // Every payload as a search, and the other places a page takes words from the address.
        for (const p of PAYLOADS) {
          await family.page.goto(base + '/search?q=' + encodeURIComponent(p))
          await inert(family, `search for ${JSON.stringify(p)}`, { kept: [p] })
        }
        await family.page.goto(base + '/refer?service=' + encodeURIComponent(PAYLOADS[0]))
        await inert(family, 'start page from a hostile address')
        const res = await family.page.goto(base + '/' + encodeURIComponent(PAYLOADS[2]))
        assert.equal(res.status(), 404)
        await inert(family, 'not found at a hostile address', { axe: true })

        await page.goto(base + `/staff/listings/${id}`)
        await inert(editor, 'listing with a reported problem', { shown: [problem] })
      } finally {
        await family.context.close()
      }

      await page.goto(base + `/staff/listings/${id}/history`)
      await inert(editor, 'history', { shown: [name], shot: 'listing-history' })
      await page.goto(base + '/staff/listings?q=Quetzal')
      await inert(editor, 'listings search', { shown: [name] })
      await page.goto(base + '/staff/listings/review')
      await inert(editor, 'review queue')
    } finally {
      await editor.context.close()
    }

    // An account's name, on the admin's page.
    const admin = await armed(DESKTOP)
    try {
      const { page } = admin
      await signIn(page, 'admin@example.org')
      await page.goto(base + '/staff/accounts')
      const name = payload(100, { refused: false })
      await page.getByLabel('Email address').fill('hostile-name@example.org')
      await page.getByLabel('Name', { exact: true }).fill(name)
      await page.locator('input[name="role"][value="editor"]').check()
      await page.getByRole('button', { name: 'Add account' }).click()
      await page.locator('code.fh-secret').waitFor()
      await inert(admin, 'accounts', { shown: [name] })
    } finally {
      await admin.context.close()
    }
  })
})

/** Makes every form on the page carry a token the server no longer knows, as if it expired. */
async function expireTokens (page) {
  await page.$$eval('input[name="_csrf"]', (els) => els.forEach((el) => { el.value = '0c0c0c0c-dead-4bad-8bad-000000000000' }))
}

describe('error pages are accessible and inert (JavaScript on)', () => {
  test('a form from another site is refused, and nothing is saved', { timeout: 60_000 }, async () => {
    const x = await armed(PHONE)
    try {
      const { page } = x
      const text = 'Planted by another site'
      // A page on another origin (data: is opaque) whose form posts to us, as an attacker's would.
      await page.goto('data:text/html,' + encodeURIComponent(
        `<!doctype html><title>elsewhere</title><form method="post" action="${base}/services/national-drinkline/report">` +
        `<input name="problem" value="${text}"><button>Send</button></form>`))
      await page.getByRole('button', { name: 'Send' }).click()
      await page.waitForURL(base + '/services/national-drinkline/report')
      await page.getByRole('heading', { name: 'Sorry, there is a problem with that request' }).waitFor()
      await inert(x, 'another site\'s form', { axe: true, shot: 'error-403-cross-site' })
      await signIn(page, 'editor@example.org')
      await page.goto(base + '/staff/listings/national-drinkline')
      assert.ok(!(await page.content()).includes(text), 'another site\'s form was saved')
    } finally {
      await x.context.close()
    }
  })

  test('forms that timed out come back with what was typed', { timeout: 120_000 }, async () => {
    const x = await armed(PHONE)
    try {
      const { page } = x
      // A question page.
      await page.goto(base + '/refer')
      await page.getByRole('button', { name: 'Start now' }).click()
      await page.waitForURL('**/refer/who')
      await page.locator('input[name="asker"][value="someone"]').check()
      const relationship = payload(100, { refused: false })
      await page.locator('#relationship').fill(relationship)
      await expireTokens(page)
      await page.getByRole('button', { name: 'Continue' }).click()
      await page.getByText('This page timed out').first().waitFor()
      await inert(x, 'question page timed out', { kept: [relationship], axe: true, shot: 'stale-question' })

      // "Check your answers".
      await x.context.clearCookies()
      await sendReferralOverHTTP(x.context.request, base, { send: false, phone: '07700 900661' })
      await page.goto(base + '/refer/check')
      await expireTokens(page)
      await page.getByRole('button', { name: 'Send request' }).click()
      await page.getByText('This page timed out').first().waitFor()
      await inert(x, 'check page timed out', { axe: true, shot: 'stale-check' })

      // The public "report a problem" form.
      await page.goto(base + '/services/national-drinkline/report')
      const problem = payload(1000, { refused: false })
      await page.getByLabel('What is wrong with the page?').fill(problem)
      await expireTokens(page)
      await page.getByRole('button', { name: 'Send report' }).click()
      await page.getByText('This page timed out').first().waitFor()
      await inert(x, 'report form timed out', { kept: [problem], axe: true, shot: 'stale-report' })
    } finally {
      await x.context.close()
    }

    const staff = await armed(DESKTOP)
    try {
      const { page } = staff
      await page.goto(base + '/staff/login')
      await page.getByLabel('Email address').fill('editor@example.org')
      await page.getByLabel('Password').fill(passwords['editor@example.org'])
      await expireTokens(page)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.getByText('This page timed out').first().waitFor()
      await inert(staff, 'sign-in timed out', { axe: true, shot: 'stale-login' })

      await signIn(page, 'editor@example.org')
      await page.goto(base + '/staff/listings/new')
      const name = payload(150, { refused: false })
      await page.locator('#name').fill(name)
      await expireTokens(page)
      await page.getByRole('button', { name: 'Save as unpublished' }).click()
      await page.getByText('This page timed out').first().waitFor()
      await inert(staff, 'listing form timed out', { kept: [name], axe: true, shot: 'stale-listing' })
    } finally {
      await staff.context.close()
    }
  })

  test('limits: please wait (429) and too many sign-in attempts', { timeout: 120_000 }, async () => {
    // One made-up address, so the limits reached here hold nobody else up. The server trusts
    // X-Forwarded-For from loopback (FAMILYHELP_TRUSTED_PROXIES).
    const ip = { 'X-Forwarded-For': '203.0.113.77' }
    const x = await armed(PHONE, ip)
    try {
      const { page } = x
      // The limit lets a search through every half second once the burst is spent, so the
      // page is loaded straight after the burst.
      let limited = false
      for (let i = 0; i < 500 && !limited; i++) {
        const res = await fetch(base + '/search?q=help', { headers: ip })
        limited = res.status === 429
      }
      assert.ok(limited, 'the search limit was never reached')
      const res = await page.goto(base + '/search?q=help')
      assert.equal(res.status(), 429)
      await page.getByRole('heading', { name: 'Please wait before trying again' }).waitFor()
      await inert(x, 'search limit', { axe: true, shot: 'error-429-search' })

      // The report form's limit: the sixth report in an hour from one connection.
      let status = 0
      for (let i = 0; i < 10 && status !== 429; i++) {
        await page.goto(base + '/services/national-drinkline/report')
        await page.getByLabel('What is wrong with the page?').fill(`The opening hours are wrong (${i})`)
        const [resp] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'POST'),
          page.getByRole('button', { name: 'Send report' }).click()
        ])
        status = resp.status()
      }
      assert.equal(status, 429, 'the report limit was never reached')
      await page.locator('.govuk-error-summary').waitFor()
      await inert(x, 'report limit', { axe: true, shot: 'error-429-report' })

      // Sign-in attempts for one address.
      for (let i = 0; i < 10; i++) {
        await page.goto(base + '/staff/login')
        await page.getByLabel('Email address').fill('nobody@example.org')
        await page.getByLabel('Password').fill('not the password at all')
        await page.getByRole('button', { name: 'Sign in' }).click()
        await page.locator('.govuk-error-summary').waitFor()
        if (await page.getByText('Too many attempts').count()) break
      }
      assert.ok(await page.getByText('Too many attempts').first().isVisible(), 'sign-in was never limited')
      await inert(x, 'sign-in limit', { axe: true, shot: 'error-sign-in-limit' })
    } finally {
      await x.context.close()
    }
  })

  test('not found in the staff portal', { timeout: 60_000 }, async () => {
    const x = await armed(DESKTOP)
    try {
      const { page } = x
      await signIn(page, 'wv-central@example.org')
      for (const path of ['/staff/no-such-page', '/staff/referrals/FH-2222-2222']) {
        const res = await page.goto(base + path)
        assert.equal(res.status(), 404, path)
        await inert(x, `staff ${path}`, { axe: true, shot: `error-404${path.replace(/\//g, '-')}` })
      }
    } finally {
      await x.context.close()
    }
  })

  // A real 500 from the built binary, with no test-only switch: a referral sealed under one
  // secret key cannot be opened after the site restarts with another (a key rotated without
  // re-sealing). The team member gets the error page with a reference to quote, and the log
  // has the error under the same reference.
  test('the 500 page', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'familyhelp-e2e-500-'))
    try {
      let ref
      let password
      const first = await startServer({ dataDir, env: { FAMILYHELP_SECRET_KEY: 'ab'.repeat(32), FAMILYHELP_MIN_FILL_SECONDS: '0' } })
      try {
        password = first.output().match(/demo account: wv-central@example\.org password: (\S+)/)?.[1]
        assert.ok(password, 'no demo account for the Wolverhampton Central team')
        const ctx = await browser.newContext()
        try {
          ref = await sendReferralOverHTTP(ctx.request, first.baseURL, { story: 'Sealed under the first key' })
        } finally {
          await ctx.close()
        }
      } finally {
        await first.stop()
      }
      const second = await startServer({ dataDir, env: { FAMILYHELP_SECRET_KEY: 'cd'.repeat(32) } })
      try {
        const there = second.baseURL.replace('127.0.0.1', 'localhost')
        const { context, page, problems } = await openPage(browser, there, { js: 'on', viewport: DESKTOP })
        try {
          await page.goto(there + '/staff/login')
          await page.getByLabel('Email address').fill('wv-central@example.org')
          await page.getByLabel('Password').fill(password)
          await page.getByRole('button', { name: 'Sign in' }).click()
          await page.getByText('Signed in as').waitFor()
          const res = await page.goto(there + '/staff/referrals/' + ref)
          assert.equal(res.status(), 500)
          await page.getByRole('heading', { name: 'Sorry, there is a problem with the service' }).waitFor()
          await screenshotIn(page, SHOTS, 'error-500')
          const violations = await axeViolations(page)
          assert.equal(violations.length, 0, formatViolations(violations, 'the 500 page'))
          const seen = problems().filter((m) => !m.includes('status of 500'))
          assert.deepEqual(seen, [], 'console errors or CSP violations on the 500 page')
          const body = await page.textContent('body')
          assert.ok(!body.includes('Sealed under the first key'), 'the 500 page shows the referral')
          const id = body.match(/quote this reference: ([0-9a-f]+)/)?.[1]
          assert.ok(id, 'the 500 page gives no reference to quote')
          assert.match(second.output(), new RegExp(`request failed.*${id}|${id}.*request failed`), 'the log has no error under the reference shown')
        } finally {
          await context.close()
        }
      } finally {
        await second.stop()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

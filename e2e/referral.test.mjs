// Asking for help, as a parent on a phone: the whole journey at 360 px with the site's
// JavaScript running and with it blocked, axe-core on every page (question pages, error
// states, check your answers, confirmation, and the "please wait" page a limit shows), and
// the team's mailbox on a real SMTP server (smtp-server, on loopback) receiving a
// notification that carries the reference and nothing the family typed.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'

import { SMTPServer } from 'smtp-server'

import {
  PHONE,
  axeViolations,
  exitLink,
  formatViolations,
  freePort,
  launchBrowser,
  openPage,
  overflowingElements,
  screenshot,
  scrollWidth,
  startServer
} from './harness.mjs'

let server
let browser
let smtp
const mailbox = [] // { to: [addresses], data: 'raw message' }

before(async () => {
  const port = await freePort()
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData (stream, session, callback) {
      let data = ''
      stream.setEncoding('utf8')
      stream.on('data', (chunk) => { data += chunk })
      stream.on('end', () => {
        mailbox.push({ to: session.envelope.rcptTo.map((r) => r.address), data })
        callback()
      })
    }
  })
  await new Promise((resolve, reject) => {
    smtp.once('error', reject)
    smtp.listen(port, '127.0.0.1', resolve)
  })
  server = await startServer({
    env: { SMTP_URL: `smtp://127.0.0.1:${port}`, FAMILYHELP_MIN_FILL_SECONDS: '1' }
  })
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.stop()
  await new Promise((resolve) => smtp ? smtp.close(resolve) : resolve())
})

/** Checks what every page of the journey must be: axe-clean, no sideways scroll, an exit. */
async function checkPage (page, name, problems, { title } = {}) {
  const failures = []
  // From the top, as the page loads: "Exit this page" sticks to the top of the screen while
  // scrolling, and axe would count whatever happens to be under it at that moment.
  await page.evaluate(() => window.scrollTo(0, 0))
  await screenshot(page, `refer-${name}`)
  const violations = await axeViolations(page)
  if (violations.length > 0) failures.push(formatViolations(violations, name))
  const width = await scrollWidth(page)
  if (width > PHONE.width) {
    failures.push(`scrolls sideways at ${PHONE.width} px (${width}):\n  ${(await overflowingElements(page, PHONE.width)).join('\n  ')}`)
  }
  if (!(await exitLink(page))) failures.push('no "Exit this page"')
  const t = await page.title()
  if (title && t !== title) failures.push(`title "${t}", want "${title}"`)
  // Neutral titles: nothing in a tab or history says what this is about.
  if (/abuse|referral|danger|help/i.test(t.replace(/ – Family Help$/, ''))) failures.push(`title "${t}" is not neutral`)
  // Chromium reports a page served with 422 (answers to change) or 429 (please wait) as a
  // failed load; those statuses are the point of those pages.
  const seen = problems().filter((m) => !/status of (422|429)/.test(m))
  if (seen.length > 0) failures.push(`console errors or CSP violations:\n  ${seen.join('\n  ')}`)
  if (failures.length > 0) assert.fail(`${name}:\n${failures.join('\n')}`)
}

async function continueButton (page) {
  await page.getByRole('button', { name: /^(Continue|Save and go back)/ }).click()
}

/**
 * Goes through the journey. Each answer is one step; `check` runs the page checks.
 * Returns the reference shown on the confirmation page.
 */
async function journey (page, { js, problems, phone, story, checks = true }) {
  const check = checks ? (name, opts) => checkPage(page, `${name}-js-${js}`, problems, opts) : async () => {}
  const res = await page.goto(server.baseURL + '/refer')
  assert.equal(res.status(), 200)
  await check('start', { title: 'Contact form – Family Help' })
  await page.getByRole('button', { name: 'Start now' }).click()

  // Who: first leave it empty, to see the error state.
  await page.waitForURL('**/refer/who')
  await continueButton(page)
  await page.locator('.govuk-error-summary').waitFor()
  assert.match(await page.title(), /^Error: Contact form/)
  if (js === 'on') {
    // GOV.UK's error summary takes focus, so a screen reader hears the problems first.
    assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('govuk-error-summary')), true)
  }
  await check('who-error')
  await page.getByLabel('I am a parent or carer, asking for my family').check()
  await continueButton(page)

  await page.waitForURL('**/refer/danger')
  await check('danger')
  await page.getByRole('radio', { name: 'No' }).check()
  await continueButton(page)

  await page.waitForURL('**/refer/needs')
  await page.getByLabel('Domestic abuse').check()
  await page.getByLabel('Money and debt').check()
  await page.getByLabel('Tell us what is happening, in your own words').fill(story)
  if (js === 'on') {
    // The character count tells how many are left as they type.
    await page.getByText(/You have [\d,]+ characters remaining/).first().waitFor()
  }
  await check('needs')
  await continueButton(page)

  await page.waitForURL('**/refer/adult')
  await page.getByLabel('Your full name').fill('Alex Example')
  await check('adult')
  await continueButton(page)

  await page.waitForURL('**/refer/children')
  await page.locator('#child-0-name').fill('Mo')
  await page.locator('#child-0-age').fill('7')
  // Add another child without JavaScript: the page comes back with a new row.
  await page.getByRole('button', { name: 'Add another child' }).click()
  await page.locator('#child-1-name').waitFor()
  assert.equal(await page.locator('#child-0-name').inputValue(), 'Mo')
  await page.locator('#child-1-name').fill('Baby')
  await page.locator('#child-1-expected').check()
  await check('children')
  // Enter in a field means Continue, not "Add another child".
  await page.locator('#child-1-name').press('Enter')

  await page.waitForURL('**/refer/home')
  // A wrong postcode first: error, answer kept.
  await page.getByLabel('Postcode').fill('WV1 1A')
  await continueButton(page)
  await page.locator('.govuk-error-summary').waitFor()
  assert.equal(await page.getByLabel('Postcode').inputValue(), 'WV1 1A')
  await check('home-error')
  await page.getByLabel('Postcode').fill('wv1 1aa')
  await continueButton(page)

  await page.waitForURL('**/refer/network')
  await page.getByLabel('There is nobody we could ask').check()
  await check('network')
  await continueButton(page)

  await page.waitForURL('**/refer/contact')
  await page.getByLabel('Text message').check()
  await page.getByLabel('Safe phone number').fill(phone)
  await page.getByRole('radio', { name: 'No' }).check()
  await check('contact')
  await continueButton(page)

  await page.waitForURL('**/refer/consent')
  await page.getByLabel(/I agree to you sharing/).check()
  await check('consent')
  await continueButton(page)

  await page.waitForURL('**/refer/check')
  await page.getByText(story).waitFor()
  await check('check', { title: 'Contact form: check your answers – Family Help' })
  // The minimum fill time is one second here.
  await page.waitForTimeout(1100)
  await page.getByRole('button', { name: 'Send request' }).click()
  return page
}

async function sentReference (page, js, problems, checks = true) {
  await page.waitForURL('**/refer/done')
  const ref = (await page.locator('.fh-reference').textContent()).trim()
  assert.match(ref, /^FH-[2-9A-Z]{4}-[2-9A-Z]{4}$/)
  if (checks) await checkPage(page, `done-js-${js}`, problems, { title: 'Contact form: sent – Family Help' })
  return ref
}

async function waitForMail (ref, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const found = mailbox.filter((m) => m.data.includes(ref))
    if (found.length > 0) return found
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return []
}

for (const js of ['on', 'off']) {
  describe(`asking for help at 360 px, JavaScript ${js}`, () => {
    test(`the whole journey reaches the right team (JS ${js})`, { timeout: 120_000 }, async () => {
      const { context, page, problems } = await openPage(browser, server.baseURL, { js })
      try {
        const story = `Zebedee's dad shouts at us and we owe rent (${js})`
        await journey(page, { js, problems, phone: '07700 900444', story })
        const ref = await sentReference(page, js, problems)
        assert.ok(await page.getByText('Wolverhampton Central Family Help team').first().isVisible())

        // The team's mailbox on a real SMTP server: the reference, no personal data.
        const mails = await waitForMail(ref)
        const toTeam = mails.filter((m) => m.to.includes('wv-central.familyhelp@example.org'))
        const toSpecialist = mails.filter((m) => m.to.includes('domestic-abuse.familyhelp@example.org'))
        assert.equal(toTeam.length, 1, `the locality team got ${toTeam.length} emails for ${ref}`)
        assert.equal(toSpecialist.length, 1, `the domestic abuse team got ${toSpecialist.length} emails for ${ref}`)
        for (const m of mails) {
          for (const secret of ['Zebedee', 'Alex Example', '07700', 'WV1', 'rent']) {
            assert.ok(!m.data.includes(secret), `an email carries "${secret}"`)
          }
        }
        // Sending the same form again (a retry, a double click that got through) makes no
        // second referral: the answer is the same confirmation.
        const token = await page.locator('input[name="_csrf"]').first().getAttribute('value')
        const again = await page.request.post(server.baseURL + '/refer/check', { form: { _csrf: token } })
        assert.equal(again.status(), 200)
        assert.ok((await again.text()).includes(ref), 'sending again did not show the same reference')
        assert.equal(mailbox.filter((m) => m.data.includes(ref)).length, mails.length, 'sending again sent more email')
        // And the back button shows the confirmation, not the answers.
        await page.goBack()
        assert.ok(!(await page.content()).includes(story), 'the answers are shown again after sending')
        await page.goto(server.baseURL + '/refer/done')
        // Finish clears it from this phone.
        await page.getByRole('button', { name: 'Finish and clear this page' }).click()
        await page.waitForURL(server.baseURL + '/')
        await page.goto(server.baseURL + '/refer/done')
        assert.ok(!(await page.content()).includes(ref), 'the confirmation is still there after Finish')
      } finally {
        await context.close()
      }
    })
  })
}

describe('the limit on requests for one phone number, 360 px', () => {
  test('a fourth request gets a "please wait" page with 999, answers kept', { timeout: 180_000 }, async () => {
    const phone = '07700 900555'
    for (let i = 0; i < 3; i++) {
      const { context, page, problems } = await openPage(browser, server.baseURL, { js: 'on' })
      try {
        await journey(page, { js: 'on', problems, phone, story: `Request ${i}`, checks: false })
        await sentReference(page, 'on', problems, false)
      } finally {
        await context.close()
      }
    }
    for (const js of ['on', 'off']) {
      const { context, page, problems } = await openPage(browser, server.baseURL, { js })
      try {
        await journey(page, { js, problems, phone, story: `One more (${js})`, checks: false })
        await page.getByRole('heading', { name: 'Please wait before trying again' }).waitFor()
        await checkPage(page, `limited-js-${js}`, problems)
        assert.ok(await page.getByRole('link', { name: '999' }).first().isVisible())
        await page.getByRole('link', { name: 'Go back to your answers' }).click()
        await page.getByText(`One more (${js})`).waitFor()
      } finally {
        await context.close()
      }
    }
  })
})

describe('hostile requests', () => {
  test('a huge form is refused with 413 before it is read', { timeout: 30_000 }, async () => {
    const res = await fetch(server.baseURL + '/refer/who', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'asker=someone&relationship=' + 'x'.repeat(300 * 1024)
    })
    assert.equal(res.status, 413)
  })
})

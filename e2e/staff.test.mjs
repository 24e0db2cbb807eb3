// The staff portal in Chromium on a desktop-sized screen, with the site's JavaScript running and
// with it blocked: a team member signs in with the demo account sample mode prints, finds a
// family's referral in the inbox, reads the safe-contact panel first, adds a note and moves it
// on; an admin adds an account and the new person sets a password; axe-core on every page.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'

import {
  axeViolations,
  formatViolations,
  launchBrowser,
  openPage,
  screenshot,
  sendReferralOverHTTP,
  startServer
} from './harness.mjs'

const DESKTOP = { width: 1024, height: 800 }

let server
let browser
let base // http://localhost:PORT: browsers keep Secure (__Host-) cookies for localhost over http
const passwords = {}

before(async () => {
  server = await startServer({ env: { FAMILYHELP_MIN_FILL_SECONDS: '0' } })
  base = server.baseURL.replace('127.0.0.1', 'localhost')
  for (const m of server.output().matchAll(/demo account: (\S+) password: (\S+)/g)) passwords[m[1]] = m[2]
  assert.ok(passwords['wv-central@example.org'] && passwords['admin@example.org'], 'sample mode printed no demo accounts')
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

async function check (page, name, problems) {
  await page.evaluate(() => window.scrollTo(0, 0))
  await screenshot(page, `staff-${name}`)
  const failures = []
  const violations = await axeViolations(page)
  if (violations.length > 0) failures.push(formatViolations(violations, name))
  const seen = problems().filter((m) => !/status of (401|404|422)/.test(m))
  if (seen.length > 0) failures.push(`console errors or CSP violations:\n  ${seen.join('\n  ')}`)
  if (failures.length > 0) assert.fail(`${name}:\n${failures.join('\n')}`)
}

async function signIn (page, email) {
  await page.goto(base + '/staff/login')
  await page.getByLabel('Email address').fill(email)
  await page.getByLabel('Password').fill(passwords[email])
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByText('Signed in as').waitFor()
}

for (const js of ['on', 'off']) {
  describe(`staff portal, JavaScript ${js}`, () => {
    test(`a team member works a referral (JS ${js})`, { timeout: 120_000 }, async () => {
      const { context, page, problems } = await openPage(browser, base, { js, viewport: DESKTOP })
      try {
        const story = `Damp flat, landlord will not fix it (${js})`
        const ref = await sendReferralOverHTTP(context.request, base, { story })

        await page.goto(base + '/staff/login')
        await page.getByLabel('Email address').fill('wv-central@example.org')
        await page.getByLabel('Password').fill('not the password at all')
        await page.getByRole('button', { name: 'Sign in' }).click()
        await page.locator('.govuk-error-summary').waitFor()
        await check(page, `login-error-js-${js}`, problems)

        await signIn(page, 'wv-central@example.org')
        await check(page, `home-js-${js}`, problems)
        await page.getByRole('link', { name: 'Referrals', exact: true }).first().click()
        await page.getByRole('link', { name: ref }).waitFor()
        await check(page, `inbox-js-${js}`, problems)

        await page.getByRole('link', { name: ref }).click()
        await page.getByText(story).waitFor()
        // The safe-contact warning comes before anything the family said.
        const warningFirst = await page.evaluate((s) => {
          const warning = document.querySelector('.govuk-warning-text')
          const storyEl = [...document.querySelectorAll('p')].find((p) => p.textContent.includes(s))
          return !!warning && !!storyEl && (warning.compareDocumentPosition(storyEl) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0
        }, story)
        assert.ok(warningFirst, 'the safe-contact warning is not above the referral')
        assert.ok(await page.getByText('Contact only by: Phone call').isVisible())
        await check(page, `referral-js-${js}`, problems)

        await page.getByLabel('Add a note').fill('Rang at 10am, spoke to Robin')
        await page.getByRole('button', { name: 'Add note' }).click()
        await page.getByText('Rang at 10am, spoke to Robin').waitFor()
        await page.getByLabel('Contacted').check()
        await page.getByRole('button', { name: 'Update status' }).click()
        await page.getByText('Status: Contacted').waitFor()
        // Closing needs an outcome: the error state.
        await page.getByLabel('Closed').check()
        await page.getByRole('button', { name: 'Update status' }).click()
        await page.locator('.govuk-error-summary').waitFor()
        await check(page, `referral-error-js-${js}`, problems)

        await page.goto(base + '/staff/outbox')
        await page.getByText(ref).first().waitFor()
        await check(page, `outbox-js-${js}`, problems)

        await page.getByRole('button', { name: 'Sign out' }).click()
        await page.getByRole('heading', { name: 'Sign in' }).waitFor()
        await page.goto(base + '/staff/referrals')
        assert.ok(page.url().endsWith('/staff/login'), 'the inbox is still open after signing out')
      } finally {
        await context.close()
      }
    })

    test(`an admin adds an account, the person sets a password and two-step sign-in (JS ${js})`, { timeout: 90_000 }, async () => {
      const { context, page, problems } = await openPage(browser, base, { js, viewport: DESKTOP })
      try {
        await signIn(page, 'admin@example.org')
        await page.goto(base + '/staff/accounts')
        await check(page, `accounts-js-${js}`, problems)
        await page.getByLabel('Email address').fill(`new-${js}@example.org`)
        await page.getByLabel('Name', { exact: true }).fill('New Person')
        await page.getByRole('radio', { name: 'Team member' }).check()
        await page.getByRole('button', { name: 'Add account' }).click()
        await page.locator('.govuk-error-summary').waitFor()
        await check(page, `accounts-error-js-${js}`, problems)
        await page.getByLabel('Team (for team members and managers)').selectOption('ws-north')
        await page.getByRole('button', { name: 'Add account' }).click()
        const link = (await page.locator('code.fh-secret').textContent()).trim()
        assert.match(link, /\/staff\/set-password\?token=/)
        await page.getByRole('button', { name: 'Sign out' }).click()

        await page.goto(link.replace(/^https?:\/\/[^/]+/, base))
        await check(page, `set-password-js-${js}`, problems)
        await page.getByLabel('New password').fill('three quiet herons')
        await page.getByLabel('Type it again').fill('three quiet herons')
        await page.getByRole('button', { name: 'Set password' }).click()
        await page.getByText('Your password is set').waitFor()
        passwords[`new-${js}@example.org`] = 'three quiet herons'
        await signIn(page, `new-${js}@example.org`)
        await page.goto(base + '/staff/account/two-step')
        await page.getByText('Set up two-step sign-in').waitFor()
        await check(page, `two-step-js-${js}`, problems)
      } finally {
        await context.close()
      }
    })
  })
}

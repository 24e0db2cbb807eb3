// Listings in Chromium, with the site's JavaScript running and with it blocked: the demo editor
// adds a listing, meets the form's error state, previews it, saves it, changes it and
// publishes it at desktop size, then finds it through the public search; works the review
// queue and reads the listing's history. A family reports a problem with a service's page on
// a phone. axe-core on every page.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'

import {
  PHONE,
  axeViolations,
  exitLink,
  formatViolations,
  launchBrowser,
  openPage,
  overflowingElements,
  screenshot,
  scrollWidth,
  startServer
} from './harness.mjs'

const DESKTOP = { width: 1024, height: 800 }

let server
let browser
let base // http://localhost:PORT: browsers keep Secure (__Host-) cookies for localhost over http
let editorPassword

before(async () => {
  server = await startServer({ env: { FAMILYHELP_MIN_FILL_SECONDS: '0' } })
  base = server.baseURL.replace('127.0.0.1', 'localhost')
  editorPassword = server.output().match(/demo account: editor@example\.org password: (\S+)/)?.[1]
  assert.ok(editorPassword, 'sample mode printed no demo editor')
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

async function check (page, name, problems) {
  await page.evaluate(() => window.scrollTo(0, 0))
  await screenshot(page, name)
  const failures = []
  const violations = await axeViolations(page)
  if (violations.length > 0) failures.push(formatViolations(violations, name))
  const seen = problems().filter((m) => !/status of (401|403|404|422|429)/.test(m))
  if (seen.length > 0) failures.push(`console errors or CSP violations:\n  ${seen.join('\n  ')}`)
  if (failures.length > 0) assert.fail(`${name}:\n${failures.join('\n')}`)
}

async function signInAsEditor (page) {
  await page.goto(base + '/staff/login')
  await page.getByLabel('Email address').fill('editor@example.org')
  await page.getByLabel('Password').fill(editorPassword)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByText('Signed in as').waitFor()
}

for (const js of ['on', 'off']) {
  describe(`listings, JavaScript ${js}`, () => {
    test(`a family reports a problem with a service's page on a phone (JS ${js})`, { timeout: 90_000 }, async () => {
      const { context, page, problems } = await openPage(browser, base, { js, viewport: PHONE })
      try {
        await page.goto(base + '/services/national-drinkline')
        await page.getByRole('link', { name: 'Report a problem with this page' }).click()
        await page.getByRole('heading', { name: 'Report a problem with this page' }).waitFor()
        assert.ok(await exitLink(page), 'no Exit this page on the report form')
        const width = await scrollWidth(page)
        assert.ok(width <= PHONE.width, `the report form scrolls sideways (${width} px): ${await overflowingElements(page, PHONE.width)}`)
        await check(page, `report-form-js-${js}`, problems)

        await page.getByRole('button', { name: 'Send report' }).click()
        await page.locator('.govuk-error-summary').waitFor()
        assert.match(await page.title(), /^Error: /)
        await check(page, `report-error-js-${js}`, problems)

        await page.getByLabel('What is wrong with the page?').fill(`The number rings out and the website has moved (${js})`)
        await page.getByRole('button', { name: 'Send report' }).click()
        await page.getByRole('heading', { name: 'Thank you' }).waitFor()
        assert.ok(await exitLink(page), 'no Exit this page after sending')
        await check(page, `report-sent-js-${js}`, problems)
      } finally {
        await context.close()
      }
    })

    test(`an editor adds, previews, changes and publishes a listing (JS ${js})`, { timeout: 180_000 }, async () => {
      const { context, page, problems } = await openPage(browser, base, { js, viewport: DESKTOP })
      const name = `Quokka Family Kitchen ${js}`
      try {
        await signInAsEditor(page)
        await page.getByRole('link', { name: 'Listings', exact: true }).first().click()
        await page.getByRole('heading', { name: 'Listings' }).waitFor()
        await check(page, `listings-list-js-${js}`, problems)

        await page.getByRole('button', { name: 'Add a listing' }).click()
        await page.getByRole('heading', { name: 'Add a listing' }).waitFor()
        await page.locator('#organisation').fill('Quokka Trust')
        await page.locator('#name').fill(name)
        await page.locator('#location-0-postcode').fill('WV99 ZZZ')
        await page.getByRole('button', { name: 'Save as unpublished' }).click()
        await page.locator('.govuk-error-summary').waitFor()
        assert.equal(await page.locator('#name').inputValue(), name, 'the name typed was not kept')
        await check(page, `listings-edit-error-js-${js}`, problems)

        await page.locator('#summary').fill('Cooking and budgeting sessions for families.')
        await page.locator('#description').fill('Cook a meal together every week.\n\nChildren welcome.')
        await page.getByRole('checkbox', { name: 'Money and debt' }).check()
        await page.locator('#min-age').fill('0')
        await page.locator('#max-age').fill('18')
        await page.locator('#free').check()
        await page.locator('#delivery').check()
        await page.locator('#self-referral').check()
        await page.locator('#phone-0-number').fill('01632 960777')
        await page.locator('#location-0-address').fill('1 Lichfield Street')
        await page.locator('#location-0-town').fill('Wolverhampton')
        await page.locator('#location-0-postcode').fill('WV1 1AA')
        await page.locator('#location-0-times').fill('Monday 09:00-17:00')
        await page.getByRole('button', { name: 'Preview' }).click()
        await page.locator('.govuk-notification-banner', { hasText: 'Preview' }).waitFor()
        await page.getByRole('heading', { name }).waitFor()
        assert.ok(await page.getByText('Your changes are not saved yet').isVisible())
        await check(page, `listings-preview-js-${js}`, problems)

        await page.getByRole('button', { name: 'Save', exact: true }).click()
        await page.getByText('The listing is saved. It is not published').waitFor()
        await check(page, `listings-listing-js-${js}`, problems)

        await page.getByRole('button', { name: 'Change this listing' }).click()
        await page.locator('#summary').waitFor()
        await check(page, `listings-edit-js-${js}`, problems)
        await page.locator('#summary').fill('Cooking, budgeting and a hot meal for families.')
        await page.getByRole('button', { name: 'Save and publish' }).click()
        await page.getByText('The listing is published').waitFor()

        // Families find it straight away.
        await page.goto(base + '/search?q=' + encodeURIComponent(name))
        await page.getByRole('link', { name }).click()
        await page.getByText('Cooking, budgeting and a hot meal for families.').waitFor()
        assert.ok(await page.getByText('Monday, 9am to 5pm').isVisible())

        await page.goto(base + '/staff/listings/review')
        await page.getByRole('heading', { name: 'Listings that need review' }).waitFor()
        assert.ok(await page.getByText('problems reported', { exact: false }).first().isVisible())
        await check(page, `listings-review-js-${js}`, problems)
        await page.getByRole('button', { name: /^Mark as reviewed/ }).first().click()
        await page.getByText('The listing is marked as reviewed').waitFor()

        await page.goto(base + '/staff/listings?q=' + encodeURIComponent(name))
        await page.getByRole('link', { name }).click()
        await page.getByRole('link', { name: 'History of changes' }).click()
        await page.getByRole('heading', { name: 'History of changes' }).waitFor()
        assert.ok(await page.getByText('changed listing').isVisible())
        assert.ok(await page.getByText('Demo Editor').first().isVisible())
        await check(page, `listings-history-js-${js}`, problems)
      } finally {
        await context.close()
      }
    })

    test(`an editor exports the listings and imports a file (JS ${js})`, { timeout: 120_000 }, async () => {
      const { context, page, problems } = await openPage(browser, base, { js, viewport: DESKTOP })
      try {
        await signInAsEditor(page)
        await page.goto(base + '/staff/listings')
        await page.getByRole('link', { name: 'Import or export' }).click()
        await page.getByRole('heading', { name: 'Import and export listings' }).waitFor()
        await check(page, `listings-transfer-js-${js}`, problems)

        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.getByRole('link', { name: 'Download as Open Referral UK JSON' }).click()
        ])
        assert.match(download.suggestedFilename(), /^familyhelp-listings-\d{4}-\d{2}-\d{2}-oruk\.json$/)
        const exported = JSON.parse(await streamText(await download.createReadStream()))
        assert.ok(exported.total_items > 100, `the export holds ${exported.total_items} services`)

        // Nothing chosen: the error is on the form.
        await page.getByRole('button', { name: 'Import' }).click()
        await page.locator('.govuk-error-summary').waitFor()
        assert.match(await page.title(), /^Error: /)
        await check(page, `listings-import-error-js-${js}`, problems)

        // One listing renamed and one broken: the report says which is which.
        const [first, second] = exported.contents
        first.name = `${first.name} (imported, JS ${js})`
        delete second.organization
        delete second.organization_id
        await page.getByLabel('Upload a file').setInputFiles({
          name: 'two-listings.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify([first, second]))
        })
        await page.getByRole('button', { name: 'Import' }).click()
        await page.getByRole('heading', { name: 'Import finished' }).waitFor()
        assert.ok(await page.getByText('0 added, 1 updated, 0 unchanged, 1 skipped').isVisible())
        assert.ok(await page.getByText('the organisation is missing', { exact: false }).isVisible())
        await check(page, `listings-import-report-js-${js}`, problems)

        await page.getByRole('link', { name: first.name }).click()
        await page.getByRole('heading', { name: first.name }).waitFor()
      } finally {
        await context.close()
      }
    })
  })
}

async function streamText (stream) {
  const chunks = []
  for await (const chunk of stream) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

// Every public page, at 360 px wide, with the site's JavaScript running and with it blocked:
// no WCAG 2.2 A/AA violations that axe-core can find, nothing scrolls sideways, an "Exit this
// page" link that leaves the site, and no console errors or CSP violations. A full-page
// screenshot of each is saved in e2e/artifacts/ for people to look at.

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
  serviceIds,
  startServer
} from './harness.mjs'

const NATIONAL_HELPLINE = 'national-national-domestic-abuse-helpline'

let server
let browser
// Filled in by `before` from a real results page, so the tests follow the seed data.
const ids = { local: null }

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
  const { ids: found } = await serviceIds(server.baseURL, 'need=housing&postcode=WS3+2DA')
  ids.local = found.find((id) => !id.startsWith('national-'))
  assert.ok(ids.local, 'a housing search near WS3 2DA should list at least one local service')
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

// name: used for the screenshot; path: a function so it can use ids found at run time.
const PAGES = [
  { name: 'home', path: () => '/' },
  { name: 'search-words', path: () => '/search?q=domestik+abuse' },
  { name: 'search-need-postcode', path: () => '/search?need=housing&postcode=WS3+2DA' },
  { name: 'search-no-results', path: () => '/search?q=xylophone', expect: { text: 'No services found' } },
  { name: 'search-postcode-error', path: () => '/search?postcode=WV1+1A', expect: { errorSummary: true } },
  { name: 'search-age-error', path: () => '/search?age=40', expect: { errorSummary: true } },
  { name: 'service-local', path: () => `/services/${ids.local}` },
  { name: 'service-national-helpline', path: () => `/services/${NATIONAL_HELPLINE}` },
  { name: 'refer', path: () => '/refer' },
  { name: 'refer-service', path: () => `/refer?service=${ids.local}` },
  { name: 'cover-your-tracks', path: () => '/cover-your-tracks' },
  { name: 'accessibility', path: () => '/accessibility' },
  { name: 'privacy', path: () => '/privacy' },
  { name: 'data-sources', path: () => '/data-sources' },
  { name: 'not-found', path: () => '/no-such-page-here', expect: { status: 404 } }
]

for (const js of ['on', 'off']) {
  describe(`public pages at 360 px, JavaScript ${js}`, () => {
    for (const p of PAGES) {
      test(`${p.name} (JS ${js})`, { timeout: 60_000 }, async () => {
        const { context, page, problems } = await openPage(browser, server.baseURL, { js })
        try {
          const url = server.baseURL + p.path()
          const res = await page.goto(url)
          const failures = []
          const wantStatus = p.expect?.status ?? 200
          if (res.status() !== wantStatus) failures.push(`GET ${p.path()}: status ${res.status()}, want ${wantStatus}`)

          // Prove the JS on/off switch did what it says, or the rest means little.
          const jsRan = await page.evaluate(() => document.body.classList.contains('govuk-frontend-supported'))
          if (js === 'on' && !jsRan) failures.push('the site\'s script did not run (body lacks govuk-frontend-supported)')
          if (js === 'off' && jsRan) failures.push('the site\'s script ran although it was blocked')

          await screenshot(page, `${p.name}-js-${js}`)

          const violations = await axeViolations(page)
          if (violations.length > 0) failures.push(formatViolations(violations, `${p.path()} (JS ${js})`))

          const width = await scrollWidth(page)
          if (width > PHONE.width) {
            const wide = await overflowingElements(page, PHONE.width)
            failures.push(`the page scrolls sideways at ${PHONE.width} px: scrollWidth ${width}\n  ${wide.join('\n  ')}`)
          }

          const exit = await exitLink(page)
          if (!exit) {
            failures.push('no "Exit this page" link')
          } else {
            let offSite = false
            try {
              const u = new URL(exit.href, url)
              offSite = /^https?:$/.test(u.protocol) && u.origin !== new URL(url).origin &&
                !['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)
            } catch {}
            if (!offSite) failures.push(`"Exit this page" goes to ${exit.href}, not to another site`)
            if (!(await exit.link.isVisible())) failures.push('"Exit this page" is not visible')
          }

          if (p.expect?.text && !(await page.getByText(p.expect.text).first().isVisible())) {
            failures.push(`expected to see "${p.expect.text}"`)
          }
          if (p.expect?.errorSummary) {
            if (!(await page.locator('.govuk-error-summary').isVisible())) failures.push('expected a GOV.UK error summary')
            if (!(await page.title()).startsWith('Error: ')) failures.push(`title "${await page.title()}" should start with "Error: "`)
          }

          const seen = problems().filter((m) =>
            // A 404 page is reported by Chromium as a failed load of the page itself.
            !(wantStatus === 404 && m.includes('status of 404') && m.includes(url)))
          if (seen.length > 0) failures.push(`console errors or CSP violations:\n  ${seen.join('\n  ')}`)

          if (failures.length > 0) assert.fail(`${p.name} (JS ${js}), ${p.path()}:\n${failures.join('\n')}`)
        } finally {
          await context.close()
        }
      })
    }
  })
}

// Every service in the directory, not just the sample above: long website addresses and email
// addresses are where a phone layout breaks. Layout is CSS, so the site's script runs here.
//
// KNOWN SITE BUG (this test fails until it is fixed in views/templates/pages/service.html):
// the "Website https://…" link under "How to get in touch" does not wrap, so 15 of the 125
// seeded service pages scroll sideways at 360 px (up to 424 px wide). Adding GOV.UK's
// `govuk-!-text-break-word` class (already in the compiled CSS) to that <ul class="govuk-list">
// fixes every one of them.
describe('every service page at 360 px', () => {
  test('no service page scrolls sideways', { timeout: 90_000 }, async () => {
    const all = []
    for (let n = 1; n <= 50; n++) {
      const { ids: found } = await serviceIds(server.baseURL, `page=${n}`)
      const fresh = found.filter((id) => !all.includes(id))
      if (fresh.length === 0) break
      all.push(...fresh)
    }
    assert.ok(all.length > 50, `expected the whole seeded directory, found ${all.length} services`)
    const { context, page, problems } = await openPage(browser, server.baseURL, { js: 'on' })
    try {
      const wide = []
      for (const id of all) {
        const res = await page.goto(`${server.baseURL}/services/${id}`)
        assert.equal(res.status(), 200, `/services/${id}`)
        const width = await scrollWidth(page)
        if (width > PHONE.width) {
          const culprits = await page.evaluate((w) => [...document.querySelectorAll('main a, main p, main li, main dd, main h1, main h2')]
            .filter((el) => el.getBoundingClientRect().right > w + 0.5 && el.children.length === 0)
            .map((el) => `<${el.tagName.toLowerCase()}> "${el.textContent.trim().slice(0, 80)}"`), PHONE.width)
          wide.push(`/services/${id}: ${width} px wide, because of ${culprits.join(', ') || (await overflowingElements(page, PHONE.width)).join(', ')}`)
        }
      }
      if (wide.length > 0) {
        await page.goto(`${server.baseURL}${wide[0].split(':')[0]}`)
        await screenshot(page, 'service-too-wide-js-on')
      }
      if (wide.length > 0) assert.fail(`${wide.length} of ${all.length} service pages scroll sideways at ${PHONE.width} px:\n  ${wide.join('\n  ')}`)
      assert.deepEqual(problems(), [])
    } finally {
      await context.close()
    }
  })
})

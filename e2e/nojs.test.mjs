// A browser with JavaScript really turned off (javaScriptEnabled: false), not just the site's
// script blocked: the pages load and the search journey works. axe cannot run here, so the
// accessibility checks without the site's script are in pages.test.mjs.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'

import { EXIT_URL_GLOB, launchBrowser, openPage, screenshot, startServer } from './harness.mjs'

let server
let browser

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

describe('JavaScript disabled in the browser, 360 px', () => {
  test('pages load and the search journey works', { timeout: 90_000 }, async () => {
    const { context, page } = await openPage(browser, server.baseURL, { js: 'disabled' })
    try {
      await page.goto(server.baseURL + '/')
      assert.doesNotMatch(await page.locator('body').getAttribute('class'), /js-enabled|govuk-frontend-supported/,
        'no script ran: the site\'s script marks <body> when it runs')

      for (const [path, status] of [
        ['/', 200],
        ['/search?q=domestik+abuse', 200],
        ['/search?need=housing&postcode=WS3+2DA', 200],
        ['/search?q=xylophone', 200],
        ['/search?postcode=WV1+1A', 200],
        ['/search?age=40', 200],
        ['/services/national-national-domestic-abuse-helpline', 200],
        ['/refer', 200],
        ['/cover-your-tracks', 200],
        ['/accessibility', 200],
        ['/privacy', 200],
        ['/data-sources', 200],
        ['/no-such-page-here', 404]
      ]) {
        const res = await page.goto(server.baseURL + path)
        assert.equal(res.status(), status, `GET ${path}`)
        assert.equal(await page.locator('h1').count(), 1, `${path} has one h1`)
        assert.ok(await page.locator('.govuk-exit-this-page a', { hasText: 'Exit this page' }).isVisible(),
          `${path} shows "Exit this page"`)
      }

      // The journey: words and postcode from the home page, a result, its page, ask for help.
      await page.goto(server.baseURL + '/')
      await page.getByLabel('What do you need help with?').fill('domestik abuse')
      await page.getByLabel('Postcode').fill('wv1 1aa')
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/search'),
        page.getByRole('button', { name: 'Search', exact: true }).click()
      ])
      assert.match(await page.locator('#results-heading').innerText(), /near WV1 1AA/)
      assert.ok(await page.locator('.fh-result').count() > 0, 'results without JavaScript')
      assert.match(await page.locator('.fh-result').first().innerText(), /miles? away/)
      await screenshot(page, 'journey-results-js-disabled')

      const first = page.locator('.fh-result h3 a').first()
      const href = await first.getAttribute('href')
      await Promise.all([page.waitForURL((u) => u.pathname === href), first.click()])
      assert.equal(await page.title(), 'Service details – Family Help')
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/refer'),
        page.getByRole('link', { name: 'Ask for help' }).or(page.getByRole('button', { name: 'Ask for help' })).first().click()
      ])
      assert.equal(await page.locator('h1').innerText(), 'Ask for help')

      // A wrong postcode comes back with the error and everything typed.
      await page.goto(server.baseURL + '/')
      await page.getByLabel('What do you need help with?').fill('domestik abuse')
      await page.getByLabel('Postcode').fill('WV1 1A')
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/search'),
        page.getByRole('button', { name: 'Search', exact: true }).click()
      ])
      assert.ok(await page.locator('.govuk-error-summary a[href="#postcode"]').isVisible())
      assert.equal(await page.getByLabel('What do you need help with?').inputValue(), 'domestik abuse')

      // "Exit this page" is a plain link, so it works without JavaScript too.
      await page.route(EXIT_URL_GLOB, (route) => route.fulfill({
        status: 200, contentType: 'text/html', body: '<!doctype html><title>Weather</title>'
      }))
      await Promise.all([
        page.waitForURL('https://www.bbc.co.uk/**'),
        page.locator('.govuk-exit-this-page a', { hasText: 'Exit this page' }).click()
      ])
    } finally {
      await context.close()
    }
  })
})

// What a parent does on a phone: search by words and postcode, read a service, ask for help;
// get a postcode wrong and recover; use the keyboard; leave in a hurry; filter results without
// JavaScript. And the titles that show in tabs and history never give a search away.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'

import {
  EXIT_URL_GLOB,
  launchBrowser,
  openPage,
  parseMiles,
  screenshot,
  serviceIds,
  startServer
} from './harness.mjs'

const SERVICE_TITLE = 'Service details – Family Help'

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

/** Opens a page, runs fn, and always closes the context. */
async function withPage (opts, fn) {
  const ctx = await openPage(browser, server.baseURL, opts)
  try {
    return await fn(ctx)
  } finally {
    await ctx.context.close()
  }
}

/** Waits until the site's script has set up the given GOV.UK component. */
function componentReady (page, moduleName) {
  return page.waitForSelector(`[data-module="${moduleName}"][data-${moduleName}-init]`, { state: 'attached' })
}

/** Answers the off-site "Exit this page" destination locally, so nothing leaves the machine. */
async function fakeExitSite (page) {
  const hits = []
  await page.route(EXIT_URL_GLOB, (route) => {
    hits.push(route.request().url())
    return route.fulfill({
      status: 200,
      contentType: 'text/html',
      body: '<!doctype html><html lang="en"><title>Weather</title><h1>Weather</h1></html>'
    })
  })
  return hits
}

function activeElement (page) {
  return page.evaluate(() => {
    const el = document.activeElement
    return {
      tag: el?.tagName.toLowerCase(),
      id: el?.id || '',
      text: (el?.textContent || '').replace(/\s+/g, ' ').trim(),
      className: typeof el?.className === 'string' ? el.className : '',
      href: el?.getAttribute('href') || ''
    }
  })
}

function assertNoProblems (problems) {
  const seen = problems()
  assert.deepEqual(seen, [], `console errors or CSP violations:\n  ${seen.join('\n  ')}`)
}

describe('search journey at 360 px, JavaScript on', () => {
  test('words and postcode, nearest first, service page, ask for help', { timeout: 60_000 }, async () => {
    await withPage({ js: 'on' }, async ({ page, problems }) => {
      await page.goto(server.baseURL + '/')
      await page.getByLabel('What do you need help with?').fill('domestik abuse')
      await page.getByLabel('Postcode').fill('wv1 1aa')
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/search'),
        page.getByRole('button', { name: 'Search', exact: true }).click()
      ])

      const heading = page.locator('#results-heading')
      assert.match(await heading.innerText(), /near WV1 1AA/, 'results heading should say where')

      const results = page.locator('.fh-result')
      const n = await results.count()
      assert.ok(n > 0, 'expected results for "domestik abuse" near WV1 1AA')
      const distances = await page.locator('.fh-result .fh-result__distance').allInnerTexts()
      assert.ok(distances.length > 0, 'expected results with a distance')
      for (const d of distances) assert.match(d, /miles? away/, `distance text "${d}"`)
      const miles = distances.map(parseMiles)
      assert.ok(miles.every((m) => m !== null), `could not read distances ${JSON.stringify(distances)}`)
      assert.deepEqual(miles, [...miles].sort((a, b) => a - b), `results should be nearest first: ${distances.join(', ')}`)
      assert.ok(await results.first().locator('.fh-result__distance').count() === 1,
        'the first result should be a nearby service with a distance')
      await screenshot(page, 'journey-results-js-on')

      const first = results.first().locator('h3 a')
      const name = (await first.innerText()).trim()
      const href = await first.getAttribute('href')
      await Promise.all([page.waitForURL((u) => u.pathname === href), first.click()])
      assert.equal(await page.title(), SERVICE_TITLE, `service page title (service "${name}")`)
      assert.equal((await page.locator('h1').innerText()).includes(name), true, 'the service page shows the service name in its heading')

      const ask = page.getByRole('button', { name: 'Ask for help' })
      await Promise.all([page.waitForURL((u) => u.pathname === '/refer'), ask.click()])
      assert.equal(new URL(page.url()).searchParams.get('service'), href.replace('/services/', ''))
      assert.equal(await page.locator('h1').innerText(), 'Ask for help')
      assertNoProblems(problems)
    })
  })

  test('an invalid postcode: error summary takes focus and links to the field, words kept', { timeout: 60_000 }, async () => {
    await withPage({ js: 'on' }, async ({ page, problems }) => {
      await page.goto(server.baseURL + '/')
      await page.getByLabel('What do you need help with?').fill('domestik abuse')
      await page.getByLabel('Postcode').fill('WV1 1A')
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/search'),
        page.getByRole('button', { name: 'Search', exact: true }).click()
      ])
      const summary = page.locator('.govuk-error-summary')
      assert.ok(await summary.isVisible(), 'expected the GOV.UK error summary')
      assert.match(await page.title(), /^Error: /)
      await componentReady(page, 'govuk-error-summary')
      await page.waitForFunction(() => document.activeElement?.classList.contains('govuk-error-summary'), null, { timeout: 5_000 })
        .catch(async () => assert.fail(`the error summary should have focus; focus is on ${JSON.stringify(await activeElement(page))}`))

      assert.equal(await page.getByLabel('What do you need help with?').inputValue(), 'domestik abuse', 'the words typed are kept')
      assert.equal(await page.getByLabel('Postcode').inputValue(), 'WV1 1A', 'the postcode typed is kept, to correct it')
      assert.ok(await page.locator('#postcode.govuk-input--error').count() === 1, 'the postcode field is marked as in error')
      assert.match(await page.locator('#postcode').getAttribute('aria-describedby'), /postcode-error/)

      const link = summary.locator('a[href="#postcode"]')
      assert.equal(await link.count(), 1, 'the error summary links to the postcode field')
      await screenshot(page, 'journey-postcode-error-js-on')
      await link.click()
      const focused = await activeElement(page)
      assert.equal(focused.id, 'postcode', `following the error link focuses the postcode field, not ${JSON.stringify(focused)}`)
      assertNoProblems(problems)
    })
  })
})

describe('keyboard at 360 px', () => {
  for (const js of ['on', 'off']) {
    test(`the first Tab focuses "Skip to main content" (JS ${js})`, { timeout: 30_000 }, async () => {
      await withPage({ js }, async ({ page, problems }) => {
        await page.goto(server.baseURL + '/')
        if (js === 'on') await componentReady(page, 'govuk-skip-link')
        await page.keyboard.press('Tab')
        const focused = await activeElement(page)
        assert.equal(focused.text, 'Skip to main content', `first Tab focused ${JSON.stringify(focused)}`)
        assert.equal(focused.href, '#main-content')
        assert.ok(await page.locator('.govuk-skip-link').isVisible(), 'the skip link shows when focused')
        await page.keyboard.press('Enter')
        assert.equal(new URL(page.url()).hash, '#main-content')
        if (js === 'on') {
          // GOV.UK's skip link script moves focus itself, so screen readers start at the content.
          const after = await activeElement(page)
          assert.equal(after.id, 'main-content', `after the skip link, focus is on ${JSON.stringify(after)}`)
        }
        assertNoProblems(problems)
      })
    })

    test(`"Exit this page" is reachable by keyboard and leaves the site (JS ${js})`, { timeout: 30_000 }, async () => {
      await withPage({ js }, async ({ page, problems }) => {
        const hits = await fakeExitSite(page)
        await page.goto(server.baseURL + '/')
        if (js === 'on') await componentReady(page, 'govuk-exit-this-page')
        let focused
        let tabs = 0
        for (; tabs < 8; tabs++) {
          await page.keyboard.press('Tab')
          focused = await activeElement(page)
          if (focused.text.includes('Exit this page')) break
        }
        assert.ok(focused.text.includes('Exit this page'), `"Exit this page" not reached in 8 Tabs; last focus ${JSON.stringify(focused)}`)
        assert.ok(tabs + 1 <= 3, `"Exit this page" should be among the first 3 Tab stops, was Tab ${tabs + 1}`)
        await Promise.all([
          page.waitForURL('https://www.bbc.co.uk/**'),
          page.keyboard.press('Enter')
        ])
        assert.equal(hits.length, 1)
        assert.equal(await page.title(), 'Weather')
        assertNoProblems(problems)
      })
    })
  }

  test('pressing Shift three times leaves the site (JS on)', { timeout: 30_000 }, async () => {
    await withPage({ js: 'on' }, async ({ page, problems }) => {
      const hits = await fakeExitSite(page)
      await page.goto(server.baseURL + '/search?q=domestik+abuse')
      await componentReady(page, 'govuk-exit-this-page')
      const before = page.url()
      await Promise.all([
        page.waitForURL('https://www.bbc.co.uk/**', { timeout: 10_000 }),
        (async () => {
          for (let i = 0; i < 3; i++) await page.keyboard.press('Shift')
        })()
      ])
      assert.notEqual(page.url(), before)
      assert.match(page.url(), /^https:\/\/www\.bbc\.co\.uk\//)
      assert.equal(hits.length, 1, 'the browser went to the exit page once')
      assertNoProblems(problems)
    })
  })
})

describe('filters at 360 px, JavaScript off', () => {
  test('"Filter results": free only and a need, shown as active, removable', { timeout: 60_000 }, async () => {
    await withPage({ js: 'off' }, async ({ page, problems }) => {
      await page.goto(server.baseURL + '/search?postcode=WS3+2DA')
      const details = page.locator('details', { has: page.locator('summary', { hasText: 'Filter results' }) })
      assert.equal(await details.count(), 1, 'a "Filter results" <details>')
      assert.equal(await details.getAttribute('open'), null, 'filters start closed when none is set')
      const free = page.getByLabel('Free services only')
      assert.equal(await free.isVisible(), false, 'the filters are hidden until opened')

      await page.locator('summary', { hasText: 'Filter results' }).click()
      assert.notEqual(await details.getAttribute('open'), null, 'the summary opens the filters without JavaScript')
      await free.check()
      await page.getByLabel('Housing', { exact: true }).check()
      await Promise.all([
        page.waitForURL((u) => u.searchParams.get('free') === 'yes'),
        page.getByRole('button', { name: 'Search', exact: true }).click()
      ])
      const url = new URL(page.url())
      assert.deepEqual(url.searchParams.getAll('need'), ['housing'])
      assert.equal(url.searchParams.get('postcode'), 'WS3 2DA', 'the postcode is kept')

      // Active filters are listed above the results (the <details> may be open or closed), the
      // boxes stay ticked, and each filter can be removed.
      assert.ok(await free.isChecked(), '"Free services only" stays ticked')
      assert.ok(await page.getByLabel('Housing', { exact: true }).isChecked(), '"Housing" stays ticked')
      const showing = page.locator('p', { hasText: 'Showing:' })
      assert.equal(await showing.count(), 1, 'a "Showing:" line lists the active filters')
      const showingText = await showing.innerText()
      assert.match(showingText, /Housing/)
      assert.match(showingText, /free only/)
      const facts = await page.locator('.fh-result .fh-result__facts').allInnerTexts()
      assert.ok(facts.length > 0, 'some free housing services near WS3 2DA')
      for (const f of facts) assert.match(f, /\bFree\b/, `a result that is not free: ${f}`)
      await screenshot(page, 'journey-filters-active-js-off')

      const removeFree = page.getByRole('link', { name: 'remove free only' })
      assert.equal(await removeFree.count(), 1, 'a "remove" link for "free only" with an accessible name')
      await Promise.all([
        page.waitForURL((u) => !u.searchParams.has('free')),
        removeFree.click()
      ])
      const after = new URL(page.url())
      assert.deepEqual(after.searchParams.getAll('need'), ['housing'], 'removing one filter keeps the others')
      assert.equal(after.searchParams.get('postcode'), 'WS3 2DA')
      assert.equal(await free.isChecked(), false)
      assert.doesNotMatch(await showing.innerText(), /free only/)
      assert.equal(await page.getByRole('link', { name: 'remove Housing' }).count(), 1)
      assertNoProblems(problems)
    })
  })
})

describe('neutral titles', () => {
  const SEARCHES = [
    { q: 'domestik abuse' },
    { q: 'drinking', postcode: 'WV1 1AA' },
    { q: 'debt worries', postcode: 'WS3 2DA' },
    { need: 'housing', postcode: 'WS3 2DA' },
    { need: 'mental-health' },
    { q: 'xylophone' },
    { q: 'domestik abuse', postcode: 'WV1 1A' }
  ]

  function wordsOf (s) {
    const words = []
    if (s.q) words.push(...s.q.toLowerCase().split(/\s+/).filter((w) => w.length >= 3))
    if (s.need) words.push(...s.need.toLowerCase().split('-').filter((w) => w.length >= 3), s.need)
    if (s.postcode) {
      const pc = s.postcode.toLowerCase()
      words.push(pc, pc.replace(/\s+/g, ''), pc.split(/\s+/)[0])
    }
    return words
  }

  function assertNeutral (title, words, where) {
    const lower = title.toLowerCase()
    for (const w of words) assert.ok(!lower.includes(w), `title "${title}" of ${where} contains "${w}"`)
  }

  test('search results and service pages never carry the search words', { timeout: 90_000 }, async () => {
    await withPage({ js: 'on' }, async ({ page, problems }) => {
      for (const s of SEARCHES) {
        const query = new URLSearchParams(s).toString()
        await page.goto(`${server.baseURL}/search?${query}`)
        const words = wordsOf(s)
        const title = await page.title()
        assertNeutral(title, words, `/search?${query}`)
        assert.match(title, /^(Error: )?Search – Family Help$/, `search title for ?${query}`)

        const { ids } = await serviceIds(server.baseURL, query)
        for (const id of ids.slice(0, 3)) {
          await page.goto(`${server.baseURL}/services/${id}`)
          const serviceTitle = await page.title()
          assert.equal(serviceTitle, SERVICE_TITLE, `/services/${id}`)
          assertNeutral(serviceTitle, words, `/services/${id}`)
          const name = (await page.locator('h1').innerText()).replace(/\s*Sample$/, '').trim().toLowerCase()
          assert.ok(!serviceTitle.toLowerCase().includes(name), `title names the service: ${serviceTitle}`)
        }
      }
      assertNoProblems(problems)
    })
  })
})

describe('"Exit this page" while scrolling, 360 px', () => {
  for (const js of ['on', 'off']) {
    test(`stays on screen and never hides the focused element (JS ${js})`, { timeout: 60_000 }, async () => {
      await withPage({ js }, async ({ page, problems }) => {
        // A long page: a dozen results or more.
        await page.goto(server.baseURL + '/search?need=housing&postcode=WS3+2DA')
        const exit = page.locator('.govuk-exit-this-page a', { hasText: 'Exit this page' })
        for (const fraction of [0.25, 0.5, 0.9]) {
          await page.evaluate((f) => window.scrollTo(0, (document.documentElement.scrollHeight - window.innerHeight) * f), fraction)
          const box = await exit.boundingBox()
          assert.ok(box && box.y >= 0 && box.y + box.height <= page.viewportSize().height,
            `"Exit this page" scrolled off screen at ${fraction * 100}% down: ${JSON.stringify(box)}`)
        }

        // WCAG 2.2 "Focus not obscured": going back up with Shift+Tab, the sticky button must
        // not cover whatever has focus. (GOV.UK's script ignores Shift used with Tab.)
        await page.locator('footer a').last().focus()
        const hidden = []
        let steps = 0
        for (; steps < 120; steps++) {
          await page.keyboard.press('Shift+Tab')
          const r = await page.evaluate(() => {
            const el = document.activeElement
            if (!el || el === document.body) return null
            if (el.closest('.govuk-exit-this-page')) return { done: true }
            const a = el.getBoundingClientRect()
            const bar = document.querySelector('.govuk-exit-this-page').getBoundingClientRect()
            const overlap = Math.max(0, Math.min(a.bottom, bar.bottom) - Math.max(a.top, bar.top))
            return { covered: overlap / Math.max(1, a.height), what: `${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}"` }
          })
          if (!r || r.done) break
          if (r.covered >= 0.99) hidden.push(r.what)
        }
        assert.ok(steps > 10, `expected to Shift+Tab through the page, stopped after ${steps}`)
        assert.equal(page.url().startsWith(server.baseURL), true, 'Shift+Tab must not trigger "Exit this page"')
        assert.deepEqual(hidden, [], `focused elements hidden under the sticky "Exit this page": ${hidden.join(', ')}`)
        assertNoProblems(problems)
      })
    })
  }
})

// The whole story, on a 360 × 640 phone, with the site's JavaScript on and again with it off:
// a family searches for domestic abuse support near WV10 0QP, opens a service and asks for
// help; a community worker refers another family; the team member their postcode is routed to
// signs in, sees both and closes one; an editor changes a listing and a search finds the
// change; "Exit this page" leaves the site. Every step is photographed to
// e2e/artifacts/story-js-<on|off>-NN-<step>.png for people to look at.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'

import { EXIT_URL_GLOB, launchBrowser, openPage, screenshot, startServer } from './harness.mjs'

// The phone the issue names: smaller than most, so nothing is tested with room to spare.
const PHONE_640 = { width: 360, height: 640 }
const ROUTED_TEAM = 'Wolverhampton North East Family Help team' // covers WV10
const MEMBER = 'wv-north-east@example.org'

let server
let browser
const passwords = {}

before(async () => {
  server = await startServer({ env: { FAMILYHELP_MIN_FILL_SECONDS: '0' } })
  browser = await launchBrowser()
  for (const m of server.output().matchAll(/demo account: (\S+) password: (\S+)/g)) passwords[m[1]] = m[2]
  assert.ok(passwords[MEMBER] && passwords['editor@example.org'], 'sample mode printed no demo accounts')
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

/**
 * Numbers the photographs of one run in the order they were taken, and checks on each that
 * nothing makes the page scroll sideways on the phone.
 */
function camera (page, js) {
  let n = 0
  return async (step) => {
    // From the top: "Exit this page" sticks to the top of the screen, and a full-page
    // photograph taken scrolled down would show it over the middle of the page.
    await page.evaluate(() => window.scrollTo(0, 0))
    await screenshot(page, `story-js-${js}-${String(++n).padStart(2, '0')}-${step}`)
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    assert.ok(width <= PHONE_640.width, `${step}: the page is ${width} px wide on a ${PHONE_640.width} px phone`)
  }
}

async function next (page) {
  await page.getByRole('button', { name: /^(Continue|Save and go back)/ }).click()
}

/**
 * Answers the referral pages after "Who is asking?", for a family at WV10 0QP, and sends it.
 * Returns the reference on the confirmation page.
 */
async function answerAndSend (page, snap, { story, adult, phone }) {
  await page.waitForURL('**/refer/danger')
  await page.getByRole('radio', { name: 'No' }).check()
  await snap('danger')
  await next(page)

  await page.waitForURL('**/refer/needs')
  await page.locator('input[name="needs"][value="domestic-abuse"]').check()
  await page.locator('[name="story"]').fill(story)
  await snap('needs')
  await next(page)

  await page.waitForURL('**/refer/adult')
  await page.locator('#adult-name').fill(adult)
  await snap('adult')
  await next(page)

  await page.waitForURL('**/refer/children')
  await page.locator('#child-0-name').fill('Sam')
  await page.locator('#child-0-age').fill('6')
  await snap('children')
  await next(page)

  await page.waitForURL('**/refer/home')
  await page.locator('#postcode').fill('WV10 0QP')
  await snap('home')
  await next(page)

  await page.waitForURL('**/refer/network')
  await page.locator('input[name="nobody"]').check()
  await snap('network')
  await next(page)

  await page.waitForURL('**/refer/contact')
  await page.getByLabel('Text message').check()
  await page.getByLabel('Safe phone number').fill(phone)
  await page.getByRole('radio', { name: 'No' }).check()
  await snap('contact')
  await next(page)

  await page.waitForURL('**/refer/consent')
  await page.locator('input[name="consent"]').check()
  await snap('consent')
  await next(page)

  await page.waitForURL('**/refer/check')
  await page.getByText(story).waitFor()
  await snap('check')
  await page.getByRole('button', { name: 'Send request' }).click()

  await page.waitForURL('**/refer/done')
  const ref = (await page.locator('.fh-reference').textContent()).trim()
  assert.match(ref, /^FH-[2-9A-Z]{4}-[2-9A-Z]{4}$/)
  assert.ok(await page.getByText(ROUTED_TEAM).first().isVisible(), `WV10 0QP did not reach ${ROUTED_TEAM}`)
  await snap('sent')
  return ref
}

async function signIn (page, snap, email) {
  await page.goto(server.baseURL + '/staff/login')
  await page.getByLabel('Email address').fill(email)
  await page.getByLabel('Password').fill(passwords[email])
  await snap('sign-in')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByText('Signed in as').waitFor()
}

async function signOut (page) {
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByRole('heading', { name: 'Sign in' }).waitFor()
}

for (const js of ['on', 'off']) {
  describe(`the whole story at 360 × 640, JavaScript ${js}`, () => {
    test(`family, community worker, team, editor, exit (JS ${js})`, { timeout: 240_000 }, async () => {
      const { context, page, problems } = await openPage(browser, server.baseURL, { js, viewport: PHONE_640 })
      const snap = camera(page, js)
      try {
        // 1. A family searches for domestic abuse support near WV10 0QP.
        await page.goto(server.baseURL + '/')
        await page.getByLabel('What do you need help with?').fill('domestic abuse')
        await page.getByLabel('Postcode').fill('WV10 0QP')
        await snap('home-page')
        await Promise.all([
          page.waitForURL((u) => u.pathname === '/search'),
          page.getByRole('button', { name: 'Search', exact: true }).click()
        ])
        assert.match(await page.locator('#results-heading').innerText(), /near WV10 0QP/)
        const nearby = page.locator('.fh-result', { has: page.locator('.fh-result__distance') }).first()
        await nearby.waitFor()
        await snap('results')

        // … opens the nearest service and asks for help.
        const link = nearby.locator('h3 a')
        const serviceName = (await link.innerText()).trim()
        const serviceID = (await link.getAttribute('href')).replace('/services/', '')
        await link.click()
        await page.locator('h1', { hasText: serviceName }).waitFor()
        await snap('service')
        await page.getByRole('button', { name: 'Ask for help' }).click()
        await page.waitForURL((u) => u.pathname === '/refer')
        await snap('ask-for-help')
        await page.getByRole('button', { name: 'Start now' }).click()
        await page.waitForURL('**/refer/who')
        await page.getByLabel('I am a parent or carer, asking for my family').check()
        await snap('who-family')
        await next(page)
        const familyStory = `He checks my phone and I am scared to go home (${js})`
        const familyRef = await answerAndSend(page, snap, { story: familyStory, adult: 'Jo Example', phone: '07700 900555' })

        // 2. A community worker refers another family, who agreed to it.
        await page.goto(server.baseURL + '/refer')
        await page.getByRole('button', { name: 'Start now' }).click()
        await page.waitForURL('**/refer/who')
        await page.getByLabel('I work with the family').check()
        await snap('who-worker')
        await next(page)
        await page.waitForURL('**/refer/professional')
        await page.getByLabel('Your name').fill('Pat Worker')
        await page.getByLabel('Organisation').fill('Low Hill Community Centre')
        await page.getByLabel('Your role').fill('Family support worker')
        await page.getByLabel('Work email address').fill('pat.worker@example.org')
        await page.getByLabel('Work phone number').fill('01902 000111')
        await page.getByRole('radio', { name: 'Yes' }).check()
        await snap('worker-details')
        await next(page)
        const workerStory = `Mum has told me about violence at home and wants support (${js})`
        const workerRef = await answerAndSend(page, snap, { story: workerStory, adult: 'Kim Example', phone: '07700 900556' })
        assert.notEqual(workerRef, familyRef)

        // 3. The team member it was routed to signs in, sees both, and closes one.
        await signIn(page, snap, MEMBER)
        await page.getByRole('link', { name: 'Referrals', exact: true }).first().click()
        await page.getByRole('link', { name: familyRef }).waitFor()
        await page.getByRole('link', { name: workerRef }).waitFor()
        await snap('team-inbox')
        await page.getByRole('link', { name: workerRef }).click()
        await page.getByText(workerStory).waitFor()
        assert.ok(await page.getByText('Low Hill Community Centre').first().isVisible(), 'the worker is not shown on the referral')
        await snap('team-referral')
        await page.getByLabel('Closed').check()
        await page.locator('#outcome').selectOption({ index: 1 })
        await page.getByRole('button', { name: 'Update status' }).click()
        await page.getByText('Status: Closed').waitFor()
        await snap('team-closed')
        await signOut(page)

        // 4. An editor changes a listing; a family's search finds the change.
        const word = `Quillbrook${js}` // a word no listing had before
        assert.equal(await page.request.get(server.baseURL + '/search?q=' + word).then((r) => r.text()).then((t) => t.includes(serviceName)), false)
        await signIn(page, snap, 'editor@example.org')
        await page.getByRole('link', { name: 'Listings', exact: true }).first().click()
        await page.getByRole('heading', { name: 'Listings' }).waitFor()
        await page.goto(server.baseURL + '/staff/listings/' + serviceID)
        await page.getByRole('heading', { name: serviceName }).waitFor()
        await page.getByRole('button', { name: 'Change this listing' }).click()
        await page.locator('#summary').fill(`Support in the ${word} rooms for anyone affected by domestic abuse.`)
        await snap('editor-change')
        await page.getByRole('button', { name: 'Save changes' }).click()
        await page.getByText("Your changes are saved.").waitFor()
        await snap('editor-saved')
        await signOut(page)
        await page.goto(server.baseURL + '/search?q=' + word)
        await page.getByRole('link', { name: serviceName }).waitFor()
        await snap('search-finds-change')

        // 5. "Exit this page" leaves the site at once.
        const hits = []
        await page.route(EXIT_URL_GLOB, (route) => {
          hits.push(route.request().url())
          return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><html lang="en"><title>Weather</title><h1>Weather</h1></html>' })
        })
        await page.goto(server.baseURL + '/services/' + serviceID)
        await page.locator('.govuk-exit-this-page a', { hasText: 'Exit this page' }).first().click()
        await page.waitForURL(EXIT_URL_GLOB)
        await snap('exit-button')
        if (js === 'on') {
          await page.goto(server.baseURL + '/')
          await page.waitForSelector('[data-module="govuk-exit-this-page"][data-govuk-exit-this-page-init]', { state: 'attached' })
          await Promise.all([
            page.waitForURL(EXIT_URL_GLOB),
            (async () => { for (let i = 0; i < 3; i++) await page.keyboard.press('Shift') })()
          ])
          await snap('exit-shift')
        }
        assert.equal(hits.length, js === 'on' ? 2 : 1, 'the browser did not leave the site each time')
        const seen = problems().filter((m) => !/status of (422|429)/.test(m))
        assert.deepEqual(seen, [], `console errors or CSP violations:\n  ${seen.join('\n  ')}`)
      } finally {
        await context.close()
      }
    })
  })
}

// Family Help: progressive enhancement for the GOV.UK Frontend components the
// site uses. Loaded as <script type="module" src="/static/app.js"> at the end
// of <body>; every page works without it.
//
// The GOV.UK page template marks support with an inline script, which our
// Content-Security-Policy forbids, so it is done here instead. Browsers that
// run ES modules are the ones GOV.UK Frontend supports.
import { createAll } from 'govuk-frontend/dist/govuk/init.mjs'
import { Button } from 'govuk-frontend/dist/govuk/components/button/button.mjs'
import { CharacterCount } from 'govuk-frontend/dist/govuk/components/character-count/character-count.mjs'
import { Checkboxes } from 'govuk-frontend/dist/govuk/components/checkboxes/checkboxes.mjs'
import { ErrorSummary } from 'govuk-frontend/dist/govuk/components/error-summary/error-summary.mjs'
import { ExitThisPage } from 'govuk-frontend/dist/govuk/components/exit-this-page/exit-this-page.mjs'
import { Radios } from 'govuk-frontend/dist/govuk/components/radios/radios.mjs'
import { SkipLink } from 'govuk-frontend/dist/govuk/components/skip-link/skip-link.mjs'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')

// Each component is found by its data-module attribute, for example
// data-module="govuk-exit-this-page". One failing component must not stop
// the others, least of all Exit this page, so it goes first.
for (const Component of [
  ExitThisPage,
  SkipLink,
  ErrorSummary,
  Button,
  Radios,
  Checkboxes,
  CharacterCount
]) {
  createAll(Component)
}

// A back link goes to a safe page without JavaScript (the server cannot know where the person
// came from without reading the Referer, and pages are cached). With JavaScript, when the
// person came from another page of ours, it goes back to exactly that page, search and all.
for (const link of document.querySelectorAll('[data-module="fh-back-link"]')) {
  link.addEventListener('click', (event) => {
    let sameSite = false
    try {
      sameSite = new URL(document.referrer).origin === window.location.origin
    } catch {}
    if (sameSite && window.history.length > 1) {
      event.preventDefault()
      window.history.back()
    }
  })
}

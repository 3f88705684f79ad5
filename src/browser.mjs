// Browser test of the web interface, driven by `cargo test --test end_to_end` against the real
// server: headless Chromium through playwright-core, WCAG 2.2 A/AA checks with axe-core.
//
// node src/browser.mjs BASE_URL READER_KEY HIDDEN_MEMBER_ID SCREENSHOT_DIR TOOLS_DIR CHROMIUM
import { createRequire } from 'node:module'
import path from 'node:path'
import { launch } from './browser_launch.mjs'
import fs from 'node:fs'

const [base, key, hiddenId, shots, tools, chromium] = process.argv.slice(2)
const require = createRequire(path.join(tools, 'node_modules', 'x.js'))
const { chromium: driver } = require('playwright-core')
const axePath = require.resolve('axe-core/axe.min.js')
fs.mkdirSync(shots, { recursive: true })

let failures = 0
function check(condition, what) {
  if (condition) {
    console.log(`ok: ${what}`)
  } else {
    failures += 1
    console.log(`FAILED: ${what}`)
  }
}

async function axe(page, name) {
  await page.addScriptTag({ path: axePath })
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] }
    })
  )
  for (const v of result.violations) {
    console.log(`  axe ${name}: ${v.id} (${v.impact}): ${v.help}`)
    for (const node of v.nodes.slice(0, 3)) console.log(`    ${node.target.join(' ')}`)
  }
  check(result.violations.length === 0, `${name}: no WCAG 2.2 A/AA violations (axe-core)`)
}

const browser = await launch(driver, chromium)
try {
  // axe is injected as a script, which the pages' Content-Security-Policy would refuse
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 1000 } })
  const page = await context.newPage()
  const external = []
  page.on('request', (r) => {
    if (!r.url().startsWith(base)) external.push(r.url())
  })
  page.setDefaultTimeout(15000)

  // Signing in
  await page.goto(base + '/?q=virology')
  check(new URL(page.url()).pathname === '/sign-in', 'a visitor without a key is sent to sign in')
  await axe(page, 'sign-in page')
  await page.fill('#key', 'mst_wrong_key')
  await page.click('button:has-text("Sign in")')
  check(await page.isVisible('.govuk-error-summary'), 'a wrong key shows the GOV.UK error summary')
  check(
    (await page.getAttribute('.govuk-error-summary a', 'href')) === '#key',
    'the error summary links to the key field'
  )
  await axe(page, 'sign-in page with an error')
  await page.fill('#key', key)
  await page.click('button:has-text("Sign in")')
  await page.waitForURL((url) => url.pathname === '/')
  check((await page.inputValue('#q')) === 'virology', 'after signing in you return to where you were')

  // Searching: typeahead, results, a facet, a filter tag
  await page.goto(base + '/')
  await axe(page, 'search page')
  await page.click('#q')
  await page.keyboard.type('epidem', { delay: 30 })
  await page.waitForFunction(() => document.querySelectorAll('#q-suggestions option').length > 0)
  const suggestions = await page.$$eval('#q-suggestions option', (os) => os.map((o) => o.value))
  check(
    suggestions.some((s) => /epidem/i.test(s)),
    `typeahead suggests from /v1/suggest: ${suggestions.slice(0, 3).join(', ')}`
  )
  await page.fill('#q', 'epidemiological modelling')
  await page.keyboard.press('Enter')
  await page.waitForURL(/q=epidemiological/)
  const heading = await page.textContent('#results h2')
  const total = parseInt(heading, 10)
  check(total > 0, `a query finds people: "${heading}"`)
  check((await page.$$('.muster-result')).length === Math.min(total, 10), 'a page of 10 results')
  check((await page.$$('.muster-result .govuk-tag')).length > 0, 'results show matched skills')
  await axe(page, 'search results')
  await page.screenshot({ path: path.join(shots, 'search.png'), fullPage: true })

  const facet = page.locator('#filters input[name=department]').first()
  const department = await facet.getAttribute('value')
  const facetLabel = await page.textContent(`label[for="${await facet.getAttribute('id')}"]`)
  const facetCount = parseInt(facetLabel.match(/\((\d+)\)/)[1], 10)
  await page.click(`label[for="${await facet.getAttribute('id')}"]`)
  await page.waitForFunction(
    (d) => document.querySelector('.muster-filter-tag')?.textContent.includes(d),
    department
  )
  check(page.url().includes('department='), 'picking a facet updates the address without a reload')
  const filtered = parseInt(await page.textContent('#results h2'), 10)
  check(filtered === facetCount, `the facet said ${facetCount} and the results say ${filtered}`)
  const facts = await page.$$eval('.muster-result p:first-of-type', (ps) => ps.map((p) => p.textContent))
  check(facts.length > 0, 'filtered results are listed')
  await page.click('.muster-filter-tag')
  await page.waitForURL((url) => !url.search.includes('department='))
  check(parseInt(await page.textContent('#results h2'), 10) === total, 'removing the filter tag restores the results')

  // A person
  const first = page.locator('.muster-result h3 a').first()
  const name = (await first.textContent()).trim()
  await first.click()
  await page.waitForURL(/\/people\//)
  check((await page.textContent('h1')).trim() === name, `the person page is ${name}'s`)
  check(await page.isVisible('table.govuk-table'), 'the person page lists skills with levels')
  await axe(page, 'person page')

  // A record above the reader's marking does not exist for them
  const hidden = await page.goto(base + '/people/' + hiddenId)
  check(hidden.status() === 404, 'an OFFICIAL-SENSITIVE person is "Page not found" for an OFFICIAL reader')

  // Muster
  await page.goto(base + '/muster')
  await axe(page, 'muster form')
  await page.fill('#skills', 'epidemiological modelling, 3\nbayesian statistics\nhealth economics')
  await page.selectOption('#clearance', 'SC')
  await page.selectOption('#near', { label: 'London' })
  await page.fill('#within_km', '150')
  await page.fill('#max_per_department', '2')
  await page.fill('#facility_capabilities', 'CL4')
  await page.click('button:has-text("Assemble team")')
  await page.waitForSelector('#muster-results')
  const labs = await page.textContent('#muster-results')
  check(labs.includes('High containment (CL4) laboratories'), 'the CL4 labs at Porton are offered')
  check(!labs.includes('SAPO4'), 'no animal containment unit is offered for CL4')
  const team = await page.$$('#muster-results tbody tr')
  check(team.length === 5, `the muster returns a team of 5 (${team.length})`)
  const covered = await page.$$eval('#muster-results tbody .govuk-tag', (ts) => ts.map((t) => t.textContent))
  for (const skill of ['Epidemiological modelling', 'Bayesian statistics', 'Health economics']) {
    check(covered.some((c) => c.includes(skill)), `the team covers ${skill}`)
  }
  await axe(page, 'muster result')
  const answerTop = (await page.locator('#muster-results').boundingBox()).y
  check(answerTop < (await page.locator('#need').boundingBox()).y, 'the team comes before the form')
  check(answerTop < 1000, `the team starts on the first screen (${Math.round(answerTop)} px)`)
  await page.screenshot({ path: path.join(shots, 'muster.png'), fullPage: true })
  const href = await page.getAttribute('a:has-text("Download the contact sheet")', 'href')
  const sheet = await page.request.get(base + href)
  check(sheet.headers()['content-type'].startsWith('text/csv'), 'the contact sheet is CSV')
  const rows = (await sheet.text()).trim().split('\n')
  check(rows[0].startsWith('role,skills,name') && rows.filter((r) => r.startsWith('team,')).length === 5,
    'the contact sheet lists the team')

  await page.goto(base + '/muster')
  await page.fill('#skills', 'virology')
  await page.fill('#within_km', '50')
  await page.click('button:has-text("Assemble team")')
  await page.waitForSelector('.govuk-error-summary')
  check(
    (await page.getAttribute('.govuk-error-summary a', 'href')) === '#within_km',
    'a distance without a place is an error summary linking to the field'
  )
  check(await page.isVisible('#within_km-error'), 'and an error message at the field')
  await axe(page, 'muster form with an error')

  // Keyboard: the skip link is the first thing to focus
  await page.goto(base + '/')
  await page.keyboard.press('Tab')
  check(
    (await page.evaluate(() => document.activeElement.textContent)).includes('Skip to main content'),
    'the first Tab focuses the skip link'
  )

  // Nothing found for a misspelling: a correction offered from the index's own words
  await page.goto(base + '/?q=virolgist')
  const offer = page.locator('#did-you-mean a')
  check((await offer.textContent()).trim() === 'virology', 'a misspelling is offered "Did you mean virology?"')
  await offer.click()
  await page.waitForURL(/q=virology/)
  check(parseInt(await page.textContent('#results h2'), 10) > 0, 'and following the offer finds people')

  // Every department can be chosen on an open search, not only the commonest 12
  await page.goto(base + '/?q=')
  const departments = page.locator('#filters fieldset', { has: page.locator('legend', { hasText: 'Department' }) })
  await departments.locator('details summary').click()
  const rare = departments.locator('details input[name=department]').last()
  const rareValue = await rare.inputValue()
  await rare.check()
  await page.waitForURL(/department=/)
  const chosen = new URL(page.url()).searchParams.getAll('department')
  check(chosen.includes(rareValue), `a department behind "Show all" (${rareValue}) can be chosen`)
  check(parseInt(await page.textContent('#results h2'), 10) > 0, `and ${rareValue} has people`)

  // Authors and contacts are people with names and how to reach them, not ids
  await page.goto(base + '/?kind=case-studies&q=modelling')
  await page.locator('.muster-result h3 a').first().click()
  await page.waitForURL(/\/case-studies\//)
  const authors = await page.locator('.govuk-summary-list__row', { hasText: 'Authors' }).textContent()
  check(!/\bm-\d+/.test(authors) && /@/.test(authors), `case study authors are named with an email (${authors.replace(/\s+/g, ' ').trim().slice(0, 80)})`)
  await page.goto(base + '/?kind=facilities&q=containment')
  await page.locator('.muster-result h3 a').first().click()
  await page.waitForURL(/\/facilities\//)
  const contacts = await page.locator('.govuk-summary-list__row', { hasText: 'Contacts' }).textContent()
  check(!/\bm-\d+/.test(contacts) && /\d{4} ?\d{3}/.test(contacts), `facility contacts are named with a phone (${contacts.replace(/\s+/g, ' ').trim().slice(0, 80)})`)

  // Wide, the filters sit beside the results; on a phone (375 px) the results come first and the
  // search box fits the screen
  await page.goto(base + '/?q=virology')
  const wideResults = await page.locator('#results h2').boundingBox()
  const wideFilters = await page.locator('#filters').boundingBox()
  check(wideFilters.x < wideResults.x && wideResults.y < 1000, 'at 1280 px the filters are beside the results, which start on the first screen')
  await page.setViewportSize({ width: 375, height: 800 })
  await page.goto(base + '/?q=virology')
  const phoneResults = await page.locator('#results h2').boundingBox()
  const phoneFilters = await page.locator('#filters').boundingBox()
  check(phoneResults.y < phoneFilters.y, 'at 375 px the results come before the filters')
  check(phoneResults.y < 800, `at 375 px the results start on the first screen (${Math.round(phoneResults.y)} px)`)
  const box = await page.locator('#q').boundingBox()
  check(box.x >= 0 && box.x + box.width <= 375, 'at 375 px the search box fits the screen')
  const searchWide = await page.evaluate(() => document.documentElement.scrollWidth)
  check(searchWide <= 375, `at 375 px the search page is no wider than the screen (${searchWide} px)`)
  await page.screenshot({ path: path.join(shots, 'search-375.png'), fullPage: true })
  await page.goto(base + '/muster?skills=virology')
  await page.waitForSelector('#muster-results')
  check((await page.locator('#muster-results').boundingBox()).y < 800, 'at 375 px the team starts on the first screen')
  const wide = await page.evaluate(() => document.documentElement.scrollWidth)
  check(wide <= 375, `at 375 px the muster page is no wider than the screen (${wide} px)`)
  await page.screenshot({ path: path.join(shots, 'muster-375.png'), fullPage: true })
  await page.setViewportSize({ width: 1280, height: 1000 })

  check(external.length === 0, `no request leaves the server (${external.slice(0, 3).join(', ')})`)

  // Without JavaScript the search and filters still work
  const plain = await browser.newContext({ javaScriptEnabled: false })
  const noJs = await plain.newPage()
  await noJs.goto(base + '/sign-in')
  await noJs.fill('#key', key)
  await noJs.click('button:has-text("Sign in")')
  await noJs.goto(base + '/?q=virology')
  const noJsTotal = parseInt(await noJs.textContent('#results h2'), 10)
  check(noJsTotal > 0, 'without JavaScript a search shows results')
  await noJs.locator('#filters input[name=department]').first().check()
  await noJs.click('button:has-text("Apply filters")')
  await noJs.waitForURL(/department=/)
  check(parseInt(await noJs.textContent('#results h2'), 10) <= noJsTotal, 'and "Apply filters" filters')
} finally {
  await browser.close()
}
console.log(failures === 0 ? 'browser test passed' : `${failures} browser checks failed`)
process.exit(failures === 0 ? 0 : 1)

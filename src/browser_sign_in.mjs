// Browser test of single sign-on, driven by `cargo test --test end_to_end` against the real
// server and a real OpenID provider (oidc-provider from npm): headless Chromium through
// playwright-core signs in, searches, signs out of Muster and of the provider, and is refused
// a replayed answer and an account no grant covers.
//
// node src/browser_sign_in.mjs MUSTER_URL TOOLS_DIR CHROMIUM
import { createRequire } from 'node:module'
import path from 'node:path'
import { launch } from './browser_launch.mjs'

const [base, tools, chromium] = process.argv.slice(2)
const require = createRequire(path.join(tools, 'node_modules', 'x.js'))
const { chromium: driver } = require('playwright-core')

let failures = 0
function check(condition, what) {
  console.log(`${condition ? 'ok' : 'FAILED'}: ${what}`)
  if (!condition) failures += 1
}

/// At the provider's development login form: signs in as `user`, then agrees to share claims.
async function signInAtProvider(page, user) {
  await page.fill('input[name=login]', user)
  await page.fill('input[name=password]', 'any')
  await page.click('button[type=submit]')
  const consent = page.locator('input[name=prompt][value=consent]')
  if (await consent.count()) await page.click('button[type=submit]')
}

const browser = await launch(driver, chromium)
try {
  const context = await browser.newContext()
  const page = await context.newPage()
  page.setDefaultTimeout(60000)
  let callback = null
  page.on('request', (r) => {
    if (r.url().startsWith(`${base}/sign-in/callback`)) callback = r.url()
  })

  // a page asked for before signing in comes back after it
  await page.goto(`${base}/?q=statistics`)
  check(page.url().startsWith(`${base}/sign-in`), 'a page needs signing in')
  check((await page.locator('input[name=key]').count()) === 0, 'no access key to paste')
  await page.click('text=Sign in with your department account')
  check(!page.url().startsWith(base), 'the button goes to the identity provider')
  await signInAtProvider(page, 'alice')
  await page.waitForURL(`${base}/?q=statistics`)
  check(true, 'back at the page asked for, signed in')
  const results = await page.locator('main').innerText()
  check((await page.locator('.muster-result').count()) > 0, 'the search answers with people')
  check(/clearance/i.test(results), 'alice has the vetting permission: clearances are shown')
  const cookies = await context.cookies(base)
  const session = cookies.find((c) => c.name === 'muster_session')
  check(session && session.httpOnly && session.sameSite === 'Lax', 'the session cookie is HttpOnly and SameSite=Lax')
  check(!cookies.some((c) => c.value.startsWith('eyJ')), 'no token in any cookie')

  // the provider's answer is used once
  const replay = await page.goto(callback)
  check(replay.status() === 400, `a replayed sign-in answer is refused (${replay.status()})`)
  check(/already used/.test(await page.locator('main').innerText()), 'saying it was already used')
  await page.goto(`${base}/?q=statistics`)
  check(page.url() === `${base}/?q=statistics`, 'the refused replay did not end the session')

  // signing out ends the session here, and offers the provider's sign-out
  await page.click('button:has-text("Sign out")')
  check(/signed out of Muster/.test(await page.locator('h1').innerText()), 'signed out of Muster')
  const atProvider = await page.getAttribute('#sign-out-provider', 'href')
  await page.goto(`${base}/?q=statistics`)
  check(page.url().startsWith(`${base}/sign-in`), 'the old session no longer reads')
  await page.goto(atProvider)
  await page.click('button[value=yes]')
  await page.waitForURL(`${base}/sign-in`)
  check(true, 'the provider signed out and sent the browser back to sign-in')
  await page.click('text=Sign in with your department account')
  check((await page.locator('input[name=login]').count()) === 1, 'signing in again asks the provider for the password again')

  // an account the provider knows but no grant names has no access
  const other = await (await browser.newContext()).newPage()
  other.setDefaultTimeout(60000)
  await other.goto(`${base}/sign-in`)
  await other.click('text=Sign in with your department account')
  await signInAtProvider(other, 'bob')
  await other.waitForURL(`${base}/sign-in/callback**`)
  check(/not been given access/.test(await other.locator('main').innerText()), 'bob, in no group, is refused')
  await other.goto(`${base}/?q=statistics`)
  check(other.url().startsWith(`${base}/sign-in`), 'and is not signed in')
} finally {
  await browser.close()
}
if (failures) {
  console.log(`${failures} check(s) failed`)
  process.exit(1)
}

// How the browser tests start headless Chromium: without the background networking that this
// closed network refuses, in a fresh profile.
export function launch(driver, chromium) {
  return driver.launch({
    executablePath: chromium,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ]
  })
}

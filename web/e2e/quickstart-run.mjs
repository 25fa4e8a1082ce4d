// The end of the README's Quickstart, "which the dashboard shows", checked in
// a browser: .ci/quickstart runs this after the Quickstart's commands, against
// a server on the Quickstart's data. It opens the dashboard in headless
// Chromium, signs in with the Quickstart's token, opens the run page of the
// Quickstart's run, and fails unless the page shows that run SUCCEEDED with
// every task of its DAG succeeded; it also saves a screenshot.
//
//	node web/e2e/quickstart-run.mjs BASE_URL RUN_ID SCREENSHOT.png   (the token in SWITCHYARD_TOKEN)
import { chromium } from 'playwright-core';

const [baseURL, runId, screenshot] = process.argv.slice(2);
const token = process.env.SWITCHYARD_TOKEN;
if (!baseURL || !runId || !screenshot || !token) {
  console.error('usage: SWITCHYARD_TOKEN=… node quickstart-run.mjs BASE_URL RUN_ID SCREENSHOT.png');
  process.exit(2);
}
const tid = (id) => `[data-testid="${id}"]`;
const browser = await chromium.launch({
  executablePath: process.env.E2E_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = await (await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 } })).newPage();
  page.setDefaultTimeout(30_000);
  await page.goto('/signin');
  await page.locator(tid('token-input')).fill(token);
  await page.locator(tid('signin-submit')).click();
  await page.locator(tid('nav-runs')).waitFor();
  await page.goto(`/runs/${runId}`);
  const run = page.locator(`${tid('run-page')}[data-run-id="${runId}"]`);
  await run.waitFor();
  const status = (await page.locator(tid('run-status')).textContent())?.trim();
  const nodes = page.locator(tid('dag-node'));
  const tasks = await nodes.count();
  const states = await nodes.evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
  await page.screenshot({ path: screenshot, fullPage: true });
  if (status !== 'succeeded' || tasks === 0 || states.some((s) => s !== 'succeeded')) {
    console.error(`quickstart: the dashboard shows run ${runId} as ${status}, its ${tasks} tasks as ${states.join(', ')}; want succeeded`);
    process.exit(1);
  }
  console.log(`quickstart: the dashboard shows run ${runId} succeeded, with its ${tasks} tasks succeeded (${screenshot})`);
} finally {
  await browser.close();
}

// Every page runs under its Content-Security-Policy with nothing refused: the home
// page, a room page used end to end (through a time-up), the not-found page and the
// API browser. A script or style injected inline is refused and reported, which is
// what the watcher listens for.
// How to run: see the top of harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, until, useServerAndBrowser, waitConnected, waitCountdown, watchCsp } from './harness.mjs';

const env = useServerAndBrowser();

/** Asserts the headers every page carries. */
function assertHardened(response) {
  const headers = response.headers();
  const policy = headers['content-security-policy'] ?? '';
  assert.match(policy, /(^|;)\s*default-src 'self'\s*(;|$)/, policy);
  assert.match(policy, /(^|;)\s*frame-ancestors 'none'\s*(;|$)/, policy);
  assert.doesNotMatch(policy, /unsafe-/, policy);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'no-referrer');
}

async function watchedPage() {
  const context = await env.browser.newContext({
    viewport: { width: 1000, height: 760 },
    // The copy-link button writes to the clipboard, which the test then reads.
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const violations = await watchCsp(context);
  const page = await context.newPage();
  return { context, page, violations };
}

function timerIs(page, state) {
  return page.waitForFunction((want) => document.body.dataset.timer === want, state, { timeout: 10_000 });
}

test('creating and using a room reports no policy violation', { timeout: 90_000 }, async () => {
  const { context, page, violations } = await watchedPage();
  assertHardened(await page.goto(`${env.server.base}/`));
  await page.fill('#driver', 'Grace');
  await page.fill('#navigator', 'Alan');
  await page.click('#preset-5');
  const roomPage = page.waitForResponse((r) => /^\/p\/[A-Za-z0-9_-]+$/.test(new URL(r.url()).pathname));
  await page.click('#create');
  assertHardened(await roomPage);
  await waitConnected(page);
  await waitCountdown(page, '05:00');

  await page.click('#start');
  await timerIs(page, 'running');
  await waitCountdown(page, '04:59');
  await page.click('#pause');
  await timerIs(page, 'paused');
  await page.click('#swap');
  await page.waitForFunction(() => document.getElementById('driver').textContent === 'Alan', null, { timeout: 10_000 });
  await page.click('#reset');
  await timerIs(page, 'idle');
  await page.click('#copy-link');
  await page.waitForFunction(() => document.getElementById('copy-label').textContent !== 'Copy link', null, {
    timeout: 10_000,
  });
  // Copied, and what was copied is the room's page.
  assert.equal(await page.textContent('#copy-label'), 'Copied');
  const roomUrl = new URL(page.url());
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${roomUrl.origin}${roomUrl.pathname}`);

  // A three-second turn through its time-up: the chime, the notice, the roles swap back.
  await page.fill('#duration', '0.05');
  await page.click('#set-duration');
  await waitCountdown(page, '00:03');
  await page.click('#start');
  await page.waitForFunction(() => /Time is up/.test(document.getElementById('status').textContent), null, {
    timeout: 10_000,
  });
  assert.equal(await page.textContent('#driver'), 'Grace');
  await screenshot(page, 'csp-room');
  assert.deepEqual(violations, []);
  await context.close();
});

test('the not-found page reports no policy violation', { timeout: 60_000 }, async () => {
  const { context, page, violations } = await watchedPage();
  const res = await page.goto(`${env.server.base}/p/NoSuchRoom000000`);
  assert.equal(res.status(), 404);
  assertHardened(res);
  assert.equal(await page.textContent('#not-found'), 'Room not found');
  await page.click('#home-link');
  await page.waitForURL(`${env.server.base}/`);
  await page.waitForSelector('#create-form');
  assert.deepEqual(violations, []);
  await context.close();
});

test('the API browser runs an operation with no policy violation', { timeout: 60_000 }, async () => {
  const { context, page, violations } = await watchedPage();
  const res = await page.goto(`${env.server.base}/api/docs/`);
  assert.equal(res.status(), 200);
  assertHardened(res);
  // Its one relaxation: the stylesheet's icons are data: images.
  assert.match(res.headers()['content-security-policy'], /img-src 'self' data:/);
  await page.waitForSelector('.swagger-ui .info .title', { timeout: 15_000 });
  assert.match(await page.textContent('.swagger-ui .info .title'), /pairsync/);

  const operation = page.locator('.opblock', { has: page.locator('[data-path="/healthz"]') });
  await operation.locator('.opblock-summary').click();
  await operation.locator('.try-out__btn').click();
  await operation.locator('.execute').click();
  const status = operation.locator('.live-responses-table tbody .response-col_status').first();
  await status.waitFor({ timeout: 10_000 });
  assert.equal((await status.textContent()).trim(), '200');
  await page.click('.models-control');
  await screenshot(page, 'csp-api-docs');
  assert.deepEqual(violations, []);
  await context.close();
});

test('an inline script or style put into a page is refused and reported', { timeout: 60_000 }, async () => {
  const { context, page, violations } = await watchedPage();
  await page.goto(`${env.server.base}/`);
  await page.evaluate(() => {
    const script = document.createElement('script');
    script.textContent = 'window.inlineScriptRan = true;';
    document.head.append(script);
    document.querySelector('h1').setAttribute('style', 'color: red');
  });
  await until(
    () => violations.some((v) => v.directive === 'script-src-elem') && violations.some((v) => v.directive === 'style-src-attr'),
    `both violations reported: ${JSON.stringify(violations)}`,
  );
  assert.equal(await page.evaluate(() => window.inlineScriptRan), undefined);
  const color = await page.evaluate(() => getComputedStyle(document.querySelector('h1')).color);
  assert.notEqual(color, 'rgb(255, 0, 0)');
  await context.close();
});

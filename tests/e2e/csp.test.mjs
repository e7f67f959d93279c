// Every page runs under its Content-Security-Policy with nothing refused: the home
// page, a room page used end to end (through a time-up), a team room (its name,
// members, goals and history), the not-found page and the API browser. A script or
// style injected inline is refused and reported, which is what the watcher listens for.
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

test('a team room with a name, members, goals and history reports no policy violation', { timeout: 90_000 }, async () => {
  const { context, page, violations } = await watchedPage();
  await page.goto(`${env.server.base}/`);
  await page.fill('#driver', 'Ann');
  await page.fill('#navigator', 'Bob');
  await page.click('#add-member');
  await page.fill('#member-3', 'Cy');
  await page.click('#create');
  await page.waitForURL(/\/p\/[A-Za-z0-9_-]+$/, { timeout: 10_000 });
  await waitConnected(page);
  await page.fill('#visitor-name', 'Ann');
  await page.press('#visitor-name', 'Enter');
  await page.waitForFunction(() => /^Ann · 1 watching$/.test(document.getElementById('presence').textContent.trim()), null, { timeout: 10_000 });

  // Members: one joins, one is renamed, one moves, one leaves.
  await page.fill('#add-member-name', 'Dee');
  await page.press('#add-member-name', 'Enter');
  const order = (want) => page.waitForFunction((w) => Array.from(document.querySelectorAll('#members > li')).map((li) => li.dataset.name).join() === w, want, { timeout: 10_000 });
  await order('Ann,Bob,Cy,Dee');
  await page.getByRole('button', { name: 'Rename Cy', exact: true }).click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('Cyrus');
  await page.keyboard.press('Enter');
  await order('Ann,Bob,Cyrus,Dee');
  await page.getByRole('button', { name: 'Move Dee up', exact: true }).click();
  await order('Ann,Bob,Dee,Cyrus');
  await page.getByRole('button', { name: 'Remove Cyrus', exact: true }).click();
  await order('Ann,Bob,Dee');

  // Goals: added, checked, edited, moved, dragged and deleted.
  const goals = (want) => page.waitForFunction((w) => Array.from(document.querySelectorAll('#goal-list .goal-text')).map((t) => t.textContent).join() === w, want, { timeout: 10_000 });
  for (const goal of ['One', 'Two']) {
    await page.fill('#add-goal-text', goal);
    await page.press('#add-goal-text', 'Enter');
  }
  await goals('One,Two');
  await page.getByRole('checkbox', { name: 'One' }).check();
  await page.getByRole('button', { name: 'Edit goal: Two', exact: true }).click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('Three');
  await page.keyboard.press('Enter');
  await goals('One,Three');
  await page.getByRole('button', { name: 'Move goal up: Three', exact: true }).click();
  await goals('Three,One');
  await page.locator('#goal-list > li', { hasText: 'One' }).dragTo(page.locator('#goal-list > li', { hasText: 'Three' }));
  await goals('One,Three');
  await page.getByRole('button', { name: 'Delete goal: One', exact: true }).click();
  await goals('Three');

  // Next ends a turn: the rotation and the history.
  await page.click('#next');
  await order('Bob,Dee,Ann');
  await page.waitForFunction(() => document.querySelectorAll('#history-turns li').length === 1, null, { timeout: 10_000 });
  await screenshot(page, 'csp-team-room');
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

// Every page passes axe-core's WCAG 2 A/AA rules, in light and dark; the room page has
// one h1, keeps long names' words whole on a phone, and offers to turn sound and
// notifications on until the page may play sound.
// How to run: see the top of harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openRoom, screenshot, useServerAndBrowser, waitConnected } from './harness.mjs';
import { assertNoWcagViolation } from './a11y.mjs';

const env = useServerAndBrowser();

const PHONE = { width: 360, height: 740 };
// Colours are checked as they rest, not half-way through a transition.
const STILL = { reducedMotion: 'reduce' };

async function newPage(contextOptions = {}) {
  const context = await env.browser.newContext({ viewport: { width: 1000, height: 760 }, ...STILL, ...contextOptions });
  return context.newPage();
}

for (const colorScheme of ['light', 'dark']) {
  test(`the home, room and not-found pages have no WCAG 2 A/AA violation (${colorScheme})`, { timeout: 90_000 }, async () => {
    const home = await newPage({ colorScheme });
    await home.goto(`${env.server.base}/`);
    await assertNoWcagViolation(home, `home (${colorScheme})`);
    // With a validation error on show.
    await home.click('#create');
    await home.locator('.field-error:not([hidden])').first().waitFor({ state: 'visible', timeout: 10_000 });
    await assertNoWcagViolation(home, `home with an error (${colorScheme})`);
    // With the break settings set, and one of them refused.
    await home.fill('#driver', 'Grace');
    await home.fill('#navigator', 'Alan');
    await home.check('#auto-start');
    await home.fill('#break-every', '21');
    await home.click('#create');
    await home.locator('#break-every-error').waitFor({ state: 'visible', timeout: 10_000 });
    await assertNoWcagViolation(home, `home with a break setting refused (${colorScheme})`);
    await home.context().close();

    const code = await env.server.createRoom({ timerDuration: 1000 });
    const room = await openRoom(env.browser, env.server, code, { contextOptions: { colorScheme, ...STILL } });
    await assertNoWcagViolation(room, `room, idle (${colorScheme})`);
    await room.click('#start');
    await room.waitForFunction(() => document.body.dataset.timer === 'running', null, { timeout: 10_000 });
    await assertNoWcagViolation(room, `room, running (${colorScheme})`);
    await room.waitForFunction(() => /Time is up/.test(document.getElementById('status').textContent), null, {
      timeout: 10_000,
    });
    await assertNoWcagViolation(room, `room, after a time-up (${colorScheme})`);
    await room.context().close();

    const missing = await newPage({ colorScheme });
    const res = await missing.goto(`${env.server.base}/p/NoSuchRoom123`);
    assert.equal(res.status(), 404);
    await assertNoWcagViolation(missing, `not found (${colorScheme})`);
    await missing.context().close();
  });

  test(`the room page in a break, paused, and deleted has no WCAG 2 A/AA violation (${colorScheme})`, { timeout: 90_000 }, async () => {
    const res = await env.server.api('POST', '/api/pair-room', {
      driver: 'Grace',
      navigator: 'Alan',
      timerDuration: 1000,
      breakEvery: 1,
      breakDuration: 600_000,
    });
    const code = res.body.accessCode;
    const page = await openRoom(env.browser, env.server, code, { contextOptions: { colorScheme, ...STILL } });
    await page.click('#start');
    await page.waitForFunction(() => document.body.dataset.phase === 'break', null, { timeout: 10_000 });
    await assertNoWcagViolation(page, `room in a break (${colorScheme})`);
    await page.click('#pause');
    await page.waitForFunction(() => document.body.dataset.timer === 'paused', null, { timeout: 10_000 });
    await assertNoWcagViolation(page, `room in a paused break (${colorScheme})`);
    await page.fill('#break-every', '99');
    await page.click('#save-breaks');
    await page.locator('#break-every-error').waitFor({ state: 'visible', timeout: 10_000 });
    await assertNoWcagViolation(page, `room with a settings error (${colorScheme})`);
    await env.server.api('DELETE', `/api/pair-room/${code}`);
    await page.locator('#gone').waitFor({ state: 'visible', timeout: 10_000 });
    await assertNoWcagViolation(page, `deleted room (${colorScheme})`);
    await page.context().close();
  });
}

test('the room page has one h1, and on a phone long names wrap between words only', { timeout: 60_000 }, async () => {
  const code = await env.server.createRoom({ driver: 'Konstantinopolitaner', navigator: 'Anna Maria Oberhaus' });
  const page = await openRoom(env.browser, env.server, code, { contextOptions: { viewport: PHONE, ...STILL } });
  const headings = await page.evaluate(() =>
    Array.from(document.querySelectorAll('h1')).map((h) => ({ text: h.textContent.trim(), shown: h.offsetParent !== null })),
  );
  assert.deepEqual(headings, [{ text: 'Pair room', shown: true }]);

  const layout = await page.evaluate(() => {
    // Every word of each name lies on one line: a range over it has a single box.
    const broken = [];
    for (const id of ['driver', 'navigator']) {
      const node = document.getElementById(id).firstChild;
      for (const m of node.textContent.matchAll(/\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top)));
        if (lines.size !== 1) broken.push(`${m[0]} spans ${lines.size} lines`);
      }
    }
    const names = ['driver', 'navigator'].map((id) => document.getElementById(id).getBoundingClientRect());
    return {
      broken,
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      namesInside: names.every((r) => r.left >= 0 && r.right <= window.innerWidth),
    };
  });
  assert.deepEqual(layout.broken, []);
  assert.ok(layout.overflow <= 0, `the page scrolls sideways by ${layout.overflow} px`);
  assert.ok(layout.namesInside, 'a name runs off the screen');
  await assertNoWcagViolation(page, 'room on a phone');
  await screenshot(page, 'phone-long-names');
  await page.context().close();
});

test('until the first click a visible button offers to turn sound and notifications on', { timeout: 60_000 }, async () => {
  const code = await env.server.createRoom();
  const page = await openRoom(env.browser, env.server, code);
  const button = page.locator('#enable-alerts');
  assert.ok(await button.isVisible(), 'no sound button before any click');
  assert.match(await button.textContent(), /Turn on sound and notifications/);
  await button.click();
  await button.waitFor({ state: 'hidden', timeout: 10_000 });
  assert.match(await page.textContent('#status'), /Sound is on/);
  assert.equal(
    await page.evaluate(() => document.activeElement && document.activeElement.id),
    'start',
    'the focus is lost when the button goes',
  );

  // Any first click lets the page play sound, and the button goes too.
  const other = await openRoom(env.browser, env.server, code);
  assert.ok(await other.locator('#enable-alerts').isVisible());
  await other.click('h1');
  await other.locator('#enable-alerts').waitFor({ state: 'hidden', timeout: 10_000 });
  // A reloaded page has had no click yet: the button is back.
  await other.reload();
  await waitConnected(other);
  assert.ok(await other.locator('#enable-alerts').isVisible(), 'a fresh page may not play sound before a click');
  await page.context().close();
  await other.context().close();
});

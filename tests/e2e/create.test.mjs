// The home page creates rooms; unknown rooms get the not-found page; the
// room page fits a phone and follows the system's light or dark scheme.
// How to run: see the top of harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openRoom, screenshot, waitConnected, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

test('creating a room from the home page opens its page', { timeout: 60_000 }, async () => {
  const context = await env.browser.newContext({ viewport: { width: 1000, height: 760 } });
  const page = await context.newPage();
  const res = await page.goto(`${env.server.base}/`);
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-type'], /^text\/html/);

  await page.fill('#driver', 'Grace');
  await page.fill('#navigator', 'Alan');
  await page.click('#preset-15');
  assert.equal(await page.inputValue('#minutes'), '15');
  assert.equal(await page.getAttribute('#preset-15', 'aria-pressed'), 'true');
  await screenshot(page, 'home');

  await page.click('#create');
  await page.waitForURL(/\/p\/[A-Za-z0-9_-]{8,32}$/, { timeout: 10_000 });
  await waitConnected(page);
  await page.waitForFunction(() => document.getElementById('countdown').textContent === '15:00');
  assert.equal(await page.textContent('#driver'), 'Grace');
  assert.equal(await page.textContent('#navigator'), 'Alan');
  assert.equal(await page.title(), '15:00 · pairsync');
  assert.equal(await page.inputValue('#duration'), '15');

  const code = new URL(page.url()).pathname.split('/')[2];
  const room = await env.server.api('GET', `/api/pair-room/${code}`);
  assert.equal(room.status, 200);
  assert.equal(room.body.driver, 'Grace');
  assert.equal(room.body.navigator, 'Alan');
  assert.equal(room.body.duration, 15 * 60_000);
  await screenshot(page, 'create-room');
  await context.close();
});

test('the server validation message shows next to the field it names', { timeout: 60_000 }, async () => {
  const context = await env.browser.newContext({ viewport: { width: 1000, height: 760 } });
  const page = await context.newPage();
  await page.goto(`${env.server.base}/`);

  // No driver: the 400 message names `driver`.
  await page.fill('#navigator', 'Alan');
  await page.click('#create');
  await page.locator('#driver-error').waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await page.textContent('#driver-error'), /driver/);
  assert.equal(await page.getAttribute('#driver', 'aria-invalid'), 'true');
  assert.equal(await page.locator('#navigator-error').isVisible(), false);

  // Too short a timer: the message names `timerDuration`.
  await page.fill('#driver', 'Grace');
  await page.fill('#minutes', '0');
  await page.click('#create');
  await page.locator('#minutes-error').waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await page.textContent('#minutes-error'), /timerDuration/);
  assert.equal(await page.locator('#driver-error').isVisible(), false);
  assert.equal(new URL(page.url()).pathname, '/');
  await screenshot(page, 'create-validation');
  await context.close();
});

test('an unknown room answers 404 with a page that links home', { timeout: 60_000 }, async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const res = await page.goto(`${env.server.base}/p/no-such-room-0000`);
  assert.equal(res.status(), 404);
  assert.match(res.headers()['content-type'], /^text\/html/);
  assert.match(await page.textContent('body'), /not found/i);
  await screenshot(page, 'missing');
  await page.click('#home-link');
  await page.waitForURL(`${env.server.base}/`);
  assert.ok(await page.locator('#create-form').isVisible());
  await context.close();
});

test('the room page fits a 360px phone, in light and in dark', { timeout: 60_000 }, async () => {
  const code = await env.server.createRoom({ driver: 'Margaret', navigator: 'Katherine' });
  for (const colorScheme of ['light', 'dark']) {
    for (const [label, viewport] of [
      ['phone', { width: 360, height: 740 }],
      ['desktop', { width: 1280, height: 860 }],
    ]) {
      const page = await openRoom(env.browser, env.server, code, { contextOptions: { viewport, colorScheme } });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${label} ${colorScheme}: page is ${overflow}px wider than the screen`);
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const [r, g, b] = bg.match(/\d+/g).map(Number);
      const light = r + g + b > 384;
      assert.equal(light, colorScheme === 'light', `${colorScheme} scheme has background ${bg}`);
      await screenshot(page, `room-${label}-${colorScheme}`);
      await page.context().close();
    }
  }
});

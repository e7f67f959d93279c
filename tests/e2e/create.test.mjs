// The home page creates rooms, with breaks and auto-start if asked; unknown rooms
// get the not-found page; the room page fits a phone and follows the system's
// light or dark scheme.
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
  assert.deepEqual(room.body.settings, { autoStart: false, breakEvery: 0, breakDuration: 300_000 });
  await screenshot(page, 'create-room');
  await context.close();
});

test('a validation message shows next to the field it is about', { timeout: 60_000 }, async () => {
  const context = await env.browser.newContext({ viewport: { width: 1000, height: 760 } });
  const page = await context.newPage();
  await page.goto(`${env.server.base}/`);

  // No driver: said next to the driver's field.
  await page.fill('#navigator', 'Alan');
  await page.click('#create');
  await page.locator('#driver-error').waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await page.textContent('#driver-error'), /driver/);
  assert.equal(await page.getAttribute('#driver', 'aria-invalid'), 'true');
  assert.equal(await page.locator('#navigator-error').isVisible(), false);

  // Too short a timer: said in the page's units.
  await page.fill('#driver', 'Grace');
  await page.fill('#minutes', '0');
  await page.click('#create');
  await page.locator('#minutes-error').waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await page.textContent('#minutes-error'), /A turn lasts at least 1 second\./);
  assert.equal(await page.locator('#driver-error').isVisible(), false);
  assert.equal(new URL(page.url()).pathname, '/');
  await screenshot(page, 'create-validation');
  await context.close();
});

test('a room created with auto-start and breaks set on the home page has them, on its page and in the API', { timeout: 60_000 }, async () => {
  const context = await env.browser.newContext({ viewport: { width: 1000, height: 760 } });
  const page = await context.newPage();
  await page.goto(`${env.server.base}/`);
  // Until a person changes them, the settings are the room's defaults.
  assert.equal(await page.isChecked('#auto-start'), false);
  assert.equal(await page.inputValue('#break-every'), '0');
  assert.equal(await page.inputValue('#break-minutes'), '5');

  await page.fill('#driver', 'Grace');
  await page.fill('#navigator', 'Alan');
  await page.click('#preset-25');
  // Each setting is found by its label, as a person with a screen reader finds it.
  await page.getByLabel('Start the next turn by itself').check();
  await page.getByLabel('Break after every').fill('4');
  await page.getByLabel('Break length in minutes').fill('7.5');
  await page.locator('#break-minutes').blur();
  await screenshot(page, 'readme-create');
  await page.click('#create');
  await page.waitForURL(/\/p\/[A-Za-z0-9_-]{8,32}$/, { timeout: 10_000 });
  await waitConnected(page);

  // The room page's own settings box shows them.
  await page.waitForFunction(() => document.getElementById('break-every').value === '4', null, { timeout: 10_000 });
  assert.equal(await page.isChecked('#auto-start'), true);
  assert.equal(await page.inputValue('#break-minutes'), '7.5');
  assert.equal(await page.inputValue('#duration'), '25');
  const code = new URL(page.url()).pathname.split('/')[2];
  const room = await env.server.api('GET', `/api/pair-room/${code}`);
  assert.equal(room.status, 200);
  assert.deepEqual(room.body.settings, { autoStart: true, breakEvery: 4, breakDuration: 450_000 });
  assert.equal(room.body.timer.phase, 'turn');
  assert.equal(room.body.timer.state, 'idle');
  await screenshot(page, 'create-with-settings-room');
  await context.close();
});

test('a break setting the room would refuse is named next to its field, and no room is made', { timeout: 60_000 }, async () => {
  const context = await env.browser.newContext({ viewport: { width: 1000, height: 760 } });
  const page = await context.newPage();
  const created = [];
  page.on('response', (res) => {
    if (res.url().endsWith('/api/pair-room') && res.status() === 201) created.push(res.url());
  });
  await page.goto(`${env.server.base}/`);
  await page.fill('#driver', 'Grace');
  await page.fill('#navigator', 'Alan');

  // More than 20 turns between breaks.
  await page.fill('#break-every', '25');
  await page.click('#create');
  await page.locator('#break-every-error').waitFor({ state: 'visible', timeout: 10_000 });
  assert.equal(await page.textContent('#break-every-error'), 'Breaks can be at most 20 turns apart.');
  assert.equal(await page.getAttribute('#break-every', 'aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'break-every');
  // Typing in the field clears its message.
  await page.fill('#break-every', '2');
  assert.equal(await page.locator('#break-every-error').isVisible(), false);
  assert.equal(await page.getAttribute('#break-every', 'aria-invalid'), null);

  // No length at all: said at once, without asking the server.
  await page.fill('#break-minutes', '');
  await page.click('#create');
  await page.locator('#break-minutes-error').waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await page.textContent('#break-minutes-error'), /break length in minutes/);
  assert.equal(await page.getAttribute('#break-minutes', 'aria-invalid'), 'true');

  // Over an hour: said next to the field in the page's units.
  await page.fill('#break-minutes', '61');
  await page.click('#create');
  await page.waitForFunction(() => /A break lasts at most 60 minutes\./.test(document.getElementById('break-minutes-error').textContent), null, {
    timeout: 10_000,
  });
  assert.equal(await page.locator('#break-every-error').isVisible(), false);
  assert.equal(new URL(page.url()).pathname, '/');
  assert.deepEqual(created, []);
  await screenshot(page, 'create-break-validation');

  // On a phone the form still fits the screen.
  await page.setViewportSize({ width: 360, height: 740 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the home page is ${overflow}px wider than a phone`);
  await screenshot(page, 'create-phone');
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

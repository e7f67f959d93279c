// The forms speak a person's words and units: the home page and the room page's
// fields (minutes per turn, breaks, names) say what is wrong in minutes, turns and
// names, never in the API's field names or milliseconds; a form flags every wrong
// field at once, each message tied to its input (aria-describedby, aria-invalid);
// name fields hold at most the 20 characters a name may have; and a refusal of the
// server itself is said in the same words next to its field.
// How to run: see the top of harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openRoom, screenshot, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

// What the API calls things, which a person never reads on a form.
const API_WORDS = /timerDuration|breakEvery|breakDuration|duration\b|\b\d{4,}\b|milli/;

/** Each field's error message as a person (and a screen reader) gets it: shown, tied, marked. */
function fieldStates(page, ids) {
  return page.evaluate((ids) => ids.map((id) => {
    const input = document.getElementById(id);
    const tied = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean)
      .map((ref) => document.getElementById(ref))
      .filter((node) => node && node.classList.contains('field-error') && !node.hidden && node.textContent.trim() !== '');
    return {
      id,
      invalid: input.getAttribute('aria-invalid') === 'true',
      message: tied.map((node) => node.textContent.trim()).join(' | '),
    };
  }), ids);
}

async function homePage() {
  const context = await env.browser.newContext({ viewport: { width: 1000, height: 900 } });
  const page = await context.newPage();
  const posts = [];
  page.on('request', (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === '/api/pair-room') posts.push(req.postData());
  });
  await page.goto(`${env.server.base}/`);
  return { page, posts };
}

test('the home page flags every wrong field at once, each in words tied to its input, before asking the server', { timeout: 60_000 }, async () => {
  const { page, posts } = await homePage();
  for (const id of ['driver', 'navigator']) assert.equal(await page.getAttribute(`#${id}`, 'maxlength'), '20');
  await page.click('#add-member');
  assert.equal(await page.getAttribute('#member-3', 'maxlength'), '20');

  // Everything empty.
  await page.fill('#minutes', '');
  await page.fill('#break-every', '');
  await page.fill('#break-minutes', '');
  await page.click('#create');
  const ids = ['driver', 'navigator', 'member-3', 'minutes', 'break-every', 'break-minutes'];
  let states = await fieldStates(page, ids);
  for (const s of states) {
    assert.ok(s.invalid, `${s.id} is not marked invalid: ${JSON.stringify(states)}`);
    assert.ok(s.message, `${s.id} has no message tied to it: ${JSON.stringify(states)}`);
    assert.doesNotMatch(s.message, API_WORDS, s.id);
  }
  assert.equal(await page.evaluate(() => document.activeElement.id), 'driver');
  assert.match(await page.textContent('#form-error'), /6 fields need a change/);

  // Every number out of bounds, and a break interval that is not whole.
  await page.fill('#driver', 'Grace');
  await page.fill('#navigator', 'Alan');
  await page.fill('#member-3', 'Grace');
  await page.fill('#minutes', '0');
  await page.fill('#break-every', '1.5');
  await page.fill('#break-minutes', '61');
  await page.click('#create');
  states = Object.fromEntries((await fieldStates(page, ids)).map((s) => [s.id, s]));
  assert.equal(states.driver.invalid, false);
  assert.equal(states.navigator.invalid, false);
  assert.match(states['member-3'].message, /Grace is already the driver/);
  assert.equal(states.minutes.message, 'A turn lasts at least 1 second.');
  assert.match(states['break-every'].message, /whole number of turns/);
  assert.equal(states['break-minutes'].message, 'A break lasts at most 60 minutes.');
  await screenshot(page, 'words-home-every-field');

  await page.fill('#member-3', 'Edsger');
  await page.fill('#minutes', '1441');
  await page.fill('#break-every', '21');
  await page.fill('#break-minutes', '0');
  await page.click('#create');
  states = Object.fromEntries((await fieldStates(page, ids)).map((s) => [s.id, s]));
  assert.equal(states.minutes.message, 'A turn lasts at most 24 hours.');
  assert.equal(states['break-every'].message, 'Breaks can be at most 20 turns apart.');
  assert.equal(states['break-minutes'].message, 'A break lasts at least 1 second.');
  for (const s of Object.values(states)) assert.doesNotMatch(s.message, API_WORDS, s.id);

  // Nothing was sent: the page knew.
  assert.deepEqual(posts, []);
  await page.context().close();
});

test('a refusal of the server on the home page is said in minutes next to its field', { timeout: 60_000 }, async () => {
  const { page } = await homePage();
  // The page lets only good values through; this request is changed on its way so
  // that the real server refuses it, with its own message.
  await page.route('**/api/pair-room', (route) => {
    const body = JSON.parse(route.request().postData());
    route.continue({ postData: JSON.stringify({ ...body, timerDuration: 400 }) });
  });
  const answer = page.waitForResponse((res) => new URL(res.url()).pathname === '/api/pair-room');
  await page.fill('#driver', 'Grace');
  await page.fill('#navigator', 'Alan');
  await page.click('#create');
  const res = await answer;
  assert.equal(res.status(), 400);
  assert.equal((await res.json()).message, 'timerDuration must be at least 1000');
  await page.waitForFunction(() => document.getElementById('minutes-error').textContent !== '', null, { timeout: 10_000 });
  const [minutes] = await fieldStates(page, ['minutes']);
  assert.deepEqual(minutes, { id: 'minutes', invalid: true, message: 'A turn lasts at least 1 second.' });
  await page.context().close();
});

test('the room page says a wrong turn length and every wrong break setting at once, in minutes and turns', { timeout: 60_000 }, async () => {
  const code = await env.server.createRoom({ driver: 'Grace', navigator: 'Alan' });
  const page = await openRoom(env.browser, env.server, code, { contextOptions: { viewport: { width: 1000, height: 1400 } } });
  const patches = [];
  page.on('request', (req) => {
    if (req.method() === 'PATCH') patches.push(new URL(req.url()).pathname);
  });
  for (const id of ['add-member-name', 'visitor-name']) assert.equal(await page.getAttribute(`#${id}`, 'maxlength'), '20');

  await page.fill('#duration', '0');
  await page.click('#set-duration');
  await page.waitForFunction(() => !document.getElementById('duration-error').hidden, null, { timeout: 10_000 });
  assert.deepEqual((await fieldStates(page, ['duration']))[0], {
    id: 'duration', invalid: true, message: 'A turn lasts at least 1 second.',
  });
  await page.fill('#duration', '');
  await page.click('#set-duration');
  await page.waitForFunction(() => /Enter the minutes per turn/.test(document.getElementById('duration-error').textContent), null, {
    timeout: 10_000,
  });

  await page.fill('#break-every', '2.5');
  await page.fill('#break-minutes', '0');
  await page.click('#save-breaks');
  await page.waitForFunction(() => !document.getElementById('break-minutes-error').hidden, null, { timeout: 10_000 });
  const [every, length] = await fieldStates(page, ['break-every', 'break-minutes']);
  assert.equal(every.invalid, true);
  assert.match(every.message, /whole number of turns/);
  assert.equal(length.invalid, true);
  assert.equal(length.message, 'A break lasts at least 1 second.');
  await screenshot(page, 'words-room-every-field');

  // Typing in one field clears its message only.
  await page.fill('#break-every', '2');
  assert.equal((await fieldStates(page, ['break-every']))[0].invalid, false);
  assert.equal((await fieldStates(page, ['break-minutes']))[0].message, 'A break lasts at least 1 second.');
  assert.deepEqual(patches, [], 'the page sent what it knew to be wrong');
  await page.context().close();
});

test('a refusal of the server on the room page is said in minutes next to its field', { timeout: 60_000 }, async () => {
  const code = await env.server.createRoom({ driver: 'Grace', navigator: 'Alan' });
  const page = await openRoom(env.browser, env.server, code, { contextOptions: { viewport: { width: 1000, height: 1400 } } });
  // Good values leave the page; on their way they are made ones the server refuses.
  await page.route(`**/api/${code}/timer`, (route) => {
    if (route.request().method() !== 'PATCH') return route.continue();
    return route.continue({ postData: JSON.stringify({ duration: 200 }) });
  });
  await page.route(`**/api/pair-room/${code}/settings`, (route) => {
    route.continue({ postData: JSON.stringify({ breakDuration: 7_200_000 }) });
  });

  await page.fill('#duration', '10');
  await page.click('#set-duration');
  await page.waitForFunction(() => document.getElementById('duration-error').textContent !== '', null, { timeout: 10_000 });
  assert.deepEqual((await fieldStates(page, ['duration']))[0], {
    id: 'duration', invalid: true, message: 'A turn lasts at least 1 second.',
  });

  await page.fill('#break-minutes', '10');
  await page.click('#save-breaks');
  await page.waitForFunction(() => document.getElementById('break-minutes-error').textContent !== '', null, { timeout: 10_000 });
  assert.deepEqual((await fieldStates(page, ['break-minutes']))[0], {
    id: 'break-minutes', invalid: true, message: 'A break lasts at most 60 minutes.',
  });
  const room = await env.server.api('GET', `/api/pair-room/${code}`);
  assert.equal(room.body.duration, 25 * 60_000);
  assert.equal(room.body.settings.breakDuration, 300_000);
  await page.context().close();
});

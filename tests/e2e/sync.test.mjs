// Several pages of one room stay on the same second, reach time-up together,
// come back after a reload, and learn that the room was deleted.
// How to run: see the top of harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clock,
  countdown,
  openRoom,
  pause,
  sameSecond,
  screenshot,
  seconds,
  timerState,
  waitConnection,
  waitCountdown,
  useServerAndBrowser,
} from './harness.mjs';

const env = useServerAndBrowser();

async function waitTimer(page, state, timeout = 10_000) {
  await page.waitForFunction((want) => document.body.dataset.timer === want, state, { timeout });
}

// Records every text the countdown shows, and the time-up sound and
// notification, so a test can tell what a person would have seen and heard.
function recorder() {
  window.__shown = [];
  window.__notifications = [];
  window.__oscillators = 0;
  class FakeNotification {
    static get permission() { return 'granted'; }
    static requestPermission() { return Promise.resolve('granted'); }
    constructor(title, options) { window.__notifications.push({ title, body: options && options.body }); }
    close() {}
  }
  window.Notification = FakeNotification;
  const Base = window.BaseAudioContext || window.AudioContext;
  const create = Base.prototype.createOscillator;
  Base.prototype.createOscillator = function () {
    window.__oscillators += 1;
    return create.apply(this, arguments);
  };
  document.addEventListener('DOMContentLoaded', () => {
    const el = document.getElementById('countdown');
    new MutationObserver(() => window.__shown.push(el.textContent)).observe(el, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
}

test('two pages show the same second while it runs, and stop together', { timeout: 90_000 }, async () => {
  const code = await env.server.createRoom({ timerDuration: 10 * 60_000 });
  const a = await openRoom(env.browser, env.server, code);
  const b = await openRoom(env.browser, env.server, code);
  assert.equal(await sameSecond([a, b]), '10:00');

  await a.click('#start');
  await waitTimer(a, 'running');
  await waitTimer(b, 'running');
  await waitCountdown(b, '09:59');

  const seen = [];
  for (let i = 0; i < 8; i++) {
    seen.push(await sameSecond([a, b]));
    await pause(230); // spread the samples over several seconds
  }
  const secs = seen.map(seconds);
  for (let i = 1; i < secs.length; i++) assert.ok(secs[i] <= secs[i - 1], `counted up: ${seen}`);
  assert.ok(secs[0] - secs.at(-1) >= 1, `did not count down: ${seen}`);
  assert.ok(await a.isDisabled('#duration'), 'the duration is editable while running');

  await b.click('#pause');
  await waitTimer(a, 'paused');
  await waitTimer(b, 'paused');
  const stopped = await sameSecond([a, b]);
  const timer = (await env.server.api('GET', `/api/${code}/timer`)).body;
  assert.equal(timer.state, 'paused');
  assert.equal(seconds(stopped), Math.ceil(timer.remainingTime / 1000));
  await pause(1_300); // a paused page must not move on its own
  assert.equal(await sameSecond([a, b]), stopped);
  await screenshot(a, 'sync-paused-a');
  await screenshot(b, 'sync-paused-b');
  await a.context().close();
  await b.context().close();
});

test('a 3-second timer reaches time-up on both pages and swaps the roles', { timeout: 60_000 }, async () => {
  const code = await env.server.createRoom({ driver: 'Linus', navigator: 'Ada', timerDuration: 3_000 });
  const a = await openRoom(env.browser, env.server, code, { initScript: recorder });
  const b = await openRoom(env.browser, env.server, code, { initScript: recorder });
  assert.equal(await a.textContent('#driver'), 'Linus');
  assert.equal(await a.title(), '00:03 · pairsync');

  await a.click('#start');
  for (const page of [a, b]) {
    await page.waitForFunction(
      () =>
        document.getElementById('driver').textContent === 'Ada' &&
        document.getElementById('navigator').textContent === 'Linus' &&
        document.body.dataset.timer === 'idle',
      null,
      { timeout: 10_000 },
    );
    assert.equal(await countdown(page), '00:03');
    assert.equal(await page.title(), '00:03 · pairsync');
    assert.match(await page.textContent('#status'), /Time is up/);
    const shown = await page.evaluate(() => window.__shown);
    for (const s of ['00:02', '00:01']) assert.ok(shown.includes(s), `never showed ${s}: ${shown}`);
    const notes = await page.evaluate(() => window.__notifications);
    assert.equal(notes.length, 1, `notifications: ${JSON.stringify(notes)}`);
    assert.match(notes[0].body, /Ada drives/);
    assert.ok((await page.evaluate(() => window.__oscillators)) > 0, 'no time-up sound');
  }
  const timer = (await env.server.api('GET', `/api/${code}/timer`)).body;
  assert.equal(timer.round, 1);
  await screenshot(a, 'timeup-a');
  await screenshot(b, 'timeup-b');
  await a.context().close();
  await b.context().close();
});

test('a reloaded page comes back on the running countdown', { timeout: 60_000 }, async () => {
  const code = await env.server.createRoom({ timerDuration: 5 * 60_000 });
  const a = await openRoom(env.browser, env.server, code);
  const b = await openRoom(env.browser, env.server, code);
  await b.click('#start');
  await waitCountdown(a, '04:59');

  await a.reload({ waitUntil: 'commit' });
  // The new page, from its stream alone: running, connected, a countdown on screen.
  await a.waitForFunction(
    () =>
      document.body.dataset.timer === 'running' &&
      document.getElementById('connection').textContent === 'connected' &&
      /^\d\d:\d\d$/.test(document.getElementById('countdown').textContent),
    null,
    { timeout: 10_000 },
  );
  const now = await sameSecond([a, b]);
  assert.ok(seconds(now) < 5 * 60 && seconds(now) > 4 * 60, now);
  // and it keeps counting with the other page
  await waitCountdown(a, clock(seconds(now) - 1));
  await sameSecond([a, b]);
  await screenshot(a, 'reload');
  await a.context().close();
  await b.context().close();
});

test('swap, duration and the space key work from the page', { timeout: 60_000 }, async () => {
  const code = await env.server.createRoom({ driver: 'Barbara', navigator: 'Edsger', timerDuration: 25 * 60_000 });
  const a = await openRoom(env.browser, env.server, code);
  const b = await openRoom(env.browser, env.server, code);

  await a.click('#swap');
  await b.waitForFunction(() => document.getElementById('driver').textContent === 'Edsger');
  assert.equal(await b.textContent('#navigator'), 'Barbara');
  assert.match(await b.textContent('#status'), /swapped/i);

  await a.fill('#duration', '2');
  await a.press('#duration', 'Enter');
  await waitCountdown(b, '02:00');
  await waitCountdown(a, '02:00');
  assert.equal(await b.inputValue('#duration'), '2');
  assert.equal((await env.server.api('GET', `/api/${code}/timer`)).body.duration, 120_000);

  await a.locator('body').click({ position: { x: 5, y: 300 } });
  await a.keyboard.press('Space');
  await waitTimer(b, 'running');
  assert.ok(await b.isDisabled('#duration'));
  assert.ok(await b.isDisabled('#start'));
  await a.keyboard.press('Space');
  await waitTimer(b, 'paused');

  await b.click('#reset');
  await waitTimer(a, 'idle');
  assert.equal(await countdown(a), '02:00');
  await screenshot(a, 'controls');
  await a.context().close();
  await b.context().close();
});

test('a page swaps right after a time-up, and every swap it sends names the round', { timeout: 60_000 }, async () => {
  // A swap that names no round within 10 s of a time-up is taken for that time-up's own
  // swap (the contract's rule for coduo's pages) and changes nothing: the bundled page
  // always names the round, and never sends a swap of its own at the time-up.
  const code = await env.server.createRoom({ driver: 'Linus', navigator: 'Ada', timerDuration: 2_000 });
  const a = await openRoom(env.browser, env.server, code);
  const swaps = [];
  a.on('request', (req) => {
    const url = new URL(req.url());
    if (url.pathname.endsWith('/pair-swap')) swaps.push({ method: req.method(), round: url.searchParams.get('round') });
  });
  const roles = (driver) =>
    a.waitForFunction(
      (want) => document.getElementById('driver').textContent === want && document.body.dataset.timer === 'idle',
      driver,
      { timeout: 10_000 },
    );

  await a.click('#start');
  await roles('Ada'); // the time-up swapped
  const timeUp = (await env.server.api('GET', `/api/pair-room/${code}`)).body;
  assert.deepEqual([timeUp.timer.round, timeUp.driver], [1, 'Ada']);
  assert.deepEqual(swaps, [], 'the page sent a swap of its own at the time-up');

  await a.click('#swap');
  await roles('Linus');
  await a.click('#swap');
  await roles('Ada');
  const room = (await env.server.api('GET', `/api/pair-room/${code}`)).body;
  assert.deepEqual([room.timer.round, room.driver, room.navigator], [1, 'Ada', 'Linus']);
  assert.deepEqual(swaps, [
    { method: 'PATCH', round: '1' },
    { method: 'PATCH', round: '1' },
  ]);
  await screenshot(a, 'swap-after-time-up');
  await a.context().close();
});

test('deleting the room tells every page', { timeout: 60_000 }, async () => {
  const code = await env.server.createRoom();
  const a = await openRoom(env.browser, env.server, code);
  const b = await openRoom(env.browser, env.server, code);
  await a.click('#start');
  await waitTimer(b, 'running');

  const res = await fetch(`${env.server.base}/api/pair-room/${code}`, { method: 'DELETE' });
  assert.equal(res.status, 204);
  for (const page of [a, b]) {
    await waitConnection(page, 'room deleted');
    await page.locator('#gone').waitFor({ state: 'visible' });
    assert.equal(await page.getAttribute('#gone a', 'href'), '/');
    assert.ok(await page.isDisabled('#start'));
  }
  assert.equal((await env.server.api('GET', `/api/pair-room/${code}`)).status, 404);
  await screenshot(a, 'deleted');
  await a.context().close();
  await b.context().close();
});

// Two pages count as showing the same second when each shows it within this of the
// other (as in tabs.test.mjs): each page draws on its own renderer process, and on a busy
// two-core machine one of them can be that late to paint.
const SAME_SECOND_MS = 150;

// Records, in the page, every text the countdown shows and when (epoch ms).
function timedRecorder() {
  window.__timed = [];
  document.addEventListener('DOMContentLoaded', () => {
    const el = document.getElementById('countdown');
    new MutationObserver(() => window.__timed.push([el.textContent.trim(), Date.now()])).observe(el, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
}

test('two pages with a stream each show every second within 150 ms of each other', { timeout: 60_000 }, async (t) => {
  const code = await env.server.createRoom({ timerDuration: 10 * 60_000 });
  // Each in a browser context of its own: no tab shares its stream with the other.
  const a = await openRoom(env.browser, env.server, code, { initScript: timedRecorder });
  const b = await openRoom(env.browser, env.server, code, { initScript: timedRecorder });
  const room = await env.server.api('GET', `/api/pair-room/${code}`);
  assert.equal(room.body.watching, 2);
  await a.click('#start');
  await waitTimer(a, 'running');
  await waitTimer(b, 'running');
  const since = Date.now();
  await pause(4000); // the span sampled: four seconds of countdown on both pages
  const firstShown = await Promise.all(
    [a, b].map(async (page) => {
      const at = new Map();
      for (const [text, t] of await page.evaluate(() => window.__timed)) {
        if (t >= since && !at.has(text)) at.set(text, t);
      }
      return at;
    }),
  );
  const common = [...firstShown[0].keys()].filter((text) => firstShown[1].has(text));
  assert.ok(common.length >= 3, `the pages showed fewer than three seconds in common: ${common}`);
  const secs = common.map(seconds).sort((x, y) => y - x);
  for (let s = secs[0]; s >= secs.at(-1); s--) {
    assert.ok(secs.includes(s), `a page skipped ${clock(s)} (common: ${common})`);
  }
  let widest = 0;
  for (const text of common) {
    const spread = Math.abs(firstShown[0].get(text) - firstShown[1].get(text));
    widest = Math.max(widest, spread);
    assert.ok(spread <= SAME_SECOND_MS, `the pages showed ${text} ${spread} ms apart (at most ${SAME_SECOND_MS})`);
  }
  t.diagnostic(`seconds ${common.at(0)}..${common.at(-1)}, widest spread ${widest} ms`);
  await screenshot(a, 'sync-two-streams-same-second');
});

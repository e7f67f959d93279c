// Breaks and auto-start in the room page: a break looks unlike a turn (ring, badge,
// heading, tab title), the message of its start counts down with it, the end of a
// turn and of a break both chime and notify, a paused tab's title says it is paused,
// and a person changes the room's settings from the page for every page of the room.
// How to run: see the top of harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openRoom, screenshot, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

// Records the chimes (oscillators made) and the notifications a person would get.
function recorder() {
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
}

async function createRoom(fields) {
  const res = await env.server.api('POST', '/api/pair-room', { driver: 'Linus', navigator: 'Ada', ...fields });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.accessCode;
}

async function waitFor(page, fn, arg, timeout = 15_000) {
  try {
    await page.waitForFunction(fn, arg, { timeout });
  } catch (e) {
    // Say what the page showed instead.
    const shown = await page.evaluate(() => ({
      phase: document.body.dataset.phase,
      timer: document.body.dataset.timer,
      state: document.getElementById('timer-state').textContent,
      status: document.getElementById('status').textContent,
      autoStart: document.getElementById('auto-start').checked,
      breakEvery: document.getElementById('break-every').value,
      breakMinutes: document.getElementById('break-minutes').value,
      breaksError: document.getElementById('breaks-error').textContent,
      breakEveryError: document.getElementById('break-every-error').textContent,
      breakMinutesError: document.getElementById('break-minutes-error').textContent,
    }));
    throw new Error(`${e.message}\nthe page showed ${JSON.stringify(shown)}\nwaiting for ${fn}`);
  }
}

/** Asks the API for the room until `accept` takes its settings (or the deadline passes). */
async function settingsBecome(code, accept, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = (await env.server.api('GET', `/api/pair-room/${code}`)).body.settings;
    if (accept(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`the room's settings did not change as expected: ${JSON.stringify(last)}`);
}

function ringStroke(page) {
  return page.evaluate(() => getComputedStyle(document.getElementById('ring-progress')).stroke);
}

test('a break is shown apart from a turn, and its start and end are told with sound and notification', { timeout: 60_000 }, async () => {
  const code = await createRoom({ timerDuration: 2000, breakEvery: 1, breakDuration: 4000 });
  const page = await openRoom(env.browser, env.server, code, { initScript: recorder });
  const turnStroke = await ringStroke(page);
  assert.equal(await page.textContent('h1'), 'Pair room');
  assert.equal(await page.isVisible('#phase-label'), false);

  await page.click('#start');
  await waitFor(page, () => document.body.dataset.phase === 'break' && document.body.dataset.timer === 'running');
  assert.match(await page.title(), /^Break 00:0[1-4] · pairsync$/);
  assert.equal(await page.textContent('h1'), 'Break time');
  assert.ok(await page.isVisible('#phase-label'), 'no break badge');
  assert.equal((await page.textContent('#phase-label')).trim(), 'Break');
  assert.notEqual(await ringStroke(page), turnStroke, 'the ring looks the same in a break');
  assert.match(await page.textContent('#timer-state'), /^Running · after round 1$/);
  assert.match(await page.textContent('#status'), /Time for a break/);
  const duringBreak = await page.evaluate(() => ({ notes: window.__notifications, chimes: window.__oscillators }));
  assert.deepEqual(
    duringBreak.notes.map((n) => n.title),
    ['Time is up: swap roles', 'Time for a break'],
  );
  assert.equal(duringBreak.chimes, 3, 'one chime (three notes) at the end of the turn');
  await screenshot(page, 'break');

  // The break's end: the next turn, idle, the roles kept, a second chime and a notification.
  await waitFor(page, () => document.body.dataset.phase === 'turn' && document.body.dataset.timer === 'idle');
  assert.equal(await page.title(), '00:02 · pairsync');
  assert.equal(await page.textContent('h1'), 'Pair room');
  assert.equal(await page.isVisible('#phase-label'), false);
  // The ring's colour eases back to the turn's.
  await waitFor(page, (want) => getComputedStyle(document.getElementById('ring-progress')).stroke === want, turnStroke);
  assert.match(await page.textContent('#status'), /The break is over/);
  const after = await page.evaluate(() => ({ notes: window.__notifications, chimes: window.__oscillators }));
  assert.equal(after.notes.at(-1).title, 'The break is over');
  assert.match(after.notes.at(-1).body, /Ada drives now/);
  assert.equal(after.chimes, 6, 'a second chime at the end of the break');
  assert.equal(await page.textContent('#driver'), 'Ada');
  await page.context().close();
});

test('the ring of a break measures the break, not the turn, and the turn keeps its length', { timeout: 60_000 }, async () => {
  // A 25-minute turn one second from its end; then a five-minute break.
  const code = await createRoom({
    timerDuration: 25 * 60_000,
    timerRemainingTime: 1000,
    autoStart: true,
    breakEvery: 1,
    breakDuration: 5 * 60_000,
  });
  // Still (no transitions), for a screenshot of the page at rest.
  const page = await openRoom(env.browser, env.server, code, { contextOptions: { reducedMotion: 'reduce' } });
  await page.click('#start');
  await waitFor(page, () => document.body.dataset.phase === 'break');
  // From the next time-up on, a break every fourth round.
  const res = await env.server.api('PATCH', `/api/pair-room/${code}/settings`, { breakEvery: 4 });
  assert.equal(res.status, 204);
  await waitFor(page, () => document.getElementById('break-every').value === '4');
  assert.equal(await page.evaluate(() => document.body.dataset.phase), 'break');
  assert.match(await page.textContent('#countdown'), /^0[45]:\d\d$/);
  // Nearly a full ring: 5 minutes of 5, not 5 of 25.
  const offset = await page.evaluate(() => Number(document.getElementById('ring-progress').style.strokeDashoffset));
  assert.ok(offset < 2, `the ring shows ${100 - offset}% left`);
  assert.equal(await page.inputValue('#duration'), '25');
  assert.equal(await page.inputValue('#break-minutes'), '5');
  assert.ok(await page.isChecked('#auto-start'));
  await screenshot(page, 'readme-break');
  await page.context().close();
});

test('a paused break shows paused, resumes, and reset ends it', { timeout: 60_000 }, async () => {
  const code = await createRoom({ timerDuration: 1000, breakEvery: 1, breakDuration: 600_000 });
  const page = await openRoom(env.browser, env.server, code);
  await page.click('#start');
  await waitFor(page, () => document.body.dataset.phase === 'break' && document.body.dataset.timer === 'running');
  await page.click('#pause');
  await waitFor(page, () => document.body.dataset.timer === 'paused');
  assert.equal(await page.evaluate(() => document.body.dataset.phase), 'break');
  assert.match(await page.textContent('#timer-state'), /^Paused · after round 1$/);
  assert.match(await page.title(), /^\u23f8 Break (10:00|09:[45]\d) · pairsync$/);
  await screenshot(page, 'break-paused');
  await page.click('#start');
  await waitFor(page, () => document.body.dataset.timer === 'running' && document.body.dataset.phase === 'break');
  await page.click('#reset');
  await waitFor(page, () => document.body.dataset.timer === 'idle' && document.body.dataset.phase === 'turn');
  assert.equal(await page.textContent('#countdown'), '00:01');
  const timer = (await env.server.api('GET', `/api/${code}/timer`)).body;
  assert.deepEqual([timer.phase, timer.state, timer.round], ['turn', 'idle', 1]);
  await page.context().close();
});

test('the settings changed on one page reach the room and every other page', { timeout: 60_000 }, async () => {
  const code = await createRoom({ timerDuration: 25 * 60_000 });
  const a = await openRoom(env.browser, env.server, code);
  const b = await openRoom(env.browser, env.server, code);
  assert.equal(await a.isChecked('#auto-start'), false);
  assert.equal(await a.inputValue('#break-every'), '0');
  assert.equal(await a.inputValue('#break-minutes'), '5');

  await a.check('#auto-start');
  await settingsBecome(code, (s) => s.autoStart === true);
  await waitFor(b, () => document.getElementById('auto-start').checked);

  await a.fill('#break-every', '3');
  await a.fill('#break-minutes', '1.5');
  await a.click('#save-breaks');
  await waitFor(
    b,
    () => document.getElementById('break-every').value === '3' && document.getElementById('break-minutes').value === '1.5',
  );
  assert.deepEqual((await env.server.api('GET', `/api/pair-room/${code}`)).body.settings, {
    autoStart: true,
    breakEvery: 3,
    breakDuration: 90_000,
  });
  await screenshot(a, 'settings');

  // A value out of bounds is refused next to the field and changes nothing.
  await a.fill('#break-every', '25');
  await a.click('#save-breaks');
  await a.locator('#break-every-error').waitFor({ state: 'visible', timeout: 10_000 });
  assert.equal(await a.textContent('#break-every-error'), 'Breaks can be at most 20 turns apart.');
  assert.equal(await a.getAttribute('#break-every', 'aria-invalid'), 'true');
  await a.fill('#break-minutes', '61');
  await a.fill('#break-every', '3');
  await a.click('#save-breaks');
  await waitFor(a, () => document.getElementById('break-minutes-error').textContent === 'A break lasts at most 60 minutes.');
  assert.equal((await env.server.api('GET', `/api/pair-room/${code}`)).body.settings.breakDuration, 90_000);
  await a.context().close();
  await b.context().close();
});

test('with auto-start set on the page, the next turn starts by itself at the time-up', { timeout: 60_000 }, async () => {
  const code = await createRoom({ timerDuration: 2000 });
  const page = await openRoom(env.browser, env.server, code);
  await page.check('#auto-start');
  await settingsBecome(code, (s) => s.autoStart === true);
  await page.click('#start');
  await waitFor(page, () => /round 2$/.test(document.getElementById('timer-state').textContent));
  assert.equal(await page.evaluate(() => document.body.dataset.timer), 'running');
  assert.equal(await page.textContent('#driver'), 'Ada');
  const timer = (await env.server.api('GET', `/api/${code}/timer`)).body;
  assert.deepEqual([timer.state, timer.round], ['running', 1]);
  await page.context().close();
});

test('the break message counts down with the clock, and a paused tab says so in its title', { timeout: 60_000 }, async () => {
  const code = await createRoom({ timerDuration: 1000, breakEvery: 1, breakDuration: 8000 });
  const page = await openRoom(env.browser, env.server, code);
  assert.equal(await page.title(), '00:01 · pairsync');
  await page.click('#start');
  await waitFor(page, () => document.body.dataset.phase === 'break' && document.querySelector('#status .status-clock') !== null);
  const first = await page.textContent('#status .status-clock');
  assert.match(first, /^00:0[1-8]$/);
  // The message's time moves on, and it is the countdown's.
  await waitFor(page, (first) => {
    const inMessage = document.querySelector('#status .status-clock').textContent;
    return inMessage !== first && inMessage === document.getElementById('countdown').textContent;
  }, first);
  // What the eye reads, and what a screen reader was told once (the ticking part is
  // hidden from it, the break's length said in words instead).
  const said = await page.evaluate(() => {
    const status = document.getElementById('status');
    const seen = status.cloneNode(true);
    seen.querySelectorAll('.sr-only').forEach((n) => n.remove());
    const heard = status.cloneNode(true);
    heard.querySelectorAll('[aria-hidden="true"]').forEach((n) => n.remove());
    return { seen: seen.textContent, heard: heard.textContent };
  });
  assert.match(said.seen, /^Time for a break: 00:0[0-7]\. Then Ada drives, Linus navigates\.$/);
  assert.equal(said.heard, 'Time for a break: 8 s. Then Ada drives, Linus navigates.');
  assert.match(await page.title(), /^Break 00:0[0-7] · pairsync$/);
  await screenshot(page, 'break-message-counting');

  // Paused: the title says so, and the message shows the second the break paused at.
  await page.click('#pause');
  await waitFor(page, () => document.body.dataset.timer === 'paused');
  const paused = await page.textContent('#countdown');
  assert.equal(await page.title(), `\u23f8 Break ${paused} · pairsync`);
  assert.equal(await page.textContent('#status .status-clock'), paused);
  await page.click('#start');
  await waitFor(page, () => document.body.dataset.timer === 'running');
  assert.match(await page.title(), /^Break 00:0[0-7] · pairsync$/);
  await page.click('#reset');
  await waitFor(page, () => document.body.dataset.timer === 'idle' && document.body.dataset.phase === 'turn');

  // A turn: running, then paused, then idle again.
  await env.server.api('PATCH', `/api/${code}/timer`, { duration: 25 * 60_000 });
  await waitFor(page, () => document.getElementById('countdown').textContent === '25:00');
  assert.equal(await page.title(), '25:00 · pairsync');
  await page.click('#start');
  await waitFor(page, () => document.body.dataset.timer === 'running');
  assert.match(await page.title(), /^(25:00|24:5\d) · pairsync$/);
  await page.click('#pause');
  await waitFor(page, () => document.body.dataset.timer === 'paused');
  assert.equal(await page.title(), `\u23f8 ${await page.textContent('#countdown')} · pairsync`);
  await screenshot(page, 'turn-paused');
  await page.context().close();
});

// The pages survive the server being killed and started again mid-run: they say
// "reconnecting", keep counting down from the deadline they know (marked as such,
// never showing less time than really remains, never below 00:00, where they wait
// for the server's word), and the next greeting puts them right.
// How to run: see the top of harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  clock,
  countdown,
  openRoom,
  pause,
  sameSecond,
  screenshot,
  seconds,
  waitConnected,
  waitConnection,
  waitCountdown,
  useServerAndBrowser,
} from './harness.mjs';
import { assertNoWcagViolation } from './a11y.mjs';

const env = useServerAndBrowser();

// How late a tick may reach a page (it is sent on time): the page counts on from the
// moment it got it, so it may show up to this much more than remains.
const DELIVERY_MS = 250;

// For 2.5 s, `page` (which showed `held`) counts down by itself: never less than the
// deadline leaves, never more than that plus a tick's delivery, never back up, and at
// least two seconds on in all. `while` says what was going on, for the messages.
async function assertCountsOn(page, deadlineAt, held, while_) {
  const since = Date.now();
  let last = seconds(held);
  while (Date.now() - since < 2_500) {
    const t0 = Date.now();
    const shown = seconds(await countdown(page));
    const t1 = Date.now();
    // At most the truth at t0 plus rounding and a tick's delivery; at least the truth at t1.
    const least = Math.ceil((deadlineAt - t1) / 1000);
    const most = Math.ceil((deadlineAt - t0 + DELIVERY_MS) / 1000);
    assert.ok(shown >= least && shown <= most, `shows ${clock(shown)} while the deadline says ${clock(least)}..${clock(most)}`);
    assert.ok(shown <= last, `went back up from ${clock(last)} to ${clock(shown)}`);
    last = shown;
    await pause(100);
  }
  assert.ok(seconds(held) - last >= 2, `froze while ${while_}: ${held} then ${clock(last)}`);
}

test('pages survive a server restart mid-run', { timeout: 90_000 }, async () => {
  const code = await env.server.createRoom({ driver: 'Frances', navigator: 'John', timerDuration: 2 * 60_000 });
  // Colours are checked as they rest, not half-way through a transition.
  const a = await openRoom(env.browser, env.server, code, { contextOptions: { reducedMotion: 'reduce' } });
  const b = await openRoom(env.browser, env.server, code);
  await a.click('#start');
  await waitCountdown(b, '01:59');
  const before = (await env.server.api('GET', `/api/${code}/timer`)).body;
  assert.equal(before.state, 'running');
  const deadlineAt = before.deadlineAt;

  await env.server.kill();
  await waitConnection(a, 'reconnecting', 5_000);
  await waitConnection(b, 'reconnecting', 5_000);
  await screenshot(a, 'restart-reconnecting');

  // No server, no ticks: the pages count on by themselves, marked as reconnecting,
  // and never show less time than remains (the truth is the deadline they were told).
  const held = await sameSecond([a, b]);
  for (const page of [a, b]) assert.ok(await page.isVisible('#estimate-label'), 'the countdown is not marked as reconnecting');
  await assertCountsOn(a, deadlineAt, held, 'reconnecting');
  await screenshot(a, 'restart-counting-on');
  await assertNoWcagViolation(a, 'room, reconnecting (light)');

  await env.server.start();
  await waitConnected(a, 15_000);
  await waitConnected(b, 15_000);

  // Right after reconnecting, the second shown matches the deadline that
  // was set before the crash (tolerating one tick boundary either side).
  const t0 = Date.now();
  const shown = seconds(await sameSecond([a, b]));
  const t1 = Date.now();
  const latest = Math.ceil((deadlineAt - t0) / 1000);
  const earliest = Math.ceil((deadlineAt - t1) / 1000);
  assert.ok(
    shown <= latest + 1 && shown >= earliest - 1,
    `shows ${clock(shown)}, the deadline says ${clock(earliest)}..${clock(latest)}`,
  );
  assert.ok(seconds(held) - shown >= 1, `did not move on after the restart: held ${held}, shows ${clock(shown)}`);
  for (const page of [a, b]) assert.equal(await page.isVisible('#estimate-label'), false, 'still marked as reconnecting');

  // and it keeps counting, together
  await waitCountdown(a, clock(shown - 1), 5_000);
  await waitCountdown(b, clock(shown - 1), 5_000);
  await sameSecond([a, b]);
  const after = (await env.server.api('GET', `/api/${code}/timer`)).body;
  assert.equal(after.state, 'running');
  assert.equal(after.deadlineAt, deadlineAt);
  assert.equal(await a.textContent('#driver'), 'Frances');
  assert.equal(await countdown(a), await countdown(b));
  await screenshot(a, 'restart-after');
  await a.context().close();
  await b.context().close();
});

test('a page whose room is gone after a restart says so', { timeout: 90_000 }, async () => {
  const code = await env.server.createRoom({ driver: 'Radia', navigator: 'Vint' });
  const page = await openRoom(env.browser, env.server, code);

  // Same port, but a database that never had this room: the reconnect gets 404.
  await env.server.kill();
  await waitConnection(page, 'reconnecting', 5_000);
  env.server.dbUrl = path.join(env.server.dir, 'empty.db');
  await env.server.start();

  await waitConnection(page, 'room deleted', 15_000);
  await page.locator('#gone').waitFor({ state: 'visible' });
  assert.equal(await page.getAttribute('#gone a', 'href'), '/');
  await screenshot(page, 'restart-room-gone');
  await page.context().close();
});

test('a countdown that runs out while the server is down stops at 00:00 until the server says what happened', { timeout: 90_000 }, async () => {
  const code = await env.server.createRoom({ driver: 'Barbara', navigator: 'Edsger', timerDuration: 4_000 });
  const page = await openRoom(env.browser, env.server, code, {
    contextOptions: { colorScheme: 'dark', reducedMotion: 'reduce' },
  });
  await page.click('#start');
  await waitCountdown(page, '00:03');
  await env.server.kill();
  await waitConnection(page, 'reconnecting', 5_000);

  // It reaches 00:00 by itself, and stays there: never below, never a new turn.
  await waitCountdown(page, '00:00', 6_000);
  const zeroAt = Date.now();
  while (Date.now() - zeroAt < 1_500) {
    assert.equal(await countdown(page), '00:00');
    assert.equal(await page.textContent('#driver'), 'Barbara');
    assert.match(await page.title(), /^00:00 · pairsync$/);
    await pause(100);
  }
  await screenshot(page, 'restart-at-zero');
  await assertNoWcagViolation(page, 'room, reconnecting at 00:00 (dark)');

  // Back up: the time-up happened meanwhile (roles swapped, the next turn ready).
  await env.server.start();
  await waitConnected(page, 15_000);
  await waitCountdown(page, '00:04');
  assert.equal(await page.textContent('#driver'), 'Edsger');
  assert.equal(await page.textContent('#navigator'), 'Barbara');
  assert.equal(await page.evaluate(() => document.body.dataset.timer), 'idle');
  assert.equal(await page.isVisible('#estimate-label'), false);
  await page.context().close();
});

test('pages keep counting while the server hangs without closing their streams, and catch up when it answers again', { timeout: 90_000 }, async () => {
  const code = await env.server.createRoom({ driver: 'Grace', navigator: 'Alan', timerDuration: 2 * 60_000 });
  const a = await openRoom(env.browser, env.server, code);
  const b = await openRoom(env.browser, env.server, code);
  await a.click('#start');
  await waitCountdown(b, '01:59');
  const { deadlineAt } = (await env.server.api('GET', `/api/${code}/timer`)).body;

  // A stopped process keeps its connections open and says nothing: no error
  // reaches the pages, only silence.
  const pid = env.server.proc.pid;
  process.kill(pid, 'SIGSTOP');
  try {
    const stoppedAt = Date.now();
    // A tick is due every second; the pages notice the silence within seconds.
    await waitConnection(a, 'reconnecting', 6_000);
    await waitConnection(b, 'reconnecting', 6_000);
    assert.ok(Date.now() - stoppedAt >= 2_000, 'said reconnecting before a tick was missing');
    const held = await sameSecond([a, b]);
    for (const page of [a, b]) assert.ok(await page.isVisible('#estimate-label'), 'the countdown is not marked as reconnecting');
    await assertCountsOn(a, deadlineAt, held, 'the server hung');
  } finally {
    process.kill(pid, 'SIGCONT');
  }

  // The server answers the streams the pages opened meanwhile: on the right second.
  await waitConnected(a, 15_000);
  await waitConnected(b, 15_000);
  const t0 = Date.now();
  const shown = seconds(await sameSecond([a, b]));
  const t1 = Date.now();
  assert.ok(
    shown <= Math.ceil((deadlineAt - t0) / 1000) + 1 && shown >= Math.ceil((deadlineAt - t1) / 1000) - 1,
    `shows ${clock(shown)} after the hang, the deadline says ${clock(Math.ceil((deadlineAt - t1) / 1000))}`,
  );
  for (const page of [a, b]) assert.equal(await page.isVisible('#estimate-label'), false, 'still marked as reconnecting');
  await waitCountdown(a, clock(shown - 1), 5_000);
  await waitCountdown(b, clock(shown - 1), 5_000);
  await a.context().close();
  await b.context().close();
});

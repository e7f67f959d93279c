// The pages survive the server being killed and started again mid-run:
// they say "reconnecting", hold still, and come back on the countdown that
// kept running server-side toward the same deadline.
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

const env = useServerAndBrowser();

test('pages survive a server restart mid-run', { timeout: 90_000 }, async () => {
  const code = await env.server.createRoom({ driver: 'Frances', navigator: 'John', timerDuration: 2 * 60_000 });
  const a = await openRoom(env.browser, env.server, code);
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

  // No server, no ticks: the pages hold the last second they were told.
  const held = await sameSecond([a, b]);
  await pause(1_200);
  assert.equal(await sameSecond([a, b]), held, 'a page counted down on its own while the server was down');

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

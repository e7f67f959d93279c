// A whole session of a pair, as two people's browsers and a terminal see it at once:
// a room with short turns, a break after every turn and auto-start, two room pages (each
// in a browser context of its own) and `pairsync watch` in a real terminal (tmux). A turn
// started on one page ends, roles swap everywhere, the break shows as a break everywhere,
// it ends, the next turn starts by itself, and at sampled moments all three show the same
// second; then the terminal pauses, swaps and quits, and both pages follow.
// How to run: see the top of harness.mjs; this file also needs `tmux` (see tmux.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  BIN,
  SHOTS_DIR,
  clock,
  countdown,
  openRoom,
  pause,
  sameSecond,
  screenshot,
  seconds,
  useServerAndBrowser,
} from './harness.mjs';
import { TmuxClient, countdownColour, parseWatch } from './tmux.mjs';

const env = useServerAndBrowser();

// Short enough for a quick test, long enough that every phase holds a sample taken in
// the middle of one of its seconds, and that a key typed at the start of a turn lands
// in it on a busy machine.
const TURN_MS = 5_000;
const BREAK_MS = 4_000;
// What a wait for a change the server makes on its own allows beyond the change's time.
const SLACK_MS = 10_000;
// How long after the pages showed a new second a sample is taken: far from both of
// that second's boundaries (see `sameSecondEverywhere`).
const INTO_THE_SECOND_MS = 300;
// Samples taken in a row before the pages and the terminal are read apart from a boundary.
const SAMPLE_TRIES = 6;

/** What a room page shows. */
function pageView(page) {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent.trim();
    const badge = document.getElementById('phase-label');
    return {
      clock: text('countdown'),
      timer: document.body.dataset.timer,
      phase: document.body.dataset.phase,
      state: text('timer-state'),
      driver: text('driver'),
      navigator: text('navigator'),
      title: document.title,
      heading: text('room-heading'),
      badge: badge.hidden ? null : badge.textContent.trim(),
      ring: getComputedStyle(document.getElementById('ring-progress')).stroke,
      connection: text('connection'),
    };
  });
}

/** Waits until `accept(view)` holds for the page's view; fails showing the last view. */
async function untilPage(page, name, accept, what, timeout) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const view = await pageView(page);
    if (accept(view)) return view;
    assert.ok(Date.now() < deadline, `page ${name} did not show ${what} within ${timeout} ms; it shows ${JSON.stringify(view)}`);
    await pause(20);
  }
}

/**
 * Waits, on both pages and the terminal at once, until each shows `what`: `onPage`
 * judges a page's view, `onTerminal` the terminal's parsed screen.
 */
async function untilAll({ pages: [a, b], term }, what, onPage, onTerminal, timeout = SLACK_MS) {
  const [viewA, viewB, screen] = await Promise.all([
    untilPage(a, 'A', onPage, what, timeout),
    untilPage(b, 'B', onPage, what, timeout),
    term.until(onTerminal, what, timeout),
  ]);
  return { viewA, viewB, screen };
}

/** Returns once page's countdown has moved on, plus INTO_THE_SECOND_MS (for sampling only). */
async function intoNextSecond(page) {
  const shown = await countdown(page);
  await page.waitForFunction((was) => document.getElementById('countdown').textContent.trim() !== was, shown, {
    timeout: SLACK_MS,
    polling: 10,
  });
  await pause(INTO_THE_SECOND_MS);
}

/**
 * Asserts that both pages and the terminal show the same second, read at nearly the same
 * moment: the pages at once (harness `sameSecond`), then the terminal (`capture-pane`),
 * then the pages again.
 *
 * A reading counts when the pages showed the same second before and after the terminal
 * was read; one where they moved on in between is taken again. The terminal must then
 * show that second. Tolerance, of one second boundary: a page changes its second when the
 * server's tick arrives; the terminal changes it from its own clock (re-anchored at every
 * tick), and tmux shows what the client wrote a moment after it was written. Near a
 * boundary the two may thus be one second apart for some milliseconds, and on a busy
 * machine for longer. Every reading is taken INTO_THE_SECOND_MS after the pages moved on,
 * away from both boundaries; a terminal one second apart is read again in the middle of
 * the next second, and fails if it is one second apart again. More than one second apart
 * fails at once. Returns the second shown and the readings taken.
 */
async function sameSecondEverywhere(who) {
  const { pages, term } = who;
  let apart = 0;
  const readings = [];
  for (let tries = 0; tries < SAMPLE_TRIES; tries++) {
    const before = await sameSecond(pages);
    const started = performance.now();
    const terminal = parseWatch(await term.screen()).clock;
    const took = performance.now() - started;
    const after = await sameSecond(pages);
    readings.push(`pages ${before}, terminal ${terminal} (read in ${took.toFixed(0)} ms), pages ${after}`);
    assert.ok(terminal, `the terminal shows no countdown: ${readings.at(-1)}`);
    if (before === after) {
      const off = Math.abs(seconds(terminal) - seconds(before));
      assert.ok(off <= 1, `the terminal is more than one second off the pages: ${readings.at(-1)}`);
      if (off === 0) return { second: before, readings };
      apart += 1;
      assert.ok(apart < 2, `the terminal is one second off the pages twice in a row:\n${readings.join('\n')}`);
    }
    await intoNextSecond(pages[0]);
  }
  assert.fail(`no reading of the pages and the terminal apart from a second boundary:\n${readings.join('\n')}`);
}

/** The terminal's countdown colour now. */
async function terminalColour(term) {
  return countdownColour(await term.screen({ escapes: true }));
}

/** Saves the terminal's screen beside the screenshots. */
async function saveScreen(term, name) {
  fs.mkdirSync(SHOTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(SHOTS_DIR, `${name}.txt`), await term.screen());
}

test('a whole session: two pages and the terminal client follow a turn, a break and auto-start, and the terminal drives the room', { timeout: 180_000 }, async (t) => {
  const created = await env.server.api('POST', '/api/pair-room', {
    driver: 'Grace',
    navigator: 'Alan',
    timerDuration: TURN_MS,
    autoStart: true,
    breakEvery: 1,
    breakDuration: BREAK_MS,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const code = created.body.accessCode;
  const api = async (what) => (await env.server.api('GET', `/api/pair-room/${code}`)).body[what];
  const fullTurn = clock(TURN_MS / 1000);

  const term = await TmuxClient.watch(BIN, `${env.server.base}/p/${code}`, { cols: 100, rows: 30 });
  let a;
  let b;
  try {
    a = await openRoom(env.browser, env.server, code);
    b = await openRoom(env.browser, env.server, code);
    const who = { pages: [a, b], term };
    const sampled = [];

    // The room as it was created, on all three.
    await untilAll(
      who,
      'the idle room',
      (v) => v.timer === 'idle' && v.phase === 'turn' && v.clock === fullTurn && v.driver === 'Grace',
      (s) => s.connected && s.state === 'idle' && s.phase === 'turn' && s.round === 1 && s.clock === fullTurn && s.driver === 'Grace',
    );

    // Started from page A: a running turn everywhere.
    await a.click('#start');
    const running = await untilAll(
      who,
      'the first turn running',
      (v) => v.timer === 'running' && v.phase === 'turn' && v.state === 'Running · round 1',
      (s) => s.state === 'running' && s.phase === 'turn' && s.round === 1,
    );
    const turnRing = running.viewA.ring;
    assert.equal(running.viewB.ring, turnRing);
    assert.equal(await terminalColour(term), 'green', 'a running turn is drawn green in the terminal');
    for (let i = 0; i < 2; i++) {
      await intoNextSecond(a);
      sampled.push(['turn 1', await sameSecondEverywhere(who)]);
    }

    // The time-up: roles swap everywhere, and the break starts at once.
    const inBreak = await untilAll(
      who,
      'the break, with the roles swapped',
      (v) =>
        v.phase === 'break' &&
        v.timer === 'running' &&
        v.driver === 'Alan' &&
        v.navigator === 'Grace' &&
        v.badge === 'Break' &&
        v.heading === 'Break time' &&
        /^Break \d\d:\d\d · pairsync$/.test(v.title) &&
        v.ring !== turnRing,
      (s) =>
        s.state === 'running' &&
        s.phase === 'break' &&
        s.round === 1 &&
        s.driver === 'Alan' &&
        s.navigator === 'Grace' &&
        /Time for a break/.test(s.notice),
      TURN_MS + SLACK_MS,
    );
    assert.match(inBreak.viewA.state, /^Running · after round 1$/);
    assert.equal(await terminalColour(term), 'cyan', 'a break is drawn cyan in the terminal');
    const breakTimer = await api('timer');
    assert.deepEqual([breakTimer.phase, breakTimer.state, breakTimer.round], ['break', 'running', 1]);
    await intoNextSecond(a);
    const breakSample = await sameSecondEverywhere(who);
    sampled.push(['break', breakSample]);
    assert.ok(seconds(breakSample.second) < BREAK_MS / 1000, `a break second of ${breakSample.second}`);
    assert.equal((await pageView(b)).phase, 'break', 'the break ended before its sample');
    await screenshot(a, 'session-break-a');
    await saveScreen(term, 'session-break-terminal');

    // The break ends, and the next turn starts by itself: nobody touches anything.
    const next = await untilAll(
      who,
      'the next turn, started by itself',
      (v) =>
        v.phase === 'turn' &&
        v.timer === 'running' &&
        v.state === 'Running · round 2' &&
        v.badge === null &&
        v.heading === 'Pair room' &&
        /^\d\d:\d\d · pairsync$/.test(v.title) &&
        v.ring === turnRing,
      (s) => s.state === 'running' && s.phase === 'turn' && s.round === 2 && /The break is over/.test(s.notice),
      BREAK_MS + SLACK_MS,
    );
    assert.equal(next.viewB.driver, 'Alan', 'the end of a break swaps nothing');
    assert.equal(next.screen.driver, 'Alan');
    assert.equal(await terminalColour(term), 'green');
    const nextTimer = await api('timer');
    assert.deepEqual([nextTimer.phase, nextTimer.state, nextTimer.round], ['turn', 'running', 1]);
    await intoNextSecond(a);
    sampled.push(['turn 2', await sameSecondEverywhere(who)]);

    // Paused from the terminal (space): both pages pause, at the terminal's second.
    await term.keys('Space');
    await untilAll(
      who,
      'the turn paused from the terminal',
      (v) => v.timer === 'paused' && v.phase === 'turn' && v.state === 'Paused · round 2',
      (s) => s.state === 'paused' && s.phase === 'turn' && s.round === 2,
    );
    const paused = await sameSecond([a, b]);
    assert.equal(parseWatch(await term.screen()).clock, paused, 'a paused terminal shows the pages\' second');
    const pausedTimer = await api('timer');
    assert.equal(pausedTimer.state, 'paused');
    assert.equal(seconds(paused), Math.ceil(pausedTimer.remainingTime / 1000));
    sampled.push(['paused', { second: paused, readings: [`pages and terminal ${paused}`] }]);

    // Swapped from the terminal (s): both pages swap.
    await term.keys('s');
    await untilAll(
      who,
      'the roles swapped from the terminal',
      (v) => v.driver === 'Grace' && v.navigator === 'Alan' && v.timer === 'paused',
      (s) => s.driver === 'Grace' && s.navigator === 'Alan' && s.state === 'paused',
    );
    assert.deepEqual([await api('driver'), await api('navigator'), (await api('timer')).round], ['Grace', 'Alan', 1]);
    await screenshot(b, 'session-after-swap-b');
    await saveScreen(term, 'session-after-swap-terminal');

    // q quits: exit status 0, the main screen back with its cursor, the terminal cooked.
    await term.keys('q');
    const deadline = Date.now() + SLACK_MS;
    let after;
    // sh prints the exit status, then the modes (a line with `icanon`, or `-icanon` when raw).
    while (!/^exit=\d+$[^]*(^|\s)-?icanon(\s|$)/m.test((after = await term.screen({ history: true })))) {
      assert.ok(Date.now() < deadline, `the client did not quit; the terminal shows:\n${after}`);
      await pause(40);
    }
    const words = after.split(/\s+/);
    assert.match(after, /^exit=0$/m, `the client's exit status:\n${after}`);
    assert.ok(words.includes('icanon') && words.includes('isig') && words.includes('echo'), `the terminal is left raw:\n${after}`);
    assert.equal(await term.pane('#{alternate_on}'), '0', 'the alternate screen is still on');
    assert.equal(await term.pane('#{cursor_flag}'), '1', 'the cursor is still hidden');
    assert.equal(await term.pane('#{pane_dead}'), '0');
    for (const [when, { second, readings }] of sampled) {
      t.diagnostic(`${when}: all three show ${second}; ${readings.join(' | ')}`);
    }
  } finally {
    await saveScreen(term, 'session-terminal-last').catch(() => {});
    await a?.context().close();
    await b?.context().close();
    await term.stop();
  }
});

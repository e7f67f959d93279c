// Many tabs of one browser over plain HTTP/1.1, where a browser opens at most six
// connections to one server: the tabs of a room share one event stream, stay on
// the same second, outlive the tab that holds the stream, and a tab whose stream
// cannot open says why.
// How to run: see the top of harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoWcagViolation } from './a11y.mjs';
import { screenshot, seconds, until, useServerAndBrowser, waitConnected } from './harness.mjs';

const env = useServerAndBrowser();

const TABS = 10;
// Two tabs count as showing the same second when each shows it within this of
// the other: a follower gets each event from the holder tab through a
// BroadcastChannel, a hop between two renderer processes on a busy machine.
const SAME_SECOND_MS = 150;
const STALLED_MS = 5000;
const STALLED_TEXT = /too many pairsync tabs open on this server over plain HTTP/;

// Records, in the page, every text the countdown shows and when (epoch ms).
function recorder() {
  window.__shown = [];
  document.addEventListener('DOMContentLoaded', () => {
    const el = document.getElementById('countdown');
    new MutationObserver(() => window.__shown.push([el.textContent.trim(), Date.now()])).observe(el, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
}

async function openTab(context, code) {
  const page = await context.newPage();
  await page.goto(`${env.server.base}/p/${code}`);
  return page;
}

/** How many streams the server holds for the room. */
async function watching(code) {
  const res = await env.server.api('GET', `/api/pair-room/${code}`);
  assert.equal(res.status, 200);
  return res.body.watching;
}

async function seen(page, since) {
  return (await page.evaluate(() => window.__shown)).filter(([, t]) => t >= since);
}

/**
 * The countdown changes every page showed since `since`: every page showed every
 * second between the first and the last one they all showed, each within
 * SAME_SECOND_MS of the others. Returns the seconds checked and the widest spread.
 */
async function assertSameSeconds(pages, since) {
  const firstShown = await Promise.all(
    pages.map(async (p) => {
      const at = new Map();
      for (const [text, t] of await seen(p, since)) if (!at.has(text)) at.set(text, t);
      return at;
    }),
  );
  const common = [...firstShown[0].keys()].filter((text) => firstShown.every((m) => m.has(text)));
  assert.ok(common.length >= 2, `the tabs showed fewer than two seconds in common: ${common}`);
  const secs = common.map(seconds).sort((a, b) => b - a);
  for (let s = secs[0]; s >= secs.at(-1); s--) {
    const text = common.find((c) => seconds(c) === s);
    assert.ok(text, `a tab skipped ${s} s (common: ${common})`);
  }
  let widest = 0;
  for (const text of common) {
    const times = firstShown.map((m) => m.get(text));
    const spread = Math.max(...times) - Math.min(...times);
    widest = Math.max(widest, spread);
    assert.ok(spread <= SAME_SECOND_MS, `the tabs showed ${text} over ${spread} ms (at most ${SAME_SECOND_MS})`);
  }
  return { secs, widest };
}

/** Waits until every page shows at most `limit` seconds. */
async function allReach(pages, limit, timeout = 15_000) {
  await Promise.all(
    pages.map((p) =>
      p.waitForFunction(
        (max) => {
          const m = /^(\d+):(\d\d)$/.exec(document.getElementById('countdown').textContent.trim());
          return m !== null && Number(m[1]) * 60 + Number(m[2]) <= max;
        },
        limit,
        { timeout, polling: 50 },
      ),
    ),
  );
}

async function shownSeconds(page) {
  return seconds(await page.evaluate(() => document.getElementById('countdown').textContent.trim()));
}

test(`${TABS} tabs of one room share one stream and show the same second, through the holder's close`, { timeout: 180_000 }, async (t) => {
  const code = await env.server.createRoom({ timerDuration: 10 * 60_000 });
  const context = await env.browser.newContext({ viewport: { width: 1000, height: 760 } });
  await context.addInitScript(recorder);
  try {
    // The first tab takes the stream; every other one follows it.
    const pages = [];
    for (let i = 0; i < TABS; i++) {
      const page = await openTab(context, code);
      await waitConnected(page);
      pages.push(page);
    }
    for (const page of pages) {
      assert.equal(await page.textContent('#countdown'), '10:00');
      assert.equal(await page.textContent('#driver'), 'Grace');
    }
    await until(async () => (await watching(code)) === 1, 'the ten tabs hold one stream');

    // A start pressed in a follower reaches every tab.
    const since = Date.now();
    await pages[5].click('#start');
    await Promise.all(pages.map((p) => p.waitForFunction(() => document.body.dataset.timer === 'running')));
    await allReach(pages, 10 * 60 - 4);
    const first = await assertSameSeconds(pages, since);
    t.diagnostic(`${TABS} tabs: seconds ${first.secs.at(0)}..${first.secs.at(-1)}, widest spread ${first.widest} ms`);
    await screenshot(pages[9], 'tabs-follower-running');

    // The holder closes: another tab takes the stream over, and the rest keep
    // ticking, together.
    const holder = pages.shift();
    await holder.close();
    const before = Math.min(...(await Promise.all(pages.map(shownSeconds))));
    await allReach(pages, before - 1);
    await until(async () => (await watching(code)) === 1, 'one stream again after the holder closed');
    const after = Date.now();
    await allReach(pages, before - 4);
    const second = await assertSameSeconds(pages, after);
    t.diagnostic(`after the holder closed: seconds ${second.secs.at(0)}..${second.secs.at(-1)}, widest spread ${second.widest} ms`);

    // A tab opened now draws the room at once, from the holder's latest events.
    const opened = Date.now();
    const late = await openTab(context, code);
    await waitConnected(late, 3_000);
    const drawn = Date.now() - opened;
    assert.equal(await late.textContent('#driver'), 'Grace');
    assert.equal(await late.evaluate(() => document.body.dataset.timer), 'running');
    const now = await shownSeconds(pages[0]);
    assert.ok(Math.abs((await shownSeconds(late)) - now) <= 1, 'the new tab shows another second');
    const joined = Date.now();
    await allReach([...pages, late], now - 3);
    const third = await assertSameSeconds([...pages, late], joined);
    t.diagnostic(`a new tab drew the room ${drawn} ms after it was opened; widest spread since ${third.widest} ms`);
    assert.equal(await watching(code), 1, 'the new tab opened a stream of its own');
  } finally {
    await context.close();
  }
});

/** Serves the room page and its assets from the test, without the browser's connections. */
async function servePageFromTest(page, code) {
  await page.route(
    (url) => url.pathname === `/p/${code}` || url.pathname.startsWith('/assets/'),
    async (route) => {
      const url = new URL(route.request().url());
      const res = await fetch(env.server.base + url.pathname);
      const headers = {};
      res.headers.forEach((value, name) => (headers[name] = value));
      await route.fulfill({ status: res.status, headers, body: Buffer.from(await res.arrayBuffer()) });
    },
  );
}

test('a tab whose stream cannot open says why after 5 s, and the notice goes when it opens', { timeout: 120_000 }, async () => {
  const context = await env.browser.newContext({ viewport: { width: 1000, height: 760 } });
  try {
    // Six rooms, one tab each: six streams, every connection the browser opens to the server.
    const holders = [];
    for (let i = 0; i < 6; i++) {
      const page = await openTab(context, await env.server.createRoom());
      await waitConnected(page);
      holders.push(page);
    }
    // A seventh room's page (from the test: the browser has no connection for
    // it either) waits for a connection for its stream.
    const code = await env.server.createRoom();
    const page = await context.newPage();
    await servePageFromTest(page, code);
    const opened = Date.now();
    await page.goto(`${env.server.base}/p/${code}`);
    const status = page.locator('#status');
    await page.waitForFunction((re) => new RegExp(re).test(document.getElementById('status').textContent), STALLED_TEXT.source, {
      timeout: STALLED_MS + 5_000,
      polling: 50,
    });
    const after = Date.now() - opened;
    assert.ok(after >= STALLED_MS - 200, `the notice came after ${after} ms, before ${STALLED_MS} ms`);
    assert.equal(await page.textContent('#connection'), 'connecting');
    assert.equal(await status.getAttribute('role'), 'status');
    assert.equal(await status.getAttribute('aria-live'), 'polite');
    assert.match(await status.textContent(), /close tabs of other rooms, or serve pairsync over HTTPS/i);
    assert.ok(await status.isVisible(), 'the notice is not shown');
    // It is read where the person looks, without scrolling: nothing on the page can
    // work until it is.
    const box = await status.boundingBox();
    assert.ok(box.y >= 0 && box.y + box.height <= 760, `the notice is off screen: ${JSON.stringify(box)}`);
    await assertNoWcagViolation(page, 'a room page whose stream waits for a connection');
    await screenshot(page, 'tabs-stream-waits');

    // A tab of another room closes: the stream opens and the notice goes.
    await holders.shift().close();
    await waitConnected(page, 10_000);
    await page.waitForFunction((re) => !new RegExp(re).test(document.getElementById('status').textContent), STALLED_TEXT.source, {
      timeout: 5_000,
    });
  } finally {
    await context.close();
  }
});

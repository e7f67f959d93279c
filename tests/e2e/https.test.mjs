// HTTPS with HTTP/2: eight room tabs of one browser on one https origin all
// connect and tick. Over HTTP/1.1 a browser holds at most six connections to a
// host, so a seventh tab's stream (or even its page) would wait; over HTTP/2 the
// streams share one connection.
// How to run: see the top of harness.mjs (this file also needs `openssl`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, countdown, launchBrowser, screenshot, seconds, waitConnected, waitCountdownReaches, watchCsp } from './harness.mjs';

const TABS = 8;

test('eight room tabs on one https origin all tick over HTTP/2', { timeout: 120_000 }, async () => {
  const server = await Server.create({ tls: true });
  const browser = await launchBrowser();
  try {
    assert.match(server.base, /^https:\/\//);
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 700 } });
    const violations = await watchCsp(context);
    const codes = [];
    for (let i = 0; i < TABS; i++) codes.push(await server.createRoom({ timerDuration: 60_000 }));

    const pages = [];
    for (const code of codes) {
      const page = await context.newPage();
      const res = await page.goto(`${server.base}/p/${code}`);
      assert.equal(res.status(), 200);
      pages.push(page);
    }
    await Promise.all(pages.map((page) => waitConnected(page)));
    for (const page of pages) {
      const protocol = await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
      assert.equal(protocol, 'h2');
      assert.equal(await page.evaluate(() => window.isSecureContext), true);
    }

    for (const code of codes) {
      assert.equal((await server.api('PATCH', `/api/${code}/timer/start`)).status, 204);
    }
    // Every tab follows its own room's ticks: each comes down past 00:58 and
    // is still on this minute's count (not stuck at 01:00, not reset).
    await Promise.all(pages.map((page) => waitCountdownReaches(page, '00:58', 15_000)));
    for (const page of pages) {
      const left = seconds(await countdown(page));
      assert.ok(left >= 40 && left <= 58, `a tab shows ${left} s left`);
    }
    await screenshot(pages[TABS - 1], 'https-eighth-tab');
    assert.deepEqual(violations, []);
  } finally {
    await browser.close();
    await server.stop();
  }
});

/*
 * The README's screenshots, made from the current pages against the release binary:
 * the home page, a team room at work (its goals and history included) and a break,
 * each at desktop and at phone width, in the light scheme (as the README shows them).
 *
 * Run from tests/e2e after building the release binary (see harness.mjs):
 *
 *   node readme-screenshots.mjs            # writes docs/screenshot-*.png
 *   node readme-screenshots.mjs DIR        # writes them into DIR instead
 *
 * Besides them it leaves shots of the states the README does not show, for a person
 * to look at, in the e2e screenshot folder (E2E_SHOTS, default target/e2e/): the
 * not-found page and the "live updates cannot start" notice, at both widths.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, SHOTS_DIR, launchBrowser, waitConnected } from './harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.resolve(process.argv[2] || path.join(HERE, '..', '..', 'docs'));
const DESKTOP = { viewport: { width: 1000, height: 900 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const WIDTHS = { '': DESKTOP, '-phone': PHONE };
// The room at work is taller on a desktop: its turn order and goals below the clock.
const ROOM_DESKTOP = { viewport: { width: 1000, height: 1500 } };
// Screenshots at rest: no transition half-way, light as the README shows.
const CONTEXT = { reducedMotion: 'reduce', colorScheme: 'light', deviceScaleFactor: 1 };
// How long a stream must hang before the page says it cannot start (room.js, STALLED_MS).
const STALLED_MS = 5000;

async function shot(page, file) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file });
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

/** A room page as a person sees it: a name given, sound turned on by a first click. */
async function roomPage(browser, server, code, device, name) {
  const context = await browser.newContext({ ...device, ...CONTEXT });
  await context.addInitScript((who) => {
    try { localStorage.setItem('pairsync.name', who); } catch (e) { /* asked on the page instead */ }
  }, name);
  const page = await context.newPage();
  await page.goto(`${server.base}/p/${code}`);
  await waitConnected(page);
  await page.locator('h1').click();
  await page.waitForFunction(() => document.getElementById('enable-alerts').hidden, null, { timeout: 5_000 }).catch(() => {});
  return page;
}

async function main() {
  const server = await Server.create();
  const browser = await launchBrowser();
  try {
    // The home page, filled in for a team of three.
    for (const [suffix, device] of Object.entries(WIDTHS)) {
      const context = await browser.newContext({ ...device, ...CONTEXT });
      const page = await context.newPage();
      await page.goto(`${server.base}/`);
      await page.fill('#driver', 'Ada');
      await page.fill('#navigator', 'Grace');
      await page.click('#add-member');
      await page.fill('#member-3', 'Linus');
      await page.click('#preset-15');
      await page.check('#auto-start');
      await page.fill('#break-every', '4');
      await page.locator('h1').click();
      await shot(page, path.join(OUT, `screenshot-create${suffix}.png`));
      await context.close();
    }

    // A team room at work: three members, goals, a turn done, the next one running.
    const made = await server.api('POST', '/api/pair-room', {
      members: ['Ada', 'Grace', 'Linus'],
      timerDuration: 15 * 60_000,
      breakEvery: 4,
      autoStart: true,
    });
    const code = made.body.accessCode;
    for (const content of ['Parse the input', 'Handle empty lines', 'Write the README example']) {
      await server.api('POST', `/api/${code}/todos`, { content });
    }
    const goals = (await server.api('GET', `/api/${code}/todos`)).body;
    await server.api('PATCH', `/api/todos/${goals[0].id}/checked`);
    await server.api('PATCH', `/api/${code}/timer/start`);
    await server.api('PATCH', `/api/${code}/timer/next?round=0`);
    await server.api('PATCH', `/api/${code}/timer/start`);
    for (const [suffix, device] of Object.entries({ ...WIDTHS, '': ROOM_DESKTOP })) {
      const page = await roomPage(browser, server, code, device, 'Grace');
      await page.waitForFunction(() => document.querySelectorAll('#goal-list li').length === 3);
      await page.waitForFunction(() => !document.getElementById('history-table').hidden);
      await shot(page, path.join(OUT, `screenshot-room${suffix}.png`));
      await page.context().close();
    }

    // A break, five minutes long, just begun.
    const pair = await server.api('POST', '/api/pair-room', {
      driver: 'Ada',
      navigator: 'Grace',
      timerDuration: 25 * 60_000,
      timerRemainingTime: 1000,
      breakEvery: 1,
      breakDuration: 5 * 60_000,
    });
    const pairCode = pair.body.accessCode;
    const pages = [];
    for (const [suffix, device] of Object.entries(WIDTHS)) {
      pages.push([suffix, await roomPage(browser, server, pairCode, device, 'Ada')]);
    }
    await server.api('PATCH', `/api/${pairCode}/timer/start`);
    for (const [suffix, page] of pages) {
      await page.waitForFunction(() => document.body.dataset.phase === 'break' && /Time for a break/.test(document.getElementById('status').textContent));
      await shot(page, path.join(OUT, `screenshot-break${suffix}.png`));
      await page.context().close();
    }

    // For a person's eyes only: the not-found page, and the notice of a stream that
    // cannot start (its request held back by the test, as a browser out of
    // connections holds it).
    for (const [suffix, device] of Object.entries(WIDTHS)) {
      const context = await browser.newContext({ ...device, ...CONTEXT });
      const page = await context.newPage();
      await page.goto(`${server.base}/p/NoSuchRoom123`);
      await shot(page, path.join(SHOTS_DIR, `review-404${suffix}.png`));
      await page.goto(`${server.base}/no/such/page`);
      await shot(page, path.join(SHOTS_DIR, `review-nowhere${suffix}.png`));
      await page.route('**/connect*', () => { /* never answered */ });
      await page.goto(`${server.base}/p/${code}`);
      await page.waitForFunction(() => /Live updates cannot start/.test(document.getElementById('status').textContent), null, {
        timeout: STALLED_MS + 10_000,
      });
      await shot(page, path.join(SHOTS_DIR, `review-stalled${suffix}.png`));
      await context.close();
    }
  } finally {
    await browser.close();
    await server.stop();
  }
}

await main();

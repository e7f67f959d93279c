// A room page opened on a loopback address (127.0.0.1, localhost, ::1) says beside its
// copy-link button that other machines cannot open that link, and how to serve one
// they can; a page opened by a name other machines can reach says nothing of it.
// How to run: see the top of harness.mjs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, Server, openRoom, screenshot, useServerAndBrowser, waitConnected } from './harness.mjs';

const env = useServerAndBrowser();

// A name that is not loopback, resolved to the test server by the browser alone.
const LAN_NAME = 'pairsync.test';
let lanBrowser;
after(async () => { await lanBrowser?.close(); });

function shareNote(page) {
  return page.evaluate(() => {
    const note = document.getElementById('share-note');
    const button = document.getElementById('copy-link');
    return {
      shown: !note.hidden && note.getBoundingClientRect().height > 0,
      text: note.textContent.replace(/\s+/g, ' ').trim(),
      describes: (button.getAttribute('aria-describedby') || '').split(/\s+/).includes('share-note'),
    };
  });
}

test('on 127.0.0.1 and on localhost the page says the link opens on this machine only, and how to share one', { timeout: 60_000 }, async () => {
  const code = await env.server.createRoom();
  const port = env.server.port;
  const page = await openRoom(env.browser, env.server, code);
  const note = await shareNote(page);
  assert.ok(note.shown, 'no note beside the copy-link button');
  assert.ok(note.describes, 'the copy-link button is not described by the note');
  assert.match(note.text, /Other machines cannot open this link: 127\.0\.0\.1 is this computer itself\./);
  assert.ok(note.text.includes(`PAIRSYNC_BIND=0.0.0.0:${port}`), note.text);
  assert.match(note.text, /this machine's network address in place of 127\.0\.0\.1/);
  await screenshot(page, 'share-loopback');
  await page.context().close();

  const context = await env.browser.newContext({ viewport: { width: 1000, height: 760 } });
  const local = await context.newPage();
  await local.goto(`http://localhost:${port}/p/${code}`);
  await waitConnected(local);
  const localNote = await shareNote(local);
  assert.ok(localNote.shown, 'no note on localhost');
  assert.match(localNote.text, /localhost is this computer itself/);
  await context.close();
});

test('on ::1, the IPv6 loopback address, the page says the same', { timeout: 60_000 }, async () => {
  const server = await Server.create({ host: '::1' });
  try {
    const code = await server.createRoom();
    const page = await openRoom(env.browser, server, code);
    assert.equal(await page.evaluate(() => location.hostname), '[::1]');
    const note = await shareNote(page);
    assert.ok(note.shown, 'no note on [::1]');
    assert.ok(note.describes, 'the copy-link button is not described by the note');
    assert.match(note.text, /Other machines cannot open this link: \[::1\] is this computer itself\./);
    assert.ok(note.text.includes(`PAIRSYNC_BIND=0.0.0.0:${server.port}`), note.text);
    await page.context().close();
  } finally {
    await server.stop();
  }
});

test('on an address other machines can reach there is no such note', { timeout: 60_000 }, async () => {
  const code = await env.server.createRoom();
  lanBrowser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP ${LAN_NAME} 127.0.0.1`],
  });
  const context = await lanBrowser.newContext({ viewport: { width: 1000, height: 760 } });
  const page = await context.newPage();
  await page.goto(`http://${LAN_NAME}:${env.server.port}/p/${code}`);
  await waitConnected(page);
  assert.equal(await page.evaluate(() => location.hostname), LAN_NAME);
  const note = await shareNote(page);
  assert.equal(note.shown, false, `a note on ${LAN_NAME}: ${note.text}`);
  assert.equal(note.describes, false);
  await context.close();
});

/*
 * pairsync end-to-end browser tests: shared harness.
 *
 * Run, from the repository root, after building the release binary:
 *
 *   cargo build --release
 *   cd tests/e2e && npm ci && node --test
 *
 * Environment:
 *   PAIRSYNC_BIN   the server binary to test (default: ../../target/release/pairsync,
 *                  relative to tests/e2e). Each test file starts its own server on a
 *                  free 127.0.0.1 port with a fresh SQLite file in a temp dir.
 *   CHROMIUM_PATH  the browser (default: /usr/bin/chromium; on Debian:
 *                  `apt-get install -y chromium`). Only playwright-core is used:
 *                  no browser is downloaded.
 *
 * `Server.create({ tls: true })` serves HTTPS (HTTP/2 and HTTP/1.1) with a
 * certificate made for the test by the `openssl` command; browser contexts on it
 * need `ignoreHTTPSErrors: true`.
 *   E2E_SHOTS      where screenshots go (default: target/e2e/ at the repository root).
 *
 * Every test saves a screenshot there; the server's log is printed when a
 * server fails to start.
 *
 * session.test.mjs also runs the terminal client in tmux (`apt-get install -y tmux`;
 * see tmux.mjs).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVER_START_TIMEOUT_MS = 30_000;
const LOG_KEEP_CHARS = 20_000;
const CERT_DAYS = '2';

export const SHOTS_DIR = path.resolve(process.env.E2E_SHOTS || path.join(HERE, '..', '..', 'target', 'e2e'));

export const BIN = process.env.PAIRSYNC_BIN
  ? path.resolve(process.env.PAIRSYNC_BIN)
  : path.join(HERE, '..', '..', 'target', 'release', 'pairsync');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A free TCP port on 127.0.0.1 (the listener is closed again at once). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The server under test: one binary, one port, one database file, started
 * and killed (SIGKILL) at will; a restart reuses the port and the database.
 */
export class Server {
  constructor({ port, dir, tls = false, host = '127.0.0.1' }) {
    this.port = port;
    this.dir = dir;
    this.dbUrl = path.join(dir, 'e2e.db');
    this.scheme = tls ? 'https' : 'http';
    // An IPv6 address goes in brackets before a port.
    this.address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.base = `${this.scheme}://${this.address}`;
    this.tlsEnv = {};
    this.cert = null;
    if (tls) {
      const cert = path.join(dir, 'cert.pem');
      const key = path.join(dir, 'key.pem');
      makeCertificate(cert, key);
      this.tlsEnv = { PAIRSYNC_TLS_CERT: cert, PAIRSYNC_TLS_KEY: key };
      this.cert = fs.readFileSync(cert);
    }
    this.proc = null;
    this.log = '';
  }

  /**
   * A started server; `{ tls: true }` for HTTPS with a certificate made here,
   * `{ host }` to listen on another address than 127.0.0.1 (e.g. `::1`).
   */
  static async create({ tls = false, host } = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pairsync-e2e-'));
    const server = new Server({ port: await freePort(), dir, tls, host });
    await server.start();
    return server;
  }

  async start() {
    assert.ok(fs.existsSync(BIN), `server binary not found: ${BIN} (build it, or set PAIRSYNC_BIN)`);
    // Right after a kill the port can take a moment to be free again.
    let lastError;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.#startOnce();
        return;
      } catch (e) {
        lastError = e;
        if (!/exited/.test(e.message)) break;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    throw lastError;
  }

  #startOnce() {
    const proc = spawn(BIN, [], {
      env: {
        ...process.env,
        PAIRSYNC_BIND: this.address,
        DATABASE_URL: this.dbUrl,
        RUST_LOG: 'info',
        ...this.tlsEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    const listening = `listening on ${this.scheme}://`;
    return new Promise((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`server did not log "${listening}" within ${SERVER_START_TIMEOUT_MS} ms\n${this.log}`));
      }, SERVER_START_TIMEOUT_MS);
      const onData = (chunk) => {
        const text = chunk.toString();
        this.log = (this.log + text).slice(-LOG_KEEP_CHARS);
        if (seen === null) return;
        seen += text;
        if (seen.includes(listening)) {
          seen = null;
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stderr.on('data', onData);
      proc.stdout.on('data', onData);
      proc.once('exit', (code, signal) => {
        if (seen === null) return;
        clearTimeout(timer);
        reject(new Error(`server exited (code ${code}, signal ${signal}) before listening\n${this.log}`));
      });
    });
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill() {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await gone;
  }

  async restart() {
    await this.kill();
    await this.start();
  }

  async stop() {
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** A JSON API call: resolves to { status, body } (body is null when empty). */
  async api(method, urlPath, body) {
    if (this.cert) return this.#httpsApi(method, urlPath, body);
    const res = await fetch(this.base + urlPath, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  }

  /** `api` over HTTPS, trusting the test certificate. */
  #httpsApi(method, urlPath, body) {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        this.base + urlPath,
        {
          method,
          ca: this.cert,
          headers: payload === undefined ? {} : { 'Content-Type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode, body: text ? JSON.parse(text) : null, headers: res.headers }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Creates a room through the API and returns its access code. */
  async createRoom({ driver = 'Grace', navigator = 'Alan', timerDuration = 25 * 60_000 } = {}) {
    const res = await this.api('POST', '/api/pair-room', { driver, navigator, timerDuration });
    assert.equal(res.status, 201, `POST /api/pair-room: ${JSON.stringify(res.body)}`);
    return res.body.accessCode;
  }
}

/** A self-signed certificate and key for 127.0.0.1 and localhost, by the `openssl` command. */
function makeCertificate(cert, key) {
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', CERT_DAYS, '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'pipe' },
  );
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
}

/** A new browser context (its own cookies, like another person's browser) on the room page, connected. */
export async function openRoom(browser, server, code, { contextOptions = {}, initScript } = {}) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 }, ...contextOptions });
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  await page.goto(`${server.base}/p/${code}`);
  await waitConnected(page);
  return page;
}

export async function waitConnected(page, timeout = 10_000) {
  await page.waitForFunction(
    () => document.getElementById('connection').textContent.trim() === 'connected' && document.body.dataset.timer !== '',
    null,
    { timeout },
  );
}

export async function waitConnection(page, text, timeout = 10_000) {
  await page.waitForFunction(
    (want) => document.getElementById('connection').textContent.trim() === want,
    text,
    { timeout },
  );
}

export function countdown(page) {
  return page.evaluate(() => document.getElementById('countdown').textContent.trim());
}

export function timerState(page) {
  return page.evaluate(() => document.body.dataset.timer);
}

/**
 * Waits until a running countdown has reached `text` or gone below it: a
 * page that is busy (many tabs, a slow machine) may be read after the second
 * has already passed, and an exact match would then wait forever.
 */
export async function waitCountdownReaches(page, text, timeout = 10_000) {
  const want = seconds(text);
  await page.waitForFunction(
    (limit) => {
      const m = /^(\d+):(\d\d)$/.exec(document.getElementById('countdown').textContent.trim());
      return m !== null && Number(m[1]) * 60 + Number(m[2]) <= limit;
    },
    want,
    { timeout, polling: 100 },
  );
}

/** Waits until the page's countdown shows `text`. */
export async function waitCountdown(page, text, timeout = 10_000) {
  await page.waitForFunction((want) => document.getElementById('countdown').textContent.trim() === want, text, {
    timeout,
  });
}

/** "mm:ss" → seconds. */
export function seconds(clock) {
  const m = /^(\d+):(\d\d)$/.exec(clock);
  assert.ok(m, `not a mm:ss countdown: ${JSON.stringify(clock)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** seconds → "mm:ss", as the page shows it. */
export function clock(secs) {
  return `${String(Math.floor(secs / 60)).padStart(2, '0')}:${String(secs % 60).padStart(2, '0')}`;
}

// Two samples count as taken "at once" when both answers came back within this.
const SAME_MOMENT_MS = 40;

/**
 * Reads every page's countdown at (nearly) the same moment and asserts they
 * show the same text. A pair that straddles a tick boundary may differ: such a
 * sample is retried once, and fails if it differs again. Returns the text.
 */
export async function sameSecond(pages) {
  let differing = 0;
  let last;
  for (let tries = 0; tries < 20; tries++) {
    const t0 = performance.now();
    const texts = await Promise.all(pages.map(countdown));
    const took = performance.now() - t0;
    if (texts.every((t) => t === texts[0])) return texts[0];
    last = `${JSON.stringify(texts)} (sampled within ${took.toFixed(1)} ms)`;
    if (took <= SAME_MOMENT_MS) differing += 1;
    if (differing >= 2) break;
  }
  assert.fail(`pages show different seconds twice in a row: ${last}`);
}

export async function screenshot(page, name) {
  fs.mkdirSync(SHOTS_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS_DIR, `${name}.png`), fullPage: true });
}

/** Wall-clock pause between samples (for sampling only, never to wait for a result). */
export function pause(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Starts one server and one browser for the tests of a file, and stops both after
 * them. Returns an object whose `server` and `browser` are set once started.
 */
export function useServerAndBrowser() {
  const env = { server: undefined, browser: undefined };
  before(async () => {
    env.server = await Server.create();
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

/**
 * Records every Content-Security-Policy violation in a browser context: the
 * `securitypolicyviolation` events of its pages and the console errors Chromium
 * logs for refused content. Call before opening pages; returns the list, which
 * grows as violations happen.
 */
export async function watchCsp(context) {
  const seen = [];
  await context.exposeBinding('__pairsyncCspViolation', ({ page }, violation) => {
    seen.push({ page: page.url(), ...violation });
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__pairsyncCspViolation({
        directive: e.violatedDirective,
        blocked: e.blockedURI,
        source: `${e.sourceFile}:${e.lineNumber}`,
      });
    });
  });
  const onConsole = (page) => (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) {
      seen.push({ page: page.url(), console: msg.text() });
    }
  };
  context.on('page', (page) => page.on('console', onConsole(page)));
  return seen;
}

/** Waits until `probe()` is truthy (polled every 20 ms), failing after `timeout` ms. */
export async function until(probe, what, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  while (!(await probe())) {
    assert.ok(Date.now() < deadline, `not within ${timeout} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

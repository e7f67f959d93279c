/*
 * The terminal client (`pairsync watch URL`) in a real terminal: a tmux server of the
 * test's own (its own socket, no configuration file) runs it in a detached session,
 * `capture-pane` reads the screen a person would see, `send-keys` types.
 *
 * The client runs under `sh`, which prints its exit status and then the terminal's
 * modes (`stty -a`) once it has ended, and waits for a line to be typed before it
 * ends too: meanwhile a test reads how the client left the terminal (tmux keeps a
 * pane whose program ended open, `remain-on-exit`, but hides its cursor).
 *
 * Needs the `tmux` command (Debian: `apt-get install -y tmux`).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';

const run = promisify(execFile);
const TARGET = 'watch';
// How often the screen is looked at while waiting for something on it.
const POLL_MS = 40;

/** `pairsync watch` in a tmux pane of `cols` × `rows`. */
export class TmuxClient {
  constructor(dir) {
    this.dir = dir;
    this.socket = path.join(dir, 'tmux.sock');
  }

  /** Starts `BIN watch URL` in a new detached tmux session; resolves once tmux runs it. */
  static async watch(bin, url, { cols = 100, rows = 30 } = {}) {
    const client = new TmuxClient(fs.mkdtempSync(path.join(os.tmpdir(), 'pairsync-tmux-')));
    await client.tmux(
      'new-session', '-d', '-s', TARGET, '-x', String(cols), '-y', String(rows),
      'sh', '-c', '"$0" watch "$1"; echo "exit=$?"; stty -a; read _', bin, url,
      ';', 'set-option', '-g', 'remain-on-exit', 'on',
    );
    return client;
  }

  /** Runs one tmux command against this client's own server; resolves to its output. */
  async tmux(...args) {
    const { stdout } = await run('tmux', ['-S', this.socket, '-f', '/dev/null', ...args], { timeout: 10_000 });
    return stdout;
  }

  /**
   * The screen as text, one line per row; with `escapes`, with its colours and
   * attributes; with `history`, from the first line that scrolled off it, wrapped lines
   * joined.
   */
  screen({ escapes = false, history = false } = {}) {
    return this.tmux(
      'capture-pane', '-p', ...(escapes ? ['-e'] : []), ...(history ? ['-J', '-S', '-'] : []), '-t', TARGET,
    );
  }

  /** Types keys, named as tmux names them (`Space`, `q`, …). */
  async keys(...names) {
    await this.tmux('send-keys', '-t', TARGET, ...names);
  }

  /** A tmux format (`#{pane_dead}`, …) of the pane, as text. */
  async pane(format) {
    return (await this.tmux('display-message', '-p', '-t', TARGET, format)).trim();
  }

  /**
   * Waits until `accept(screen)` is truthy for the parsed screen (see `parseWatch`),
   * looking every POLL_MS; fails after `timeout` ms, showing the last screen.
   */
  async until(accept, what, timeout = 15_000) {
    const deadline = Date.now() + timeout;
    let text = '';
    for (;;) {
      text = await this.screen();
      const parsed = parseWatch(text);
      if (accept(parsed)) return parsed;
      assert.ok(Date.now() < deadline, `the terminal did not show ${what} within ${timeout} ms; it shows:\n${text}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Stops this client's tmux server (and so the client, if it still runs). */
  async stop() {
    await this.tmux('kill-server').catch(() => {});
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * What the watch view shows, read from its screen text: the countdown (`mm:ss`), the
 * state, phase and round (numbered as the room page numbers it), the driver and navigator, whether it is connected, and the
 * passing notice (a yellow line under the link; here: any line after it).
 */
export function parseWatch(text) {
  const lines = text.split('\n').map((l) => l.trimEnd());
  const find = (re) => {
    for (const line of lines) {
      const m = re.exec(line);
      if (m) return m;
    }
    return null;
  };
  const clock = find(/^\s*(\d{2,}:\d\d)$/);
  const status = find(/(idle|running|paused) · (turn|break) · (?:after )?round (\d+)/);
  const driver = find(/^\s*driver {5}(.+)$/);
  const navigator = find(/^\s*navigator {2}(.+)$/);
  const linkAt = lines.findIndex((l) => /^\s*[●○] /.test(l));
  return {
    text,
    clock: clock ? clock[1] : null,
    state: status ? status[1] : null,
    phase: status ? status[2] : null,
    round: status ? Number(status[3]) : null,
    driver: driver ? driver[1].trim() : null,
    navigator: navigator ? navigator[1].trim() : null,
    connected: linkAt >= 0 && /^\s*● connected$/.test(lines[linkAt]),
    notice: linkAt >= 0 ? (lines[linkAt + 1] || '').trim() : '',
  };
}

// SGR foreground codes: the 8 basic colours (30–37, bright 90–97) and their 256-colour
// forms (38;5;0–15).
const COLOURS = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];

/** The foreground colour after the SGR parameters `params`, from `colour` before them. */
function applySgr(colour, params) {
  const codes = params === '' ? [0] : params.split(';').map(Number);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0 || c === 39) colour = 'default';
    else if (c >= 30 && c <= 37) colour = COLOURS[c - 30];
    else if (c >= 90 && c <= 97) colour = COLOURS[c - 90];
    else if (c === 38 && codes[i + 1] === 5) {
      const n = codes[i + 2];
      colour = n < 16 ? COLOURS[n % 8] : `colour ${n}`;
      i += 2;
    } else if (c === 38 && codes[i + 1] === 2) {
      colour = `rgb(${codes.slice(i + 2, i + 5).join(',')})`;
      i += 4;
    }
  }
  return colour;
}

/**
 * The foreground colour the countdown is drawn in (`'green'`, `'cyan'`, …, or
 * `'default'`), from a screen captured with escapes.
 */
export function countdownColour(escaped) {
  const plain = (l) => l.replace(/\x1b\[[0-9;]*m/g, '');
  const line = escaped.split('\n').find((l) => /^\s*\d{2,}:\d\d\s*$/.test(plain(l)));
  assert.ok(line, `no countdown on the screen:\n${escaped}`);
  let colour = 'default';
  for (const [, params, ch] of line.matchAll(/\x1b\[([0-9;]*)m|(.)/gs)) {
    if (params !== undefined) colour = applySgr(colour, params);
    else if (/\d/.test(ch)) return colour;
  }
  return colour;
}

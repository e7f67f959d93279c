// The team room in the browser: members in turn order on two pages at once (join,
// rename, reorder and remove, all by keyboard), "Next", a rotation at a time-up, the
// history panel, the visitor's name asked once and remembered, who is here, and the
// home page making a room of three, and a move or rename made on a page whose `state`
// event is late (read back from the room instead). Every new state passes axe in light
// and dark, and the pages fit a 375 px phone.
// How to run: see the top of harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openRoom, screenshot, useServerAndBrowser, waitConnected } from './harness.mjs';
import { assertNoWcagViolation } from './a11y.mjs';

const env = useServerAndBrowser();

const DESKTOP = { width: 1000, height: 760 };
const PHONE = { width: 375, height: 740 };
// Colours are checked as they rest, not half-way through a transition.
const STILL = { reducedMotion: 'reduce' };
// What a wait for something another page or the server does allows.
const WAIT_MS = 10_000;

async function createRoom(members, fields = {}) {
  const res = await env.server.api('POST', '/api/pair-room', { members, timerDuration: 25 * 60_000, ...fields });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.accessCode;
}

async function room(code) {
  const res = await env.server.api('GET', `/api/pair-room/${code}`);
  assert.equal(res.status, 200);
  return res.body;
}

/** What a room page shows of its team. */
function teamView(page) {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent.trim();
    const items = Array.from(document.querySelectorAll('#members > li'));
    return {
      order: items.map((li) => li.dataset.name),
      roles: items.map((li) => li.querySelector('.member-role').textContent.trim()),
      here: items.filter((li) => !li.querySelector('.tag-here').hidden).map((li) => li.dataset.name),
      you: items.filter((li) => !li.querySelector('.tag-you').hidden).map((li) => li.dataset.name),
      driver: text('driver'),
      navigator: text('navigator'),
      upNext: document.getElementById('up-next').hidden ? null : text('up-next'),
      presence: text('presence'),
      youAre: text('you-are'),
      status: text('status'),
      timer: document.body.dataset.timer,
      state: text('timer-state'),
      membersError: text('members-error'),
      addError: text('add-member-error'),
      nameForm: !document.getElementById('name-form').hidden,
      focus: document.activeElement ? document.activeElement.getAttribute('aria-label') || document.activeElement.id : null,
    };
  });
}

/** Waits until `accept(view)` holds on the page; fails with what the page showed. */
async function until(page, what, accept, timeout = WAIT_MS) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const view = await teamView(page);
    if (accept(view)) return view;
    assert.ok(Date.now() < deadline, `not within ${timeout} ms: ${what}; the page shows ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sameOrder = (want) => (v) => JSON.stringify(v.order) === JSON.stringify(want);

/** A room page in a browser context of its own, with `name` given in the name form (or none: anonymous). */
async function visit(code, name, contextOptions = {}) {
  const page = await openRoom(env.browser, env.server, code, { contextOptions: { viewport: DESKTOP, ...STILL, ...contextOptions } });
  await page.locator('#name-form').waitFor({ state: 'visible', timeout: WAIT_MS });
  if (name === undefined) return page;
  if (name === null) {
    await page.click('#skip-name');
  } else {
    await page.fill('#visitor-name', name);
    await page.press('#visitor-name', 'Enter');
  }
  await page.locator('#name-form').waitFor({ state: 'hidden', timeout: WAIT_MS });
  await waitConnected(page);
  return page;
}

/** Focuses the control labelled `label` and presses `key` on it, as a keyboard user does. */
async function pressOn(page, label, key = 'Enter') {
  await page.getByRole('button', { name: label, exact: true }).focus();
  await page.keyboard.press(key);
}

/** The history panel: its totals as {name, turns, driven} rows, and its recent turns' texts. */
function historyView(page) {
  return page.evaluate(() => ({
    totals: Array.from(document.querySelectorAll('#history-totals tr')).map((tr) => {
      const cells = Array.from(tr.children).map((c) => c.textContent.trim());
      return { name: cells[0], turns: Number(cells[1]), driven: cells[2] };
    }),
    turns: Array.from(document.querySelectorAll('#history-turns li')).map((li) => li.textContent.replace(/\s+/g, ' ').trim()),
    empty: !document.getElementById('history-empty').hidden,
  }));
}

/** The page's words for a length of time (as the history panel says it). */
function durationWords(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return `${m} min${s % 60 ? ` ${s % 60} s` : ''}`;
}

test('three members on two pages: join, rename, reorder and remove by keyboard, and Next, seen on both', { timeout: 120_000 }, async () => {
  const code = await createRoom(['Ann', 'Bob', 'Cy']);
  const a = await visit(code, null);
  const b = await visit(code, null);
  for (const page of [a, b]) {
    const v = await until(page, 'the three members in order', sameOrder(['Ann', 'Bob', 'Cy']));
    assert.deepEqual(v.roles, ['Driver', 'Navigator', 'Next']);
    assert.deepEqual([v.driver, v.navigator, v.upNext], ['Ann', 'Bob', 'Next: Cy']);
  }

  // A joins Dee from the keyboard: typed, then Enter. B sees her, fourth, "Then".
  await a.focus('#add-member-name');
  await a.keyboard.type('Dee');
  await a.keyboard.press('Enter');
  const joined = await until(b, 'Dee joined', sameOrder(['Ann', 'Bob', 'Cy', 'Dee']));
  assert.deepEqual(joined.roles, ['Driver', 'Navigator', 'Next', 'Then']);
  assert.equal(joined.upNext, 'Next: Cy, then Dee');
  assert.match(joined.status, /Dee joined the room/);
  await until(a, 'the add field emptied', sameOrder(['Ann', 'Bob', 'Cy', 'Dee']));
  assert.equal(await a.inputValue('#add-member-name'), '');

  // A name already in the room, refused next to the field in a person's words.
  await a.fill('#add-member-name', 'Bob');
  await a.press('#add-member-name', 'Enter');
  await until(a, 'the duplicate refused', (v) => v.addError === 'Bob is already in the room.');
  assert.equal(await a.getAttribute('#add-member-name', 'aria-invalid'), 'true');
  await a.fill('#add-member-name', '');

  // A renames Cy from the keyboard: the rename button, the field, Enter.
  await pressOn(a, 'Rename Cy');
  await a.waitForFunction(() => document.activeElement && document.activeElement.getAttribute('aria-label') === 'New name for Cy');
  await a.keyboard.press('Control+A');
  await a.keyboard.type('Cyrus');
  await a.keyboard.press('Enter');
  await until(b, 'Cy renamed on B', sameOrder(['Ann', 'Bob', 'Cyrus', 'Dee']));
  const renamed = await until(a, 'Cy renamed on A, focus on the renamed member', (v) => v.order[2] === 'Cyrus' && v.focus === 'Rename Cyrus');
  assert.match((await teamView(b)).status, /Cy is now called Cyrus/);
  assert.deepEqual(renamed.roles, ['Driver', 'Navigator', 'Next', 'Then']);

  // A moves Dee up twice with Enter on "Move Dee up": focus stays on the moved member.
  await pressOn(a, 'Move Dee up');
  await a.keyboard.press('Enter');
  await until(a, 'Dee moved up twice, focus kept', (v) => sameOrder(['Ann', 'Dee', 'Bob', 'Cyrus'])(v) && v.focus === 'Move Dee up');
  const moved = await until(b, 'Dee navigating on B', sameOrder(['Ann', 'Dee', 'Bob', 'Cyrus']));
  assert.deepEqual([moved.driver, moved.navigator, moved.upNext], ['Ann', 'Dee', 'Next: Bob, then Cyrus']);
  assert.deepEqual((await room(code)).members, ['Ann', 'Dee', 'Bob', 'Cyrus']);
  // Up once more makes Dee the driver; "Move up" can go no further, and focus goes to "Move down".
  await a.keyboard.press('Enter');
  await until(a, 'Dee driving, focus on Move Dee down', (v) => v.order[0] === 'Dee' && v.focus === 'Move Dee down');
  await until(b, 'Dee driving on B', (v) => v.driver === 'Dee' && v.navigator === 'Ann');
  // Move down with Space brings her back.
  await a.keyboard.press('Space');
  await until(b, 'Ann driving again on B', sameOrder(['Ann', 'Dee', 'Bob', 'Cyrus']));
  await screenshot(a, 'team-reordered-a');

  // Next on B: the turn ends, the order rotates on both pages, round 1.
  await b.click('#next');
  for (const page of [a, b]) {
    const v = await until(page, 'the next turn', (x) => sameOrder(['Dee', 'Bob', 'Cyrus', 'Ann'])(x) && /round 2/.test(x.state));
    assert.match(v.status, /^Next turn: Dee drives now, Bob navigates\.$/);
  }
  // Both press Next in the same round: one turn ends, and nobody sees an error. A's
  // request is held until B's is on its way, so both name the round they saw.
  const before = (await room(code)).timer.round;
  const answers = [];
  for (const page of [a, b]) {
    page.on('response', (r) => { if (/\/timer\/next\?round=/.test(r.url())) answers.push(r.status()); });
  }
  const bAsked = new Promise((resolve) => b.on('request', (r) => { if (/\/timer\/next/.test(r.url())) resolve(); }));
  await a.route('**/timer/next*', async (route) => { await bAsked; await route.continue(); });
  await a.click('#next');
  await b.click('#next');
  for (const page of [a, b]) await until(page, 'one more turn', sameOrder(['Bob', 'Cyrus', 'Ann', 'Dee']));
  const deadline = Date.now() + WAIT_MS;
  while (answers.length < 2) {
    assert.ok(Date.now() < deadline, `answers to next: ${answers}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(answers.sort(), [204, 409]);
  await a.unroute('**/timer/next*');
  assert.equal((await room(code)).timer.round, before + 1);
  for (const page of [a, b]) assert.match((await teamView(page)).status, /^Next turn: Bob drives now/);

  // B removes Cyrus, then Ann: A follows. Focus stays on a remove button in the list.
  await pressOn(b, 'Remove Cyrus');
  await until(a, 'Cyrus left', sameOrder(['Bob', 'Ann', 'Dee']));
  await until(b, 'focus on the remove button in Cyrus\' place', (v) => v.focus === 'Remove Ann');
  await b.keyboard.press('Enter');
  await until(a, 'Ann left', sameOrder(['Bob', 'Dee']));
  assert.match((await teamView(a)).status, /Ann left the room/);
  // Two are the fewest: the page says so, and nothing changes.
  await pressOn(b, 'Remove Dee');
  await until(b, 'the last pair kept', (v) => v.membersError === 'A room keeps at least 2 members.');
  assert.deepEqual((await room(code)).members, ['Bob', 'Dee']);
  await screenshot(b, 'team-two-left-b');
  await a.context().close();
  await b.context().close();
});

test('at time-up three members rotate, and the history panel shows each member\'s turns and time driven', { timeout: 90_000 }, async () => {
  const TURN_MS = 2_000;
  const code = await createRoom(['Ann', 'Bob', 'Cy'], { timerDuration: TURN_MS });
  const a = await visit(code, 'Ann');
  const b = await visit(code, 'Bob');
  const asked = [];
  a.on('request', (r) => { if (r.url().endsWith('/history')) asked.push(r.url()); });
  for (const page of [a, b]) assert.ok((await historyView(page)).empty, 'a new room shows history');

  // A short turn runs out: everyone moves up one on both pages.
  await a.click('#start');
  for (const page of [a, b]) {
    const v = await until(page, 'the time-up', (x) => sameOrder(['Bob', 'Cy', 'Ann'])(x) && x.timer === 'idle', TURN_MS + WAIT_MS);
    assert.deepEqual([v.driver, v.navigator, v.upNext], ['Bob', 'Cy', 'Next: Ann']);
    assert.match(v.status, /^Time is up! Bob drives now, Cy navigates\.$/);
    await page.waitForFunction(() => document.querySelectorAll('#history-totals tr').length === 3, null, { timeout: WAIT_MS });
    const h = await historyView(page);
    assert.deepEqual(h.totals, [
      { name: 'Ann', turns: 1, driven: '2 s' },
      { name: 'Bob', turns: 0, driven: '0 s' },
      { name: 'Cy', turns: 0, driven: '0 s' },
    ]);
    assert.match(h.turns[0], /^Round 1 Ann drove, Bob navigated 2 s · time up/);
  }

  // Next while idle ends Bob's turn at once; then Cy's turn runs out.
  await b.click('#next');
  await until(a, 'Cy driving', sameOrder(['Cy', 'Ann', 'Bob']));
  await a.click('#start');
  for (const page of [a, b]) {
    await until(page, 'the second time-up', (x) => sameOrder(['Ann', 'Bob', 'Cy'])(x) && x.timer === 'idle' && /round 4/.test(x.state), TURN_MS + WAIT_MS);
    await page.waitForFunction(() => document.querySelectorAll('#history-turns li').length === 3, null, { timeout: WAIT_MS });
  }
  const api = (await env.server.api('GET', `/api/pair-room/${code}/history`)).body;
  assert.deepEqual(api.turns.map((t) => [t.round, t.driver, t.end]), [[3, 'Cy', 'time-up'], [2, 'Bob', 'next'], [1, 'Ann', 'time-up']]);
  for (const page of [a, b]) {
    const h = await historyView(page);
    // The totals as the server counts them, in its order, said in the page's words.
    assert.deepEqual(h.totals, api.totals.map((t) => ({ name: t.name, turns: t.turns, driven: durationWords(t.drivenMs) })));
    assert.deepEqual(h.totals.map((t) => t.turns), [1, 1, 1]);
    assert.match(h.turns[0], /^Round 3 Cy drove, Ann navigated 2 s · time up/);
    assert.match(h.turns[1], /^Round 2 Bob drove, Cy navigated 0 s · ended with Next/);
  }
  // One request when the page opened in round 0 (none), then one per ended turn at most.
  assert.ok(asked.length <= 3, `the page asked for the history ${asked.length} times for 3 turns`);
  await screenshot(a, 'team-history-a');
  await a.context().close();
  await b.context().close();
});

test('the visitor\'s name is asked once and remembered, and who is here shows both names and the watching count', { timeout: 90_000 }, async () => {
  const code = await createRoom(['Ann', 'Bob', 'Cy']);
  const a = await visit(code);
  // Asked in the page, with the field focused; the room is live meanwhile.
  assert.equal(await a.evaluate(() => document.activeElement.id), 'visitor-name');
  assert.equal(await a.textContent('#name-title'), 'What is your name?');
  await until(a, 'one anonymous watcher', (v) => v.presence === '1 watching');
  // A blank name is refused in words, next to the field.
  await a.fill('#visitor-name', '   ');
  await a.press('#visitor-name', 'Enter');
  await a.locator('#visitor-name-error').waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.equal(await a.textContent('#visitor-name-error'), 'Type a name first.');
  await a.fill('#visitor-name', 'Ann');
  await a.press('#visitor-name', 'Enter');
  await until(a, 'A named', (v) => !v.nameForm && v.youAre === 'You are Ann');
  assert.equal(await a.evaluate(() => document.activeElement.id), 'change-name', 'focus is lost when the form goes');

  const b = await visit(code, 'Bob');
  for (const page of [a, b]) {
    await until(page, 'both names and 2 watching', (v) => v.presence === 'Ann, Bob · 2 watching' && v.here.join() === 'Ann,Bob');
  }
  assert.deepEqual((await teamView(a)).you, ['Ann']);
  assert.deepEqual((await teamView(b)).you, ['Bob']);
  // A third, anonymous visitor counts as watching, without a name.
  const c = await visit(code, null);
  for (const page of [a, b, c]) await until(page, 'three watching', (v) => v.presence === 'Ann, Bob · 3 watching');
  assert.equal((await teamView(c)).youAre, 'You are here without a name');
  const here = await room(code);
  assert.deepEqual([here.here, here.watching], [['Ann', 'Bob'], 3]);
  await screenshot(b, 'team-presence-b');

  // A reload does not ask again: the page comes back as Ann.
  await a.reload();
  await waitConnected(a);
  await until(a, 'Ann back, not asked', (v) => !v.nameForm && v.youAre === 'You are Ann' && v.presence === 'Ann, Bob · 3 watching');
  await until(b, 'Ann still here after her reload', (v) => v.presence === 'Ann, Bob · 3 watching');
  // A new page of the same browser does not ask either.
  const a2 = await a.context().newPage();
  await a2.goto(`${env.server.base}/p/${code}`);
  await waitConnected(a2);
  assert.equal(await a2.isVisible('#name-form'), false);
  // Its tabs share the browser's one stream of the room: it is no new watcher.
  for (const page of [a, a2, b]) await until(page, 'Ann in two tabs, one stream', (v) => v.presence === 'Ann, Bob · 3 watching');
  await a2.close();

  // B changes the name: "Change name", a new name, Enter. Everyone sees it.
  await b.click('#change-name');
  assert.equal(await b.textContent('#name-title'), 'Change your name');
  assert.equal(await b.inputValue('#visitor-name'), 'Bob');
  await b.fill('#visitor-name', 'Bobby');
  await b.press('#visitor-name', 'Enter');
  for (const page of [a, b]) await until(page, 'Bobby here', (v) => v.presence === 'Ann, Bobby · 3 watching');
  // Escape closes the change form without a change.
  await b.click('#change-name');
  await b.press('#visitor-name', 'Escape');
  await until(b, 'the form closed', (v) => !v.nameForm && v.youAre === 'You are Bobby');
  await b.reload();
  await waitConnected(b);
  await until(b, 'Bobby remembered', (v) => !v.nameForm && v.youAre === 'You are Bobby');
  for (const page of [a, b, c]) await page.context().close();
});

test('the home page makes a room of three in the order given, and says every wrong name at once', { timeout: 60_000 }, async () => {
  const context = await env.browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  await page.goto(`${env.server.base}/`);
  await page.fill('#driver', 'Ann');
  await page.fill('#navigator', 'Bob');
  // "Add a member" from the keyboard: the new field gets focus.
  await page.focus('#add-member');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'member-3');
  assert.equal(await page.getAttribute('#member-3', 'maxlength'), '20');
  await page.keyboard.type('Ann');
  await page.click('#add-member');
  await page.fill('#minutes', '');
  await page.click('#create');
  // Three wrong fields, each said next to it, at once; focus on the first.
  await page.locator('#minutes-error').waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.equal(await page.textContent('#member-3-error'), 'Ann is already the driver. Each member needs a name of their own.');
  assert.equal(await page.textContent('#member-4-error'), 'Enter the name of member 4, or remove this field.');
  assert.match(await page.textContent('#minutes-error'), /minutes per turn/);
  assert.match(await page.textContent('#form-error'), /^3 fields need a change/);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'member-3');
  assert.equal(new URL(page.url()).pathname, '/');
  await screenshot(page, 'team-create-errors');

  // Member 4 removed (focus goes back to member 3), member 3 fixed.
  await page.getByRole('button', { name: 'Remove member 4' }).click();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'member-3');
  await page.fill('#member-3', 'Cy');
  await page.fill('#minutes', '10');
  const sent = page.waitForRequest((r) => r.url().endsWith('/api/pair-room') && r.method() === 'POST');
  await page.click('#create');
  assert.deepEqual(JSON.parse((await sent).postData()).members, ['Ann', 'Bob', 'Cy']);
  await page.waitForURL(/\/p\/[A-Za-z0-9_-]{8,32}$/, { timeout: WAIT_MS });
  await waitConnected(page);
  const v = await until(page, 'the room of three', sameOrder(['Ann', 'Bob', 'Cy']));
  assert.deepEqual(v.roles, ['Driver', 'Navigator', 'Next']);
  assert.deepEqual([v.driver, v.navigator], ['Ann', 'Bob']);
  const code = new URL(page.url()).pathname.split('/')[2];
  const made = await room(code);
  assert.deepEqual(made.members, ['Ann', 'Bob', 'Cy']);
  assert.equal(made.duration, 10 * 60_000);

  // Twelve names at most: the button stops, and says why.
  await page.goto(`${env.server.base}/`);
  for (let i = 0; i < 10; i++) await page.click('#add-member');
  assert.ok(await page.isDisabled('#add-member'));
  assert.match(await page.textContent('#members-note'), /at most 12 members/);
  assert.equal(await page.locator('#more-members input').count(), 10);
  await context.close();
});

for (const colorScheme of ['light', 'dark']) {
  test(`every new state of the team room and the home page has no WCAG 2 A/AA violation (${colorScheme})`, { timeout: 120_000 }, async () => {
    const code = await createRoom(['Ann', 'Bob', 'Cy', 'Dee'], { timerDuration: 1_000 });
    const page = await visit(code, undefined, { colorScheme });
    await until(page, 'the members', sameOrder(['Ann', 'Bob', 'Cy', 'Dee']));
    await assertNoWcagViolation(page, `room asking for a name (${colorScheme})`);
    await page.fill('#visitor-name', '  ');
    await page.click('#save-name');
    await page.locator('#visitor-name-error').waitFor({ state: 'visible' });
    await assertNoWcagViolation(page, `room with a refused name (${colorScheme})`);
    await page.fill('#visitor-name', 'Ann');
    await page.click('#save-name');
    await until(page, 'named and here', (v) => v.presence === 'Ann · 1 watching' && v.here.join() === 'Ann');
    await assertNoWcagViolation(page, `room with the visitor named (${colorScheme})`);

    await pressOn(page, 'Rename Cy');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Bob');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /already in the room/.test(document.querySelector('.rename-form:not([hidden]) .field-error').textContent));
    await assertNoWcagViolation(page, `room with a rename refused (${colorScheme})`);
    await page.keyboard.press('Escape');
    await page.fill('#add-member-name', 'Dee');
    await page.click('#add-member');
    await until(page, 'add refused', (v) => v.addError === 'Dee is already in the room.');
    await assertNoWcagViolation(page, `room with an add refused (${colorScheme})`);

    // A turn runs out and another is ended with Next: the history has entries.
    await page.click('#start');
    await until(page, 'the time-up', (v) => v.order[0] === 'Bob' && v.timer === 'idle');
    await page.click('#next');
    await until(page, 'the next turn', (v) => v.order[0] === 'Cy');
    await page.waitForFunction(() => document.querySelectorAll('#history-turns li').length === 2, null, { timeout: WAIT_MS });
    await assertNoWcagViolation(page, `room with history (${colorScheme})`);
    for (const name of ['Ann', 'Bob']) await pressOn(page, `Remove ${name}`);
    await until(page, 'two left', (v) => v.order.length === 2);
    await pressOn(page, 'Remove Dee');
    await until(page, 'two kept', (v) => v.membersError === 'A room keeps at least 2 members.');
    await page.click('#change-name');
    await assertNoWcagViolation(page, `room with the fewest members and the name form open (${colorScheme})`);
    await screenshot(page, `team-a11y-room-${colorScheme}`);
    await page.context().close();

    const context = await env.browser.newContext({ viewport: DESKTOP, colorScheme, ...STILL });
    const home = await context.newPage();
    await home.goto(`${env.server.base}/`);
    await home.click('#add-member');
    await home.click('#add-member');
    await home.fill('#driver', 'Ann');
    await home.fill('#member-3', 'Ann');
    await assertNoWcagViolation(home, `home with more members (${colorScheme})`);
    await home.click('#create');
    await home.locator('#member-4-error').waitFor({ state: 'visible' });
    await assertNoWcagViolation(home, `home with wrong names (${colorScheme})`);
    for (let i = 0; i < 8; i++) await home.click('#add-member');
    await assertNoWcagViolation(home, `home with twelve names (${colorScheme})`);
    await context.close();
  });
}

test('on a 375 px phone the team room and the home page do not scroll sideways and every control is on screen', { timeout: 90_000 }, async () => {
  const names = ['Konstantinopolitaner', 'Anna Maria Oberhaus', 'Bob', 'Cy', 'Dee', 'Eve', 'Fay', 'Gus', 'Hal', 'Ida', 'Jo', 'Kim'];
  const code = await createRoom(names, { timerDuration: 1_000 });
  await env.server.api('PATCH', `/api/${code}/timer/start`);
  for (const colorScheme of ['light', 'dark']) {
    const page = await visit(code, undefined, { viewport: PHONE, colorScheme });
    await until(page, 'twelve members', (v) => v.order.length === 12);
    const check = async (what) => {
      const layout = await page.evaluate(() => {
        const outside = [];
        // A checkbox's target is its whole label: only buttons and fields are measured.
        for (const c of document.querySelectorAll('.room-live button, .room-live input:not([type="checkbox"])')) {
          if (c.closest('[hidden]') || c.offsetParent === null) continue;
          const r = c.getBoundingClientRect();
          if (r.left < 0 || r.right > window.innerWidth || r.width < 24 || r.height < 24) {
            outside.push(`${c.id || c.getAttribute('aria-label') || c.textContent.trim()} at ${Math.round(r.left)}..${Math.round(r.right)} (${Math.round(r.width)}x${Math.round(r.height)})`);
          }
        }
        return { overflow: document.documentElement.scrollWidth - window.innerWidth, outside };
      });
      assert.ok(layout.overflow <= 0, `${what}: the page scrolls sideways by ${layout.overflow} px`);
      assert.deepEqual(layout.outside, [], `${what}: controls off screen or too small`);
    };
    await check(`room asking for a name (${colorScheme})`);
    await page.fill('#visitor-name', 'Anna Maria Oberhaus');
    await page.press('#visitor-name', 'Enter');
    await until(page, 'named', (v) => !v.nameForm && v.here.length === 1);
    await page.waitForFunction(() => document.querySelectorAll('#history-turns li').length >= 1, null, { timeout: WAIT_MS });
    await pressOn(page, 'Rename Kim');
    await check(`room with twelve members, history and a rename open (${colorScheme})`);
    await page.keyboard.press('Escape');
    await assertNoWcagViolation(page, `room on a phone (${colorScheme})`);
    await screenshot(page, `team-phone-${colorScheme}`);
    await page.context().close();

    const context = await env.browser.newContext({ viewport: PHONE, colorScheme, ...STILL });
    const home = await context.newPage();
    await home.goto(`${env.server.base}/`);
    for (let i = 0; i < 10; i++) await home.click('#add-member');
    await home.click('#create');
    await home.locator('#member-12-error').waitFor({ state: 'visible' });
    const layout = await home.evaluate(() => ({
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      outside: Array.from(document.querySelectorAll('main button, main input'))
        .map((c) => c.getBoundingClientRect())
        .filter((r) => r.width > 0 && (r.left < 0 || r.right > window.innerWidth)).length,
    }));
    assert.ok(layout.overflow <= 0, `home (${colorScheme}): the page scrolls sideways by ${layout.overflow} px`);
    assert.equal(layout.outside, 0, `home (${colorScheme}): controls off screen`);
    await screenshot(home, `team-create-phone-${colorScheme}`);
    await context.close();
  }
});

// Holds back the room's `state` events from the page while `window.__holdState` is set,
// as a late or lost event would.
function stateHolder() {
  window.__holdState = false;
  window.__heldStates = 0;
  const add = EventSource.prototype.addEventListener;
  EventSource.prototype.addEventListener = function (type, fn, options) {
    if (type !== 'state') return add.call(this, type, fn, options);
    return add.call(this, type, function (e) {
      if (!window.__holdState) fn.call(this, e);
      else window.__heldStates += 1;
    }, options);
  };
}

test('a member moved or renamed on a page that gets no state event is read back from the room once answered', { timeout: 60_000 }, async () => {
  const code = await createRoom(['Ann', 'Bob', 'Cy']);
  const page = await openRoom(env.browser, env.server, code, {
    contextOptions: { viewport: DESKTOP, ...STILL },
    initScript: stateHolder,
  });
  await page.click('#skip-name');
  await until(page, 'the room is drawn', sameOrder(['Ann', 'Bob', 'Cy']));
  const reads = [];
  page.on('request', (req) => {
    if (req.method() === 'GET' && new URL(req.url()).pathname === `/api/pair-room/${code}`) reads.push(req.url());
  });
  await page.evaluate(() => { window.__holdState = true; });

  await pressOn(page, 'Move Ann down');
  let view = await until(page, 'the roles follow the move with no state event', (v) => v.driver === 'Bob' && v.navigator === 'Ann');
  assert.deepEqual(view.order, ['Bob', 'Ann', 'Cy']);
  assert.equal(view.upNext, 'Next: Cy');
  assert.deepEqual((await room(code)).members, ['Bob', 'Ann', 'Cy']);
  assert.equal(reads.length, 1, 'the room was not read back once');

  await pressOn(page, 'Rename Cy');
  await page.getByLabel('New name for Cy').fill('Cyd');
  await page.keyboard.press('Enter');
  view = await until(page, 'the rename shows everywhere on the page with no state event', (v) => v.upNext === 'Next: Cyd');
  assert.deepEqual(view.order, ['Bob', 'Ann', 'Cyd']);
  assert.deepEqual((await room(code)).members, ['Bob', 'Ann', 'Cyd']);
  // Both changes' `state` events reached the page, and were held back from it.
  await page.waitForFunction(() => window.__heldStates >= 2, null, { timeout: WAIT_MS });

  // The events come again: the page follows the room as before.
  await page.evaluate(() => { window.__holdState = false; });
  await env.server.api('PATCH', `/api/pair-room/${code}/pair-swap?round=0`);
  view = await until(page, 'the swap made elsewhere', (v) => v.driver === 'Ann');
  assert.deepEqual(view.order, ['Ann', 'Cyd', 'Bob']);
  await page.context().close();
});

// The room's goals in the browser: added, edited in place, checked, moved (by keyboard
// and by drag and drop) and deleted on one page, and seen at once on another; a goal
// changed through the API by coduo's frontend shows too. Every state passes axe in light
// and dark, and the panel fits a 375 px phone.
// How to run: see the top of harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openRoom, screenshot, useServerAndBrowser } from './harness.mjs';
import { assertNoWcagViolation } from './a11y.mjs';

const env = useServerAndBrowser();

const DESKTOP = { width: 1000, height: 760 };
const PHONE = { width: 375, height: 740 };
// Colours are checked as they rest, not half-way through a transition.
const STILL = { reducedMotion: 'reduce' };
const WAIT_MS = 10_000;

/** A room page in a browser context of its own, the visitor anonymous (the name form answered). */
async function visit(code, contextOptions = {}) {
  const page = await openRoom(env.browser, env.server, code, { contextOptions: { viewport: DESKTOP, ...STILL, ...contextOptions } });
  await page.click('#skip-name');
  await page.locator('#name-form').waitFor({ state: 'hidden', timeout: WAIT_MS });
  return page;
}

/** What a room page shows of its goals. */
function goalsView(page) {
  return page.evaluate(() => {
    const items = Array.from(document.querySelectorAll('#goal-list > li')).filter((li) => !li.closest('[hidden]'));
    const active = document.activeElement;
    return {
      texts: items.map((li) => li.querySelector('.goal-text').textContent),
      checked: items.map((li) => li.querySelector('input[type="checkbox"]').checked),
      count: document.getElementById('goals-count').textContent.trim(),
      error: document.getElementById('goals-error').textContent.trim(),
      addError: document.getElementById('add-goal-error').textContent.trim(),
      editing: items.filter((li) => !li.querySelector('form').hidden).map((li) => li.querySelector('.goal-text').textContent),
      focus: active ? active.getAttribute('aria-label') || active.id || (active.labels && active.labels[0] ? active.labels[0].textContent : active.tagName) : null,
    };
  });
}

/** Waits until `accept(view)` holds on the page; fails with what the page showed. */
async function until(page, what, accept, timeout = WAIT_MS) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const view = await goalsView(page);
    if (accept(view)) return view;
    assert.ok(Date.now() < deadline, `not within ${timeout} ms: ${what}; the page shows ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const texts = (want) => (v) => JSON.stringify(v.texts) === JSON.stringify(want);

async function apiGoals(code) {
  const res = await env.server.api('GET', `/api/${code}/todos`);
  assert.equal(res.status, 200);
  return res.body;
}

/** Focuses the button labelled `label` and presses `key` on it, as a keyboard user does. */
async function pressOn(page, label, key = 'Enter') {
  await page.getByRole('button', { name: label, exact: true }).focus();
  await page.keyboard.press(key);
}

test('goals on two pages: add, edit, check, move by keyboard and by dragging, delete, each seen on the other page', { timeout: 120_000 }, async () => {
  // A room made the v1 way: the goals work in a two-person room too.
  const code = await env.server.createRoom({ driver: 'Ann', navigator: 'Bob' });
  const a = await visit(code);
  const b = await visit(code);
  for (const page of [a, b]) await until(page, 'no goals yet', (v) => v.texts.length === 0 && /^No goals yet/.test(v.count));

  // A adds three goals from the keyboard, typed one after the other without waiting for
  // the server: each Enter empties the field at once and keeps its focus, and the goals
  // arrive whole, in the order typed.
  await a.focus('#add-goal-text');
  for (const goal of ['Write the failing test', 'Make it pass', 'Refactor']) {
    await a.keyboard.type(goal);
    await a.keyboard.press('Enter');
    assert.equal(await a.inputValue('#add-goal-text'), '', `the field empties on Enter after ${goal}`);
  }
  await until(a, 'three goals on A', texts(['Write the failing test', 'Make it pass', 'Refactor']));
  const added = await until(b, 'three goals on B', texts(['Write the failing test', 'Make it pass', 'Refactor']));
  assert.equal(added.count, '0 of 3 done');
  assert.equal(await a.inputValue('#add-goal-text'), '');
  assert.equal(await a.evaluate(() => document.activeElement.id), 'add-goal-text');
  // An empty goal is refused in words, next to the field.
  await a.keyboard.press('Enter');
  await until(a, 'the empty goal refused', (v) => v.addError === 'Type the goal first.');
  assert.equal(await a.getAttribute('#add-goal-text', 'aria-invalid'), 'true');

  // B edits the second goal in place from the keyboard; A sees the new text.
  await pressOn(b, 'Edit goal: Make it pass');
  await until(b, 'the edit form open, its field focused', (v) => v.editing.join() === 'Make it pass' && v.focus === 'New text for the goal: Make it pass');
  assert.equal(await b.evaluate(() => document.activeElement.value), 'Make it pass');
  await b.keyboard.press('End');
  await b.keyboard.type(' with the least code');
  await b.keyboard.press('Enter');
  await until(a, 'the edit on A', texts(['Write the failing test', 'Make it pass with the least code', 'Refactor']));
  await until(b, 'the form closed, focus on the goal\'s edit button', (v) => v.editing.length === 0 && v.focus === 'Edit goal: Make it pass with the least code');
  // An edit to nothing is refused in words; Escape leaves the goal as it was.
  await b.keyboard.press('Enter');
  await b.keyboard.press('Control+A');
  await b.keyboard.press('Delete');
  await b.keyboard.press('Enter');
  await b.waitForFunction(() => Array.from(document.querySelectorAll('#goal-list .field-error')).some((p) => !p.hidden && p.textContent === 'Type the goal first.'), null, { timeout: WAIT_MS });
  await b.keyboard.press('Escape');
  await until(b, 'the edit cancelled', (v) => v.editing.length === 0 && v.focus === 'Edit goal: Make it pass with the least code');

  // A checks the first goal with Space on its checkbox; B unchecks it with a click.
  await a.getByRole('checkbox', { name: 'Write the failing test' }).focus();
  await a.keyboard.press('Space');
  const checked = await until(b, 'the first goal checked on B', (v) => v.checked.join() === 'true,false,false');
  assert.equal(checked.count, '1 of 3 done');
  await b.getByRole('checkbox', { name: 'Write the failing test' }).click();
  await until(a, 'unchecked on A', (v) => v.checked.join() === 'false,false,false' && v.count === '0 of 3 done');
  await b.getByRole('checkbox', { name: 'Refactor' }).click();
  await until(a, 'Refactor checked on A', (v) => v.checked.join() === 'false,false,true');

  // A moves the first goal down twice with Enter: focus stays on the moved goal, and once
  // it is last (no further down), on its "Move goal up".
  await pressOn(a, 'Move goal down: Write the failing test');
  await until(a, 'moved down once, focus kept', (v) => v.texts[1] === 'Write the failing test' && v.focus === 'Move goal down: Write the failing test');
  await a.keyboard.press('Enter');
  await until(a, 'moved to the end, focus on move up', (v) => v.texts[2] === 'Write the failing test' && v.focus === 'Move goal up: Write the failing test');
  const order1 = ['Make it pass with the least code', 'Refactor', 'Write the failing test'];
  await until(b, 'the new order on B', texts(order1));
  assert.deepEqual((await apiGoals(code)).map((g) => [g.content, g.order, g.isChecked]), [
    [order1[0], 0, false], [order1[1], 1, true], [order1[2], 2, false],
  ]);

  // B drags the last goal onto the first: it takes the first place on both pages.
  await b.locator('#goal-list > li', { hasText: 'Write the failing test' }).dragTo(b.locator('#goal-list > li', { hasText: 'Make it pass' }));
  const order2 = ['Write the failing test', 'Make it pass with the least code', 'Refactor'];
  await until(b, 'dragged on B', texts(order2));
  await until(a, 'the dragged order on A', texts(order2));
  await screenshot(a, 'goals-three-a');

  // A goal added through the API (as coduo's frontend does) shows on both pages.
  const res = await env.server.api('POST', `/api/${code}/todos`, { content: 'Commit' });
  assert.equal(res.status, 201);
  for (const page of [a, b]) await until(page, 'the goal added elsewhere', (v) => v.texts.at(-1) === 'Commit' && v.count === '1 of 4 done');

  // B deletes the second goal from the keyboard: focus goes to the delete button of the
  // goal now in its place; A sees it gone.
  await pressOn(b, 'Delete goal: Make it pass with the least code');
  await until(a, 'deleted on A', texts(['Write the failing test', 'Refactor', 'Commit']));
  await until(b, 'focus on the next goal\'s delete button', (v) => v.focus === 'Delete goal: Refactor');
  await b.keyboard.press('Enter');
  await until(b, 'focus on the delete button of the goal now second', (v) => texts(['Write the failing test', 'Commit'])(v) && v.focus === 'Delete goal: Commit');
  await b.keyboard.press('Enter');
  await until(a, 'two more deleted on A', texts(['Write the failing test']));
  await until(b, 'focus on the last goal\'s delete button', (v) => v.focus === 'Delete goal: Write the failing test');
  await b.keyboard.press('Enter');
  for (const page of [a, b]) await until(page, 'no goals left', (v) => v.texts.length === 0 && /^No goals yet/.test(v.count));
  assert.equal(await b.evaluate(() => document.activeElement.id), 'add-goal-text');
  assert.deepEqual(await apiGoals(code), []);
  await a.context().close();
  await b.context().close();
});

test('a page opened later shows the goals as they are, and a goal deleted meanwhile is said in words', { timeout: 60_000 }, async () => {
  const code = await env.server.createRoom();
  const made = [];
  for (const content of ['First', 'Second']) made.push((await env.server.api('POST', `/api/${code}/todos`, { content })).body);
  await env.server.api('PATCH', `/api/todos/${made[1].id}/checked`);
  const a = await visit(code);
  await until(a, 'the goals at connect', (v) => texts(['First', 'Second'])(v) && v.checked.join() === 'false,true' && v.count === '1 of 2 done');
  // Someone deletes "First" while A's request to edit it is held back.
  const held = a.route('**/api/todos/*/contents', async (route) => {
    await env.server.api('DELETE', `/api/todos/${made[0].id}`);
    await route.continue();
  });
  await held;
  await pressOn(a, 'Edit goal: First');
  await a.keyboard.type(' goal');
  await a.keyboard.press('Enter');
  const v = await until(a, 'the goal gone, said in words', (x) => x.error === 'That goal was deleted meanwhile.' && texts(['Second'])(x));
  assert.deepEqual(v.editing, []);
  await a.context().close();
});

for (const colorScheme of ['light', 'dark']) {
  test(`every state of the goals panel has no WCAG 2 A/AA violation (${colorScheme})`, { timeout: 90_000 }, async () => {
    const code = await env.server.createRoom();
    const page = await visit(code, { colorScheme });
    await until(page, 'no goals', (v) => /^No goals yet/.test(v.count));
    await assertNoWcagViolation(page, `no goals (${colorScheme})`);
    await page.click('#add-goal');
    await until(page, 'the empty goal refused', (v) => v.addError === 'Type the goal first.');
    await assertNoWcagViolation(page, `an empty goal refused (${colorScheme})`);
    for (const goal of ['Read the issue', 'Sketch the design', 'Ship it']) {
      await page.fill('#add-goal-text', goal);
      await page.press('#add-goal-text', 'Enter');
      await until(page, `${goal} added`, (v) => v.texts.at(-1) === goal);
    }
    await page.getByRole('checkbox', { name: 'Read the issue' }).check();
    await until(page, 'one done', (v) => v.count === '1 of 3 done');
    await assertNoWcagViolation(page, `goals, one done (${colorScheme})`);
    await pressOn(page, 'Edit goal: Sketch the design');
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#goal-list .field-error')).some((p) => !p.hidden), null, { timeout: WAIT_MS });
    await assertNoWcagViolation(page, `a goal's edit refused (${colorScheme})`);
    await screenshot(page, `goals-a11y-${colorScheme}`);
    await page.context().close();
  });
}

test('on a 375 px phone the goals panel does not scroll sideways and its controls are on screen', { timeout: 60_000 }, async () => {
  const code = await env.server.createRoom();
  const long = 'Ship_the_whole_thing_without_a_single_space_'.repeat(4);
  for (const content of [long, 'Write the failing test for the long member names on phones', 'Short']) {
    assert.equal((await env.server.api('POST', `/api/${code}/todos`, { content })).status, 201);
  }
  for (const colorScheme of ['light', 'dark']) {
    const page = await visit(code, { viewport: PHONE, colorScheme });
    await until(page, 'three goals', (v) => v.texts.length === 3);
    const check = async (what) => {
      const layout = await page.evaluate(() => {
        const outside = [];
        for (const c of document.querySelectorAll('#goals button, #goals input')) {
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
    await check(`goals on a phone (${colorScheme})`);
    await pressOn(page, 'Edit goal: Short');
    await check(`a goal's edit form on a phone (${colorScheme})`);
    await assertNoWcagViolation(page, `goals on a phone (${colorScheme})`);
    await screenshot(page, `goals-phone-${colorScheme}`);
    await page.context().close();
  }
});

// pairsync — the pair room page, /p/{code}.
//
// The page draws only what the server's event stream (GET /api/{code}/connect)
// tells it: the `state` snapshot (timer, driver, navigator) and the
// `remaining-time` ticks. While connected it does not count down on its own: the
// server sends a tick at every whole second (deadline − k·1000), and the page
// shows ceil(remaining / 1000) seconds of the latest value, so every open page of
// the room shows the same second. While the stream is reconnecting, a running
// countdown goes on from the latest value and the moment it arrived (so it never
// shows less than really remains), marked as reconnecting, stops at 00:00 until
// the server says what happened, and the next greeting puts it right. A stream
// that goes silent without an error while the timer runs (a tick comes every
// second; a hung server or a dead network path says nothing) counts as dropped
// too: after SILENT_MS without an event the page reconnects by itself. Buttons
// send PATCH requests and wait for the stream to report the result.
//
// The tab's title is the countdown ("12:34 · pairsync"), with "Break" during a
// break and "⏸" while paused. A page opened on a loopback address (127.0.0.1,
// ::1, localhost) says beside its copy-link button that other machines cannot
// open that link, and how to serve one they can.
//
// A break between turns (snapshot `phase: "break"`) is drawn apart from a turn:
// its own ring colour, a "Break" badge, the heading and the tab title. The end
// of a turn and the end of a break both chime and notify. Until the page may
// play sound (browsers allow it only after a click or key press), a button
// offers to turn sound and notifications on.
//
// A room has members in turn order (snapshot `members`): the first drives, the
// second navigates, the rest wait. Anyone can add, remove, rename and reorder them
// (the list's buttons work with the keyboard), end a turn with "Next", see who has
// the room open (`here`, `watching`, and the `presence` event) and read the
// room's history (GET /api/pair-room/{code}/history, fetched again when a turn
// ends). The visitor's name is asked once per browser (localStorage) in a form on
// the page; the stream is opened with it (`connect?name=`), or anonymously.
//
// The room's goals (the `todos` event carries the whole list) are added, edited in
// place, checked, moved (buttons, or drag and drop) and deleted at coduo's paths
// (/api/{code}/todos, /api/todos/{id}/...). A move or a check shows at once; the
// page's goal requests go one after another, and once all are answered the list is
// the room's again. The same holds for a member moved or renamed here: shown at once,
// and once answered, the room's order (from the next `state`, or read with
// GET /api/pair-room/{code} when none came).
(function () {
  'use strict';

  var rules = window.PairsyncInput;
  var TITLE = 'pairsync';
  // After the browser gave up on the stream (an HTTP error rather than a
  // dropped connection), the page asks whether the room still exists and
  // opens a new stream after this delay if it does.
  var REOPEN_DELAY_MS = 2000;
  // A running timer's stream has an event every second: this long without one, it
  // is stalled (see the top), and a reopened stream that has not answered in
  // STALLED_RETRY_MS is tried again.
  var SILENT_MS = 3500;
  var STALLED_RETRY_MS = 10000;
  var COPIED_LABEL_MS = 2000;
  var HIGHLIGHT_MS = 1500;

  // The visitor's name, kept by the browser for every room: absent until asked,
  // "" when the visitor chose to stay anonymous.
  var NAME_KEY = 'pairsync.name';
  // A member's name (and a stream's): trimmed, 1 to 20 characters, no control character.
  var MAX_NAME_CHARS = window.PairsyncInput.MAX_NAME_CHARS;
  var MIN_MEMBERS = window.PairsyncInput.MIN_MEMBERS;
  var MAX_MEMBERS = window.PairsyncInput.MAX_MEMBERS;
  // Completed turns listed in the history panel (the totals count them all).
  var RECENT_TURNS = 8;

  var code = roomCode(location.pathname);
  var base = '/api/' + encodeURIComponent(code);
  var roomBase = '/api/pair-room/' + encodeURIComponent(code);

  var el = {
    body: document.body,
    connection: byId('connection'),
    countdown: byId('countdown'),
    ring: byId('ring-progress'),
    timerState: byId('timer-state'),
    phaseLabel: byId('phase-label'),
    estimateLabel: byId('estimate-label'),
    heading: byId('room-heading'),
    enableAlerts: byId('enable-alerts'),
    breaksForm: byId('breaks-form'),
    autoStart: byId('auto-start'),
    breakEvery: byId('break-every'),
    breakMinutes: byId('break-minutes'),
    saveBreaks: byId('save-breaks'),
    breaksError: byId('breaks-error'),
    breakEveryError: byId('break-every-error'),
    breakMinutesError: byId('break-minutes-error'),
    roles: byId('roles'),
    live: document.querySelector('.room-live'),
    driver: byId('driver'),
    navigator: byId('navigator'),
    start: byId('start'),
    pause: byId('pause'),
    reset: byId('reset'),
    swap: byId('swap'),
    durationForm: byId('duration-form'),
    duration: byId('duration'),
    setDuration: byId('set-duration'),
    durationError: byId('duration-error'),
    copyLink: byId('copy-link'),
    copyLabel: byId('copy-label'),
    shareNote: byId('share-note'),
    status: byId('status'),
    gone: byId('gone'),
    goneTitle: byId('gone-title'),
    goneText: byId('gone-text'),
    next: byId('next'),
    upNext: byId('up-next'),
    presence: byId('presence'),
    youLine: document.querySelector('.you'),
    youAre: byId('you-are'),
    changeName: byId('change-name'),
    nameForm: byId('name-form'),
    nameTitle: byId('name-title'),
    visitorName: byId('visitor-name'),
    visitorNameError: byId('visitor-name-error'),
    saveName: byId('save-name'),
    skipName: byId('skip-name'),
    cancelName: byId('cancel-name'),
    memberNames: byId('member-names'),
    members: byId('members'),
    membersError: byId('members-error'),
    addForm: byId('add-member-form'),
    addName: byId('add-member-name'),
    addButton: byId('add-member'),
    addError: byId('add-member-error'),
    historyEmpty: byId('history-empty'),
    historyTable: byId('history-table'),
    historyTotals: byId('history-totals'),
    recentTitle: byId('recent-title'),
    historyTurns: byId('history-turns'),
    goalsCount: byId('goals-count'),
    goalList: byId('goal-list'),
    goalsError: byId('goals-error'),
    addGoalForm: byId('add-goal-form'),
    addGoalText: byId('add-goal-text'),
    addGoal: byId('add-goal'),
    addGoalError: byId('add-goal-error')
  };

  var snapshot = null;      // the latest `state` event
  var remaining = null;     // ms, the latest `remaining-time` (or snapshot) value
  var receivedAt = 0;       // performance.now() when `remaining` arrived
  var estimateTimer = null; // redraws a countdown kept going while reconnecting
  var breakClock = null;    // the status line's break countdown, while it shows one
  var timeUpPending = false; // `timer: stop` seen, its `state` not yet
  var endedPhase = 'turn';   // what that `timer: stop` ended: a turn or a break
  var breakPending = false;  // `timer: break` seen, its `state` not yet
  var breakLength = null;    // ms, the length of the break on show
  // Settings a person set on this page that no snapshot has shown yet, by key; the
  // fields keep them until one does (the answer to the request may come before the
  // stream's `state`, and a field must not jump back meanwhile).
  var settingsWanted = {};
  var settingsInFlight = false; // a settings request is on its way
  var settingsQueued = false;   // more was set meanwhile: send again after its answer
  var settingsSettled = false;  // every request was answered: the next `state` is the truth
  var source = null;
  var reopenTimer = null;
  var heardAt = 0;          // performance.now() of the stream's latest event (or opening)
  var openedOnce = false;   // a stream of this page has opened before
  var stalledAt = null;     // performance.now() when a silent stream was given up
  var gone = false;
  var requestedDuration = null;
  var audio = null;
  var endedByTimeUp = true;  // that `timer: stop` came after the final tick (not a `next`)

  var storedName = null;     // the visitor's name when the browser cannot store it
  var visitorName = readStoredName(); // null: not asked yet; "": anonymous
  var presence = { here: [], watching: 0 };
  // The turn order as changed on this page and not yet shown back by a snapshot (see
  // changeOrder); null when the page shows the room's own.
  var orderWanted = null;
  var orderInFlight = false;
  var orderQueued = false;
  var orderSettled = false;
  var membersRead = 0;       // counts room reads and `state` events: only the newest is taken
  var renaming = null;       // {from, to}: a rename on its way
  var editing = null;        // {name, value, error}: the member whose rename form is open
  var focusAfter = null;     // {name, action}: what gets focus once that member is drawn
  var items = new Map();     // member name -> its list item's parts
  var history = null;        // the latest history answer
  var historyRound = null;   // the round the history was last asked for
  var historyInFlight = false;
  var historyAgain = false;

  function byId(id) { return document.getElementById(id); }

  function roomCode(path) {
    var m = /^\/p\/([^/]+)/.exec(path);
    if (!m) return '';
    try { return decodeURIComponent(m[1]); } catch (e) { return m[1]; }
  }

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  // Whole seconds as mm:ss (minutes keep counting past 59: 90:00).
  function clock(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    return pad(Math.floor(s / 60)) + ':' + pad(s % 60);
  }

  function minutesText(ms) {
    return String(Math.round(ms / 600) / 100);
  }

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  // ---- drawing ----

  function inBreak() { return !!snapshot && snapshot.phase === 'break'; }

  // Takes a remaining time told by the server (a tick, a snapshot).
  function setRemaining(ms) {
    remaining = ms;
    receivedAt = performance.now();
  }

  // Whether the page counts on by itself: the timer runs and the stream is down.
  function estimating() {
    return !gone && !!snapshot && snapshot.state === 'running' && el.connection.dataset.state === 'reconnecting';
  }

  // The remaining time to show: the server's latest, less the time since it came
  // while the page counts on by itself (never below 0). Since the value arrived at
  // or after the moment it was true, this is never less than the truth.
  function shownRemaining() {
    if (remaining === null || !estimating()) return remaining;
    return Math.max(0, remaining - (performance.now() - receivedAt));
  }

  // While counting on by itself, draws again just after the shown second changes.
  function scheduleEstimate() {
    clearTimeout(estimateTimer);
    estimateTimer = null;
    var left = shownRemaining();
    if (!estimating() || left === null || left <= 0) return;
    estimateTimer = setTimeout(render, (left % 1000 || 1000) + 5);
  }

  // The tab's title: the countdown, a break said as such, and a pause marked.
  function titleOf(text) {
    var paused = !!snapshot && snapshot.state === 'paused';
    return (paused ? '\u23f8 ' : '') + (inBreak() ? 'Break ' : '') + text + ' · ' + TITLE;
  }

  function render() {
    var now = shownRemaining();
    var guessing = estimating();
    if (now !== null) {
      var text = clock(now);
      var title = titleOf(text);
      setText(el.countdown, text);
      if (breakClock && inBreak()) setText(breakClock, text);
      if (!gone && document.title !== title) document.title = title;
    }
    el.estimateLabel.hidden = !guessing;
    scheduleEstimate();
    if (!snapshot) return;
    var s = snapshot;
    var running = s.state === 'running';
    var isBreak = inBreak();
    el.body.dataset.timer = s.state;
    el.body.dataset.phase = isBreak ? 'break' : 'turn';
    el.phaseLabel.hidden = !isBreak;
    setText(el.heading, isBreak ? 'Break time' : 'Pair room');
    setText(el.driver, s.driver);
    setText(el.navigator, s.navigator);

    var shownMs = now === null ? s.remainingTime : Math.ceil(Math.max(0, now) / 1000) * 1000;
    var full = isBreak ? Math.max(breakLength || 0, shownMs) : s.duration;
    var fraction = full > 0 ? Math.min(1, Math.max(0, shownMs / full)) : 0;
    el.ring.style.strokeDashoffset = String(100 - fraction * 100);

    var label = running ? 'Running' : s.state === 'paused' ? 'Paused' : 'Ready';
    var where = isBreak ? ' · after round ' + (s.round || 0) : ' · round ' + ((s.round || 0) + 1);
    setText(el.timerState, gone ? 'Room deleted' : label + where);

    var off = gone;
    el.start.disabled = off || running;
    el.pause.disabled = off || !running;
    el.start.classList.toggle('primary', !running);
    el.pause.classList.toggle('primary', running);
    el.reset.disabled = off || s.state === 'idle';
    el.swap.disabled = off;
    el.next.disabled = off;
    el.next.title = isBreak ? 'End the break now' : 'End this turn now: everyone moves up one';
    el.duration.disabled = off || running;
    el.setDuration.disabled = off || running;
    el.duration.title = running ? 'Pause the timer to change its length' : '';
    // The field keeps what it holds while edited, and while it holds a refused value.
    if (document.activeElement !== el.duration && el.duration.getAttribute('aria-invalid') !== 'true') {
      el.duration.value = minutesText(s.duration);
    }
    renderSettings(s.settings, off);
  }

  function renderSettings(settings, off) {
    el.breaksForm.hidden = !settings;
    if (!settings) return;
    [el.autoStart, el.breakEvery, el.breakMinutes, el.saveBreaks].forEach(function (c) { c.disabled = off; });
    Object.keys(settingsWanted).forEach(function (k) {
      if (settings[k] === settingsWanted[k]) delete settingsWanted[k];
    });
    // A field being edited, holding a value the server refused, or set here and not yet
    // shown back, keeps what it holds.
    function keeps(input, key) {
      return key in settingsWanted || document.activeElement === input || input.getAttribute('aria-invalid') === 'true';
    }
    if (!keeps(el.autoStart, 'autoStart')) el.autoStart.checked = !!settings.autoStart;
    if (!keeps(el.breakEvery, 'breakEvery')) el.breakEvery.value = String(settings.breakEvery);
    if (!keeps(el.breakMinutes, 'breakDuration')) el.breakMinutes.value = minutesText(settings.breakDuration);
  }

  // ---- members, who is here, history ----

  function membersOf(s) { return s.members || [s.driver, s.navigator]; }

  // The order the list shows: what was changed here and is on its way, else the room's.
  function shownOrder() { return orderWanted || (snapshot ? membersOf(snapshot) : []); }

  function sameList(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  // Names as a person says them: "Ann", "Ann and Bob", "Ann, Bob and Cy".
  function listWords(names) {
    if (names.length < 2) return names.join('');
    return names.slice(0, -1).join(', ') + ' and ' + names[names.length - 1];
  }

  function presenceText(p) {
    var watching = p.watching > 0 ? p.watching + ' watching' : 'No one watching';
    return p.here.length ? p.here.join(', ') + ' · ' + watching : watching;
  }

  var ROLE_WORDS = ['Driver', 'Navigator', 'Next'];
  var ROLE_KEYS = ['driver', 'navigator', 'next'];

  // Draws everything that depends on the members or on who is here.
  function renderTeam() {
    if (!snapshot) return;
    var s = snapshot;
    var order = membersOf(s);
    var waiting = order.slice(2);
    el.upNext.hidden = waiting.length === 0;
    setText(el.upNext, waiting.length ? 'Next: ' + waiting[0] + (waiting.length > 1 ? ', then ' + waiting.slice(1).join(', ') : '') : '');
    var swapLabel = order.length > 2 ? 'Rotate roles: everyone moves up one' : 'Swap driver and navigator';
    el.swap.setAttribute('aria-label', swapLabel);
    el.swap.title = swapLabel;
    setText(el.presence, presenceText(presence));
    renderMemberNames(order);
    renderMembers();
    var off = gone;
    el.addName.disabled = off;
    el.addButton.disabled = off;
  }

  // The name form suggests the members' names.
  function renderMemberNames(order) {
    var key = order.join('\n');
    if (el.memberNames.dataset.key === key) return;
    el.memberNames.dataset.key = key;
    el.memberNames.textContent = '';
    order.forEach(function (name) {
      var option = document.createElement('option');
      option.value = name;
      el.memberNames.appendChild(option);
    });
  }

  var ICONS = {
    up: 'M12 19V5M6 11l6-6 6 6',
    down: 'M12 5v14M6 13l6 6 6-6',
    rename: 'M4 20h4L19 9l-4-4L4 16v4zM13.5 6.5l4 4',
    remove: 'M6 6l12 12M18 6 6 18'
  };

  function icon(path) {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('fill', 'none');
    svg.setAttribute('stroke', 'currentColor');
    svg.setAttribute('stroke-width', '2');
    svg.setAttribute('stroke-linecap', 'round');
    svg.setAttribute('stroke-linejoin', 'round');
    svg.setAttribute('aria-hidden', 'true');
    var p = document.createElementNS(ns, 'path');
    p.setAttribute('d', path);
    svg.appendChild(p);
    return svg;
  }

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // The form that edits an item of a list in place (a member's name, a goal's text),
  // hidden until opened: its field, Save and Cancel, and the field's error tied to it.
  // Sets `item.form`, `item.input` and `item.error`. `how`: className, maxLength,
  // errorId, label (the field's, if any), cancel (the Cancel button's data-action),
  // submit(value), typed(value) and escape().
  function editForm(item, how) {
    item.form = make('form', how.className);
    item.form.noValidate = true;
    item.form.hidden = true;
    item.input = make('input');
    item.input.type = 'text';
    item.input.maxLength = how.maxLength;
    item.input.autocomplete = 'off';
    if (how.label) item.input.setAttribute('aria-label', how.label);
    item.error = make('p', 'field-error');
    item.error.id = how.errorId;
    item.error.hidden = true;
    item.input.setAttribute('aria-describedby', item.error.id);
    var save = make('button', 'primary', 'Save');
    save.type = 'submit';
    var cancel = make('button', '', 'Cancel');
    cancel.type = 'button';
    cancel.dataset.action = how.cancel;
    var row = make('span', 'rename-row');
    row.appendChild(item.input);
    row.appendChild(save);
    row.appendChild(cancel);
    item.form.appendChild(row);
    item.form.appendChild(item.error);
    item.form.addEventListener('submit', function (e) {
      e.preventDefault();
      how.submit(item.input.value);
    });
    item.input.addEventListener('input', function () {
      how.typed(item.input.value);
      showFieldError(item.input, item.error, '');
    });
    item.input.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') { e.preventDefault(); how.escape(); }
    });
  }

  // Shows `message` under `input` (or clears it) and marks the input invalid meanwhile.
  function showFieldError(input, error, message) {
    error.textContent = message;
    error.hidden = !message;
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  var itemCount = 0;

  // One member's list item: role, name, tags, and the buttons; a rename form in place.
  function makeItem(name) {
    itemCount += 1;
    var item = { name: name, li: make('li', 'member') };
    item.li.dataset.name = name;
    item.role = make('span', 'member-role');
    item.view = make('span', 'member-main');
    item.label = make('span', 'member-name', name);
    item.you = make('span', 'tag tag-you', 'you');
    item.here = make('span', 'tag tag-here', 'here');
    // Spaces between the parts, so that they are read as words, not run together.
    item.view.appendChild(item.label);
    item.view.appendChild(document.createTextNode(' '));
    item.view.appendChild(item.you);
    item.view.appendChild(document.createTextNode(' '));
    item.view.appendChild(item.here);
    item.actions = make('span', 'member-actions');
    item.buttons = {};
    [['up', 'Move ' + name + ' up'], ['down', 'Move ' + name + ' down'], ['rename', 'Rename ' + name], ['remove', 'Remove ' + name]].forEach(function (b) {
      var button = make('button', 'icon-btn small');
      button.type = 'button';
      button.dataset.action = b[0];
      button.setAttribute('aria-label', b[1]);
      button.title = b[1];
      button.appendChild(icon(ICONS[b[0]]));
      item.buttons[b[0]] = button;
      item.actions.appendChild(button);
    });
    editForm(item, {
      className: 'rename-form',
      maxLength: MAX_NAME_CHARS,
      errorId: 'rename-error-' + itemCount,
      label: 'New name for ' + name,
      cancel: 'cancel-rename',
      submit: function (value) { submitRename(name, value); },
      typed: function (value) {
        if (editing && editing.name === name) { editing.value = value; editing.error = ''; }
      },
      escape: function () { cancelRename(name); }
    });
    item.input.spellcheck = false;
    item.li.appendChild(item.role);
    item.li.appendChild(document.createTextNode(' '));
    item.li.appendChild(item.view);
    item.li.appendChild(item.actions);
    item.li.appendChild(item.form);
    return item;
  }

  function showItemError(item, message) { showFieldError(item.input, item.error, message); }

  function drawItem(item, index, count) {
    var role = Math.min(index, 3);
    setText(item.role, role < 3 ? ROLE_WORDS[role] : 'Then');
    item.li.dataset.role = role < 3 ? ROLE_KEYS[role] : 'then';
    item.you.hidden = item.name !== visitorName;
    item.here.hidden = presence.here.indexOf(item.name) < 0;
    item.buttons.up.disabled = gone || index === 0;
    item.buttons.down.disabled = gone || index === count - 1;
    item.buttons.rename.disabled = gone;
    item.buttons.remove.disabled = gone;
    var open = !!editing && editing.name === item.name;
    var wasOpen = !item.form.hidden;
    item.form.hidden = !open;
    item.view.hidden = open;
    item.actions.hidden = open;
    item.li.classList.toggle('editing', open);
    if (open && !wasOpen) {
      item.input.value = editing.value;
      showItemError(item, editing.error || '');
    }
  }

  // Moves `node` before `ref` in `list`, keeping focus where the browser can.
  function placeIn(list, node, ref) {
    if (typeof list.moveBefore === 'function' && node.parentNode === list) {
      try { list.moveBefore(node, ref); return; } catch (e) { /* fall through */ }
    }
    list.insertBefore(node, ref);
  }

  function place(node, ref) { placeIn(el.members, node, ref); }

  // Draws the list in the shown order: one item per member, kept from one drawing to
  // the next (a field being typed in is never replaced), and focus kept on the same
  // control of the same member, or on its nearest neighbour.
  function renderMembers() {
    var order = shownOrder();
    var active = document.activeElement;
    var inList = !!active && el.members.contains(active);
    var was = null;
    if (inList) {
      var li = active.closest('li');
      was = {
        node: active,
        index: li ? Array.prototype.indexOf.call(el.members.children, li) : 0,
        action: active.dataset.action || (active.tagName === 'INPUT' ? 'input' : 'rename'),
        selection: active.tagName === 'INPUT' ? [active.selectionStart, active.selectionEnd] : null
      };
    }
    items.forEach(function (item, name) {
      if (order.indexOf(name) < 0) {
        item.li.remove();
        items.delete(name);
      }
    });
    if (editing && order.indexOf(editing.name) < 0 && !(renaming && renaming.from === editing.name)) editing = null;
    order.forEach(function (name, i) {
      var item = items.get(name);
      if (!item) { item = makeItem(name); items.set(name, item); }
      drawItem(item, i, order.length);
      var at = el.members.children[i];
      if (at !== item.li) place(item.li, at || null);
    });
    restoreFocus(was, order);
  }

  function focusable(node) { return !!node && node.isConnected && !node.disabled && !node.closest('[hidden]'); }

  // The control `action` ("up", "down", "rename", "remove" or "input", the rename field)
  // of a member's item, or the nearest one that takes focus.
  function controlOf(name, action) {
    var item = items.get(name);
    if (!item) return null;
    if (action === 'input' && focusable(item.input)) return item.input;
    var b = item.buttons[action];
    if (focusable(b)) return b;
    // A move button that can no longer move: its twin, else the rename button.
    var other = action === 'up' ? item.buttons.down : action === 'down' ? item.buttons.up : null;
    if (focusable(other)) return other;
    return item.buttons.rename;
  }

  // After a drawing: focus stays on the control it was on (moved with its member), or,
  // when that control went (its member left or was renamed, a form closed), goes to
  // `focusAfter`, else to the same control of the member now in that place.
  function restoreFocus(was, order) {
    var active = document.activeElement;
    var free = !active || active === document.body;
    if (was && focusable(was.node)) {
      focusAfter = null;
      if (active !== was.node) was.node.focus();
      if (was.selection && was.node.setSelectionRange) {
        try { was.node.setSelectionRange(was.selection[0], was.selection[1]); } catch (e) { /* not a text field */ }
      }
      return;
    }
    if (!was && !free) { focusAfter = null; return; }
    var target = null;
    if (focusAfter && items.has(focusAfter.name)) target = controlOf(focusAfter.name, focusAfter.action);
    focusAfter = null;
    if (!target && was) {
      var li = was.node.isConnected ? was.node.closest('li') : null;
      var name = li ? li.dataset.name : order[Math.min(was.index, order.length - 1)];
      if (name !== undefined) target = controlOf(name, was.action);
    }
    if (target && focusable(target) && document.activeElement !== target) target.focus();
  }

  function showMembersError(message) {
    setText(el.membersError, message);
  }

  function showAddError(message) {
    setText(el.addError, message);
    if (message) el.addName.setAttribute('aria-invalid', 'true');
    else el.addName.removeAttribute('aria-invalid');
  }

  // What is wrong with a name, in a person's words; "" when nothing is. `others` are the
  // names it must differ from.
  function nameProblem(raw, others) {
    var name = raw.trim();
    var length = Array.from(name).length;
    if (length === 0) return 'Type a name first.';
    if (rules.nameFault(name)) return rules.nameFault(name);
    if (others && others.indexOf(name) >= 0) return name + ' is already in the room.';
    return '';
  }

  // A refused member change, in a person's words (never the API's field names). `name`
  // is the name the change was about.
  function membersWords(error, name) {
    var m = error.message || '';
    if (error.error === 'member_not_found') return name + ' is no longer in the room.';
    if (error.error === 'network') return 'The server cannot be reached right now. Try again in a moment.';
    if (/at least 2 members/.test(m)) return 'A room keeps at least ' + MIN_MEMBERS + ' members.';
    if (/at most 12 members/.test(m)) return 'A room holds at most ' + MAX_MEMBERS + ' members.';
    if (/twice/.test(m)) return name ? name + ' is already in the room.' : 'Two members cannot have the same name.';
    if (/1 to 20 characters/.test(m)) return name && name.trim() ? 'Names can be at most ' + MAX_NAME_CHARS + ' characters.' : 'Type a name first.';
    if (/control characters/.test(m)) return 'Names cannot hold tabs or line breaks.';
    if (error.error === 'room_not_found') return '';
    return 'The room could not be changed just now. Try again in a moment.';
  }

  // A new order made on this page: shown at once, sent as the whole order. Changes
  // made while one is on its way go in one request after its answer.
  function changeOrder(order) {
    orderWanted = order;
    orderSettled = false;
    showMembersError('');
    renderMembers();
    if (orderInFlight) { orderQueued = true; return; }
    sendOrder();
  }

  function sendOrder() {
    var body = { members: orderWanted.slice() };
    var rename = renaming;
    orderInFlight = true;
    orderQueued = false;
    send('PUT', roomBase + '/members', body).then(function (r) {
      orderInFlight = false;
      if (!r.ok) {
        // Nothing of it was taken: the list goes back to the room's order.
        orderWanted = null;
        orderQueued = false;
        renaming = null;
        focusAfter = null;
        if (gone) return;
        var words = membersWords(r.error, rename ? rename.to : '');
        if (rename && snapshot && membersOf(snapshot).indexOf(rename.from) >= 0) {
          editing = { name: rename.from, value: rename.to, error: words };
          focusAfter = { name: rename.from, action: 'input' };
        } else {
          showMembersError(words);
        }
        renderMembers();
        return;
      }
      if (orderQueued) { sendOrder(); return; }
      renaming = null;
      if (snapshot && sameList(membersOf(snapshot), orderWanted)) {
        orderWanted = null;
      } else {
        orderSettled = true;
        readMembers();
      }
      renderMembers();
    });
  }

  // Once every order request was answered and no `state` has shown the result yet (its
  // event is late, or the stream is down): asks for the room, and takes its members
  // unless a `state` came first.
  function readMembers() {
    var asked = ++membersRead;
    function settle(room) {
      if (asked !== membersRead || orderInFlight || !orderSettled) return;
      if (room && Array.isArray(room.members) && snapshot) {
        snapshot = Object.assign({}, snapshot, { members: room.members, driver: room.driver, navigator: room.navigator });
      }
      orderWanted = null;
      orderSettled = false;
      render();
      renderTeam();
      renderHistory();
    }
    fetch(roomBase, { cache: 'no-store', headers: { 'Accept': 'application/json' } }).then(function (res) {
      return res.ok ? res.json() : null;
    }).then(settle, function () { settle(null); });
  }

  function move(name, by) {
    var order = shownOrder().slice();
    var i = order.indexOf(name);
    var j = i + by;
    if (i < 0 || j < 0 || j >= order.length) return;
    order[i] = order[j];
    order[j] = name;
    changeOrder(order);
  }

  function startRename(name) {
    editing = { name: name, value: name, error: '' };
    showMembersError('');
    renderMembers();
    var item = items.get(name);
    if (item) { item.input.focus(); item.input.select(); }
  }

  function cancelRename(name) {
    if (!editing || editing.name !== name) return;
    editing = null;
    focusAfter = { name: name, action: 'rename' };
    renderMembers();
  }

  function submitRename(from, raw) {
    var order = shownOrder().slice();
    var i = order.indexOf(from);
    var item = items.get(from);
    if (i < 0 || !item) return;
    var to = raw.trim();
    if (to === from) { cancelRename(from); return; }
    var problem = nameProblem(raw, order.filter(function (n) { return n !== from; }));
    if (problem) {
      editing.error = problem;
      showItemError(item, problem);
      item.input.focus();
      return;
    }
    order[i] = to;
    editing = null;
    renaming = { from: from, to: to };
    changeOrder(order);
  }

  function removeMember(name) {
    var order = shownOrder();
    if (order.length <= MIN_MEMBERS) {
      showMembersError('A room keeps at least ' + MIN_MEMBERS + ' members.');
      return;
    }
    showMembersError('');
    // When the item goes, focus goes to the remove button of the member in its place.
    send('DELETE', roomBase + '/members/' + encodeURIComponent(name)).then(function (r) {
      if (!r.ok && !gone) showMembersError(membersWords(r.error, name));
    });
  }

  el.members.addEventListener('click', function (e) {
    var button = e.target.closest('button[data-action]');
    if (!button || !el.members.contains(button)) return;
    var name = button.closest('li').dataset.name;
    var action = button.dataset.action;
    if (action === 'up') move(name, -1);
    else if (action === 'down') move(name, 1);
    else if (action === 'rename') startRename(name);
    else if (action === 'remove') removeMember(name);
    else if (action === 'cancel-rename') cancelRename(name);
  });

  el.addForm.addEventListener('submit', function (e) {
    e.preventDefault();
    if (!snapshot || gone) return;
    var order = shownOrder();
    var raw = el.addName.value;
    var problem = nameProblem(raw, order);
    if (!problem && order.length >= MAX_MEMBERS) problem = 'A room holds at most ' + MAX_MEMBERS + ' members.';
    if (problem) { showAddError(problem); el.addName.focus(); return; }
    var name = raw.trim();
    showAddError('');
    el.addButton.disabled = true;
    send('POST', roomBase + '/members', { name: name }).then(function (r) {
      el.addButton.disabled = gone;
      if (r.ok) {
        if (el.addName.value.trim() === name) el.addName.value = '';
        return;
      }
      if (!gone) { showAddError(membersWords(r.error, name)); el.addName.focus(); }
    });
  });
  el.addName.addEventListener('input', function () { showAddError(''); });

  // ---- goals ----

  // A goal's text: trimmed, 1 to 500 characters; a room holds at most 100 goals.
  var MAX_GOAL_CHARS = 500;
  var MAX_GOALS = 100;
  // How much of a goal's text its buttons say (the whole text is the checkbox's label).
  var GOAL_LABEL_CHARS = 40;

  var goals = null;           // the latest `todos` list, sorted by order (null until one came)
  // What this page changed and no `todos` event has shown yet: the order of the ids, and
  // the checked state by id. Drawn over the room's list until the room shows them.
  var goalOrderWanted = null;
  var goalCheckWanted = new Map();
  var goalRequests = 0;       // goal requests on their way (they go one after another)
  var goalQueue = Promise.resolve();
  var goalRefresh = 0;        // counts list requests: only the newest answer is taken
  var goalEditing = null;     // {id, value, error}: the goal whose edit form is open
  var goalFocusAfter = null;  // {id, action}: what gets focus once that goal is drawn
  var goalItems = new Map();  // goal id -> its list item's parts
  var goalCount = 0;
  var dragId = null;          // the goal being dragged

  // The goals as this page shows them: the room's, in the order moved to here.
  function shownGoals() {
    if (!goals) return [];
    if (!goalOrderWanted) return goals;
    var byIdMap = new Map(goals.map(function (g) { return [g.id, g]; }));
    var shown = [];
    goalOrderWanted.forEach(function (id) {
      if (byIdMap.has(id)) { shown.push(byIdMap.get(id)); byIdMap.delete(id); }
    });
    goals.forEach(function (g) { if (byIdMap.has(g.id)) shown.push(g); });
    return shown;
  }

  function goalChecked(g) { return goalCheckWanted.has(g.id) ? goalCheckWanted.get(g.id) : !!g.isChecked; }

  // Whether the room's list shows every change made here.
  function goalsShowWanted() {
    if (!goals) return false;
    if (goalOrderWanted && !sameList(goals.map(function (g) { return g.id; }), shownGoals().map(function (g) { return g.id; }))) return false;
    return goals.every(function (g) { return !goalCheckWanted.has(g.id) || goalCheckWanted.get(g.id) === !!g.isChecked; });
  }

  function forgetGoalWishes() {
    goalOrderWanted = null;
    goalCheckWanted.clear();
  }

  // Sends goal requests one after another, so that the room takes them in the order made.
  function goalSend(method, path, body) {
    goalRequests += 1;
    var answer = goalQueue.then(function () { return send(method, path, body); });
    goalQueue = answer.then(function (r) {
      goalRequests -= 1;
      if (goalRequests === 0) settleGoals();
      return r;
    });
    return answer;
  }

  // Once every request was answered: when the room's list does not yet show what was
  // changed here (its event is late, or someone changed it meanwhile), ask for the list.
  function settleGoals() {
    if (!goalOrderWanted && goalCheckWanted.size === 0) return;
    if (goalsShowWanted()) { forgetGoalWishes(); renderGoals(); return; }
    var asked = ++goalRefresh;
    fetch(base + '/todos', { cache: 'no-store', headers: { 'Accept': 'application/json' } }).then(function (res) {
      return res.ok ? res.json() : null;
    }).then(function (list) {
      if (asked !== goalRefresh || goalRequests > 0) return;
      if (Array.isArray(list)) goals = list;
      forgetGoalWishes();
      renderGoals();
    }, function () {
      if (asked !== goalRefresh || goalRequests > 0) return;
      forgetGoalWishes();
      renderGoals();
    });
  }

  function onTodos(list) {
    goals = list.slice().sort(function (a, b) { return a.order - b.order; });
    goalRefresh += 1; // an event is as new as any list asked for before it
    if (goalRequests === 0 && goalsShowWanted()) forgetGoalWishes();
    renderGoals();
  }

  // The start of a goal's text, as its buttons say it.
  function goalLabel(content) {
    var chars = Array.from(content);
    return chars.length > GOAL_LABEL_CHARS ? chars.slice(0, GOAL_LABEL_CHARS - 1).join('') + '…' : content;
  }

  var GOAL_ICONS = {
    up: ICONS.up,
    down: ICONS.down,
    edit: ICONS.rename,
    remove: 'M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13',
    grip: 'M9 6h.01M15 6h.01M9 12h.01M15 12h.01M9 18h.01M15 18h.01'
  };

  // One goal's list item: a grip to drag it by, its checkbox and text, and the buttons;
  // an edit form in place.
  function makeGoalItem(id) {
    goalCount += 1;
    var n = goalCount;
    var item = { id: id, li: make('li', 'goal'), content: null };
    item.li.dataset.id = String(id);
    item.grip = make('span', 'goal-grip');
    item.grip.appendChild(icon(GOAL_ICONS.grip));
    item.grip.title = 'Drag to move';
    item.view = make('span', 'goal-main');
    item.check = make('input');
    item.check.type = 'checkbox';
    item.check.id = 'goal-check-' + n;
    item.check.dataset.action = 'check';
    item.text = make('label', 'goal-text');
    item.text.htmlFor = item.check.id;
    item.view.appendChild(item.check);
    item.view.appendChild(item.text);
    item.actions = make('span', 'goal-actions');
    item.buttons = {};
    ['up', 'down', 'edit', 'remove'].forEach(function (action) {
      var button = make('button', 'icon-btn small');
      button.type = 'button';
      button.dataset.action = action;
      button.appendChild(icon(GOAL_ICONS[action]));
      item.buttons[action] = button;
      item.actions.appendChild(button);
    });
    editForm(item, {
      className: 'rename-form goal-form',
      maxLength: MAX_GOAL_CHARS,
      errorId: 'goal-error-' + n,
      cancel: 'cancel-edit',
      submit: function (value) { submitGoalEdit(id, value); },
      typed: function (value) {
        if (goalEditing && goalEditing.id === id) { goalEditing.value = value; goalEditing.error = ''; }
      },
      escape: function () { cancelGoalEdit(id); }
    });
    item.li.appendChild(item.grip);
    item.li.appendChild(item.view);
    item.li.appendChild(item.actions);
    item.li.appendChild(item.form);
    return item;
  }

  function showGoalItemError(item, message) { showFieldError(item.input, item.error, message); }

  function drawGoalItem(item, goal, index, count) {
    var checked = goalChecked(goal);
    if (item.content !== goal.content) {
      item.content = goal.content;
      item.text.textContent = goal.content;
      var label = goalLabel(goal.content);
      item.buttons.up.setAttribute('aria-label', 'Move goal up: ' + label);
      item.buttons.down.setAttribute('aria-label', 'Move goal down: ' + label);
      item.buttons.edit.setAttribute('aria-label', 'Edit goal: ' + label);
      item.buttons.remove.setAttribute('aria-label', 'Delete goal: ' + label);
      ['up', 'down', 'edit', 'remove'].forEach(function (a) { item.buttons[a].title = item.buttons[a].getAttribute('aria-label'); });
      item.input.setAttribute('aria-label', 'New text for the goal: ' + label);
    }
    if (item.check.checked !== checked) item.check.checked = checked;
    item.li.classList.toggle('done', checked);
    item.check.disabled = gone;
    item.buttons.up.disabled = gone || index === 0;
    item.buttons.down.disabled = gone || index === count - 1;
    item.buttons.edit.disabled = gone;
    item.buttons.remove.disabled = gone;
    var open = !!goalEditing && goalEditing.id === item.id;
    var wasOpen = !item.form.hidden;
    item.form.hidden = !open;
    item.view.hidden = open;
    item.actions.hidden = open;
    item.li.classList.toggle('editing', open);
    item.li.draggable = !open && !gone && count > 1;
    if (open && !wasOpen) {
      item.input.value = goalEditing.value;
      showGoalItemError(item, goalEditing.error || '');
    }
  }

  function controlOfGoal(id, action) {
    var item = goalItems.get(id);
    if (!item) return null;
    if (action === 'input' && focusable(item.input)) return item.input;
    if (action === 'check' && focusable(item.check)) return item.check;
    var b = item.buttons[action];
    if (focusable(b)) return b;
    var other = action === 'up' ? item.buttons.down : action === 'down' ? item.buttons.up : null;
    if (focusable(other)) return other;
    return focusable(item.buttons.edit) ? item.buttons.edit : item.check;
  }

  // Draws the goal list in the shown order, one item per goal kept from one drawing to
  // the next; focus stays on the same control of the same goal, or, when that goal went,
  // on the same control of the goal now in its place (else the add field).
  function renderGoals() {
    var list = shownGoals();
    var ready = goals !== null;
    var done = list.filter(goalChecked).length;
    setText(el.goalsCount, !ready ? '' : list.length === 0 ? 'No goals yet. Add what this session is for.'
      : done + ' of ' + list.length + ' done' + (full ? ' · ' + MAX_GOALS + ' goals, the most a room holds' : ''));
    var full = list.length >= MAX_GOALS;
    el.addGoalText.disabled = gone || !ready;
    el.addGoal.disabled = gone || !ready;

    var active = document.activeElement;
    var was = null;
    if (active && el.goalList.contains(active)) {
      var li = active.closest('li');
      was = {
        node: active,
        index: li ? Array.prototype.indexOf.call(el.goalList.children, li) : 0,
        action: active.dataset.action || (active.tagName === 'INPUT' ? 'input' : 'edit')
      };
    }
    var ids = list.map(function (g) { return g.id; });
    goalItems.forEach(function (item, id) {
      if (ids.indexOf(id) < 0) { item.li.remove(); goalItems.delete(id); }
    });
    if (goalEditing && ids.indexOf(goalEditing.id) < 0) goalEditing = null;
    list.forEach(function (g, i) {
      var item = goalItems.get(g.id);
      if (!item) { item = makeGoalItem(g.id); goalItems.set(g.id, item); }
      drawGoalItem(item, g, i, list.length);
      var at = el.goalList.children[i];
      if (at !== item.li) placeIn(el.goalList, item.li, at || null);
    });
    el.goalList.hidden = list.length === 0;

    var now = document.activeElement;
    if (was && focusable(was.node)) {
      goalFocusAfter = null;
      if (now !== was.node) was.node.focus();
      return;
    }
    if (!was && now && now !== document.body) { goalFocusAfter = null; return; }
    var target = null;
    if (goalFocusAfter && goalItems.has(goalFocusAfter.id)) target = controlOfGoal(goalFocusAfter.id, goalFocusAfter.action);
    if (goalFocusAfter && !target && !was) return; // the goal is not drawn yet
    goalFocusAfter = null;
    if (!target && was) {
      var here = was.node.isConnected ? was.node.closest('li') : null;
      if (here) target = controlOfGoal(Number(here.dataset.id), was.action);
      else if (list.length) target = controlOfGoal(list[Math.min(was.index, list.length - 1)].id, was.action);
      else target = el.addGoalText;
    }
    if (target && focusable(target) && document.activeElement !== target) target.focus();
  }

  function showGoalsError(message) { setText(el.goalsError, message); }

  function showAddGoalError(message) {
    setText(el.addGoalError, message);
    if (message) el.addGoalText.setAttribute('aria-invalid', 'true');
    else el.addGoalText.removeAttribute('aria-invalid');
  }

  function goalProblem(raw) {
    var length = Array.from(raw.trim()).length;
    if (length === 0) return 'Type the goal first.';
    if (length > MAX_GOAL_CHARS) return 'A goal can be at most ' + MAX_GOAL_CHARS + ' characters.';
    return '';
  }

  // A refused goal change, in a person's words.
  function goalWords(error) {
    if (error.error === 'todo_not_found') return 'That goal was deleted meanwhile.';
    if (error.error === 'network') return 'The server cannot be reached right now. Try again in a moment.';
    if (/at most 100 goals/.test(error.message || '')) return 'A room holds at most ' + MAX_GOALS + ' goals.';
    if (error.error === 'room_not_found') return '';
    return 'The goals could not be changed just now. Try again in a moment.';
  }

  function goalPath(id, what) { return '/api/todos/' + encodeURIComponent(String(id)) + (what ? '/' + what : ''); }

  // Moves a goal to position `to` of the shown list: shown at once, sent as coduo's
  // frontend does (the goal takes that position, the others shift).
  function moveGoalTo(id, to) {
    var ids = shownGoals().map(function (g) { return g.id; });
    var from = ids.indexOf(id);
    if (from < 0 || to < 0 || to >= ids.length || to === from) return;
    ids.splice(from, 1);
    ids.splice(to, 0, id);
    goalOrderWanted = ids;
    showGoalsError('');
    renderGoals();
    goalSend('PATCH', goalPath(id, 'order'), { order: to }).then(function (r) {
      if (!r.ok && !gone) showGoalsError(goalWords(r.error));
    });
  }

  function moveGoal(id, by) {
    var ids = shownGoals().map(function (g) { return g.id; });
    moveGoalTo(id, ids.indexOf(id) + by);
  }

  function toggleGoal(id, checked) {
    goalCheckWanted.set(id, checked);
    showGoalsError('');
    renderGoals();
    goalSend('PATCH', goalPath(id, 'checked')).then(function (r) {
      if (!r.ok && !gone) showGoalsError(goalWords(r.error));
    });
  }

  function startGoalEdit(id) {
    var g = shownGoals().filter(function (x) { return x.id === id; })[0];
    if (!g) return;
    goalEditing = { id: id, value: g.content, error: '' };
    showGoalsError('');
    renderGoals();
    var item = goalItems.get(id);
    if (item) { item.input.focus(); item.input.select(); }
  }

  function cancelGoalEdit(id) {
    if (!goalEditing || goalEditing.id !== id) return;
    goalEditing = null;
    goalFocusAfter = { id: id, action: 'edit' };
    renderGoals();
  }

  function submitGoalEdit(id, raw) {
    var item = goalItems.get(id);
    if (!item || !goalEditing || goalEditing.id !== id) return;
    var problem = goalProblem(raw);
    if (problem) {
      goalEditing.error = problem;
      showGoalItemError(item, problem);
      item.input.focus();
      return;
    }
    var text = raw.trim();
    if (text === item.content) { cancelGoalEdit(id); return; }
    goalSend('PATCH', goalPath(id, 'contents'), { contents: text }).then(function (r) {
      if (gone) return;
      var open = !!goalEditing && goalEditing.id === id;
      if (r.ok) {
        if (!open) return;
        goalEditing = null;
        goalFocusAfter = { id: id, action: 'edit' };
        renderGoals();
        return;
      }
      if (!open || r.error.error === 'todo_not_found') {
        // The goal went meanwhile (its form closed with it), or the form was closed.
        if (open) goalEditing = null;
        showGoalsError(goalWords(r.error));
        renderGoals();
        return;
      }
      goalEditing.error = goalWords(r.error);
      showGoalItemError(item, goalEditing.error);
    });
  }

  function removeGoal(id) {
    showGoalsError('');
    goalSend('DELETE', goalPath(id)).then(function (r) {
      if (!r.ok && !gone) showGoalsError(goalWords(r.error));
    });
  }

  function goalIdOf(node) {
    var li = node.closest('li.goal');
    return li ? Number(li.dataset.id) : null;
  }

  el.goalList.addEventListener('click', function (e) {
    var button = e.target.closest('button[data-action]');
    if (!button || !el.goalList.contains(button)) return;
    var id = goalIdOf(button);
    if (id === null) return;
    var action = button.dataset.action;
    if (action === 'up') moveGoal(id, -1);
    else if (action === 'down') moveGoal(id, 1);
    else if (action === 'edit') startGoalEdit(id);
    else if (action === 'remove') removeGoal(id);
    else if (action === 'cancel-edit') cancelGoalEdit(id);
  });

  el.goalList.addEventListener('change', function (e) {
    var box = e.target;
    if (!box || box.dataset.action !== 'check') return;
    var id = goalIdOf(box);
    if (id !== null && !gone) toggleGoal(id, box.checked);
  });

  // Dragging a goal onto another puts it in that goal's place.
  function clearDropMarks() {
    goalItems.forEach(function (item) { item.li.classList.remove('drop-before', 'drop-after', 'dragging'); });
  }

  el.goalList.addEventListener('dragstart', function (e) {
    var li = e.target.closest && e.target.closest('li.goal');
    if (!li || gone) return;
    dragId = Number(li.dataset.id);
    li.classList.add('dragging');
    if (e.dataTransfer) {
      e.dataTransfer.effectAllowed = 'move';
      try { e.dataTransfer.setData('text/plain', li.querySelector('.goal-text').textContent); } catch (err) { /* not needed to drop here */ }
    }
  });

  el.goalList.addEventListener('dragover', function (e) {
    if (dragId === null) return;
    var li = e.target.closest && e.target.closest('li.goal');
    if (!li) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'move';
    var ids = shownGoals().map(function (g) { return g.id; });
    var from = ids.indexOf(dragId);
    var to = ids.indexOf(Number(li.dataset.id));
    goalItems.forEach(function (item) { item.li.classList.remove('drop-before', 'drop-after'); });
    if (to !== from) li.classList.add(to < from ? 'drop-before' : 'drop-after');
  });

  el.goalList.addEventListener('drop', function (e) {
    if (dragId === null) return;
    var li = e.target.closest && e.target.closest('li.goal');
    e.preventDefault();
    var id = dragId;
    dragId = null;
    clearDropMarks();
    if (!li) return;
    var ids = shownGoals().map(function (g) { return g.id; });
    moveGoalTo(id, ids.indexOf(Number(li.dataset.id)));
  });

  el.goalList.addEventListener('dragend', function () {
    dragId = null;
    clearDropMarks();
  });

  // Goals typed one after the other go in the order they were typed, one request at a
  // time; the field empties at once, so the next one can be typed while the first is sent.
  var addsQueued = [];
  var adding = false;
  function sendNextGoal() {
    if (adding || addsQueued.length === 0 || gone) return;
    adding = true;
    var text = addsQueued.shift();
    goalSend('POST', base + '/todos', { content: text }).then(function (r) {
      adding = false;
      if (!r.ok && !gone) {
        // The goal is given back to be sent again, unless something new was typed.
        if (el.addGoalText.value.trim() === '') el.addGoalText.value = text;
        showAddGoalError(goalWords(r.error));
        el.addGoalText.focus();
      }
      sendNextGoal();
    });
  }
  el.addGoalForm.addEventListener('submit', function (e) {
    e.preventDefault();
    if (goals === null || gone) return;
    var raw = el.addGoalText.value;
    var problem = goalProblem(raw);
    var coming = addsQueued.length + (adding ? 1 : 0);
    if (!problem && shownGoals().length + coming >= MAX_GOALS) problem = 'A room holds at most ' + MAX_GOALS + ' goals.';
    if (problem) { showAddGoalError(problem); el.addGoalText.focus(); return; }
    showAddGoalError('');
    el.addGoalText.value = '';
    addsQueued.push(raw.trim());
    sendNextGoal();
  });
  el.addGoalText.addEventListener('input', function () { showAddGoalError(''); });

  // ---- history ----

  // A length of time as a person reads it: "45 s", "4 min 30 s", "1 h 5 min".
  function durationWords(ms) {
    var s = Math.round(Math.max(0, ms) / 1000);
    if (s < 60) return s + ' s';
    var m = Math.floor(s / 60);
    if (m < 60) return m + ' min' + (s % 60 ? ' ' + (s % 60) + ' s' : '');
    return Math.floor(m / 60) + ' h' + (m % 60 ? ' ' + (m % 60) + ' min' : '');
  }

  function timeOfDay(ms) {
    try {
      return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    } catch (e) {
      return new Date(ms).toTimeString().slice(0, 5);
    }
  }

  // Asks for the history when the page has none yet or a turn ended since it asked;
  // one request at a time, and one more after it when needed.
  function maybeLoadHistory(s) {
    if (historyRound !== null && s.round <= historyRound) return;
    historyRound = s.round;
    if (!s.round) {
      // No turn has ended in round 0: nothing to ask.
      history = { turns: [], totals: [] };
      renderHistory();
      return;
    }
    if (historyInFlight) { historyAgain = true; return; }
    loadHistory();
  }

  function loadHistory() {
    historyInFlight = true;
    historyAgain = false;
    fetch(roomBase + '/history', { cache: 'no-store', headers: { 'Accept': 'application/json' } }).then(function (res) {
      return res.ok ? res.json() : null;
    }).then(function (body) {
      if (body && Array.isArray(body.turns) && Array.isArray(body.totals)) {
        history = body;
        renderHistory();
      }
    }, function () { /* the next turn's end asks again */ }).then(function () {
      historyInFlight = false;
      if (historyAgain) loadHistory();
    });
  }

  function cell(tr, text, header) {
    var td = make(header ? 'th' : 'td', '', text);
    if (header) td.scope = 'row';
    tr.appendChild(td);
  }

  function renderHistory() {
    if (!history) return;
    var turns = history.turns;
    el.historyEmpty.hidden = turns.length > 0;
    el.historyTable.hidden = turns.length === 0;
    el.recentTitle.hidden = turns.length === 0;
    el.historyTurns.hidden = turns.length === 0;
    if (!turns.length) return;
    // Everyone who drove, most time first, then the members who have not driven yet.
    var rows = history.totals.map(function (t) { return t; });
    shownOrder().forEach(function (name) {
      if (!rows.some(function (t) { return t.name === name; })) rows.push({ name: name, turns: 0, drivenMs: 0 });
    });
    var tbody = document.createDocumentFragment();
    rows.forEach(function (t) {
      var tr = make('tr');
      tr.dataset.name = t.name;
      cell(tr, t.name, true);
      cell(tr, String(t.turns));
      cell(tr, durationWords(t.drivenMs));
      tbody.appendChild(tr);
    });
    el.historyTotals.textContent = '';
    el.historyTotals.appendChild(tbody);

    var list = document.createDocumentFragment();
    turns.slice(0, RECENT_TURNS).forEach(function (t) {
      var li = make('li', 'turn');
      li.dataset.round = String(t.round);
      var how = durationWords(t.ranMs) + (t.end === 'next' ? ' · ended with Next' : ' · time up');
      var time = make('time', 'turn-at', timeOfDay(t.endedAt));
      time.dateTime = new Date(t.endedAt).toISOString();
      [make('span', 'turn-round', 'Round ' + t.round),
        make('span', 'turn-who', t.driver + ' drove, ' + t.navigator + ' navigated'),
        make('span', 'turn-how', how),
        time].forEach(function (part, i) {
        if (i) li.appendChild(document.createTextNode(' '));
        li.appendChild(part);
      });
      list.appendChild(li);
    });
    el.historyTurns.textContent = '';
    el.historyTurns.appendChild(list);
  }

  // ---- the visitor's name ----

  function readStoredName() {
    var v;
    try { v = window.localStorage.getItem(NAME_KEY); } catch (e) { return storedName; }
    if (v === null || v === '') return v;
    return nameProblem(v) ? null : v.trim();
  }

  function storeName(name) {
    storedName = name;
    try { window.localStorage.setItem(NAME_KEY, name); } catch (e) { /* kept for this page only */ }
  }

  function renderYou() {
    var asking = !el.nameForm.hidden;
    el.youLine.hidden = asking;
    setText(el.youAre, visitorName ? 'You are ' + visitorName : 'You are here without a name');
    setText(el.changeName, visitorName ? 'Change name' : 'Give your name');
  }

  function showNameError(message) {
    el.visitorNameError.textContent = message;
    el.visitorNameError.hidden = !message;
    if (message) el.visitorName.setAttribute('aria-invalid', 'true');
    else el.visitorName.removeAttribute('aria-invalid');
  }

  // The form that asks for the visitor's name: the first time (nothing stored), or to
  // change it. It does not block the room: the page is live meanwhile.
  function openNameForm(changing) {
    el.nameForm.hidden = false;
    el.nameForm.dataset.mode = changing ? 'change' : 'ask';
    setText(el.nameTitle, changing ? 'Change your name' : 'What is your name?');
    setText(el.saveName, changing ? 'Save' : 'Join');
    el.cancelName.hidden = !changing;
    el.visitorName.value = visitorName || '';
    showNameError('');
    renderYou();
    el.visitorName.focus();
  }

  function closeNameForm() {
    el.nameForm.hidden = true;
    showNameError('');
    renderYou();
    el.changeName.focus();
  }

  // Takes `name` ("" for none) as the visitor's, remembers it, and reopens the stream
  // with it when it changed.
  function setVisitorName(name) {
    var changed = name !== visitorName;
    visitorName = name;
    storeName(name);
    renderYou();
    renderMembers();
    if (changed && source && !gone) {
      source.close();
      connect();
    }
  }

  el.nameForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var problem = nameProblem(el.visitorName.value);
    if (problem) { showNameError(problem); el.visitorName.focus(); return; }
    var name = el.visitorName.value.trim();
    setVisitorName(name);
    closeNameForm();
    announce('You are in the room as ' + name + '.');
  });
  el.visitorName.addEventListener('input', function () { showNameError(''); });
  el.skipName.addEventListener('click', function () {
    setVisitorName('');
    closeNameForm();
    announce('You are in the room without a name.');
  });
  el.cancelName.addEventListener('click', closeNameForm);
  el.nameForm.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && el.nameForm.dataset.mode === 'change') { e.preventDefault(); closeNameForm(); }
  });
  el.changeName.addEventListener('click', function () { openNameForm(true); });

  // Another tab of this browser set the name: this page follows.
  window.addEventListener('storage', function (e) {
    if (e.key !== NAME_KEY) return;
    var name = readStoredName();
    if (name === null || name === visitorName) return;
    if (!el.nameForm.hidden && el.nameForm.dataset.mode === 'ask') el.nameForm.hidden = true;
    setVisitorName(name);
  });

  function setConnection(state) {
    // Back from counting on alone: what it shows stays until the greeting's value
    // (never a jump back up to the last value heard before the stream dropped).
    if (estimating() && state !== 'reconnecting') setRemaining(shownRemaining());
    el.connection.dataset.state = state;
    el.body.dataset.connection = state;
    setText(el.connection, state);
    render();
  }

  function announce(message, notice) {
    breakClock = null;
    el.status.classList.remove('pinned');
    el.status.classList.toggle('notice', !!notice);
    el.status.textContent = message;
  }

  // The start of a break, its countdown following the clock on the page. A screen
  // reader is told the break's length once (the live region is not re-read every
  // second: the ticking part is hidden from it).
  function announceBreak(length, then) {
    announce('', true);
    breakClock = make('span', 'status-clock', clock(shownRemaining() === null ? length : shownRemaining()));
    breakClock.setAttribute('aria-hidden', 'true');
    el.status.appendChild(document.createTextNode('Time for a break: '));
    el.status.appendChild(breakClock);
    el.status.appendChild(make('span', 'sr-only', durationWords(length)));
    el.status.appendChild(document.createTextNode('. ' + then));
  }

  function highlightRoles() {
    el.roles.classList.remove('swapped');
    void el.roles.offsetWidth; // restart the animation
    el.roles.classList.add('swapped');
    setTimeout(function () { el.roles.classList.remove('swapped'); }, HIGHLIGHT_MS);
  }

  function showGone(why) {
    if (gone) return;
    gone = true;
    if (source) source.close();
    clearTimeout(reopenTimer);
    setConnection('room deleted');
    el.body.classList.add('is-gone');
    // What is left of the room is faded and out of reach: no focus, no clicks, and
    // no longer read out (inactive content, which needs no contrast).
    el.live.inert = true;
    if (why === 'missing') {
      el.goneTitle.textContent = 'This room no longer exists';
      el.goneText.textContent = 'It was deleted, or the link is wrong.';
    }
    el.gone.hidden = false;
    document.title = 'Room deleted · ' + TITLE;
    announce('');
    render();
    renderTeam();
    renderGoals();
  }

  // ---- the stream ----

  function connect() {
    if (gone) return;
    // The tabs of this room in this browser share one stream (stream.js).
    var url = base + '/connect' + (visitorName ? '?name=' + encodeURIComponent(visitorName) : '');
    var es = window.PairsyncStream ? PairsyncStream.open(url) : new EventSource(url);
    source = es;
    heardAt = performance.now();
    watchOpening(es);
    function heard() {
      if (es !== source) return;
      heardAt = performance.now();
      openedOnce = true;
      stalledAt = null;
    }
    es.addEventListener('open', heard);
    ['connect', 'remaining-time', 'timer', 'state', 'presence', 'todos', 'links'].forEach(function (name) {
      es.addEventListener(name, heard);
    });
    es.onopen = function () { if (!gone) setConnection('connected'); };
    es.addEventListener('connect', function () { if (!gone) setConnection('connected'); });
    es.addEventListener('remaining-time', function (e) {
      var v = Number(e.data);
      if (!isFinite(v)) return;
      setRemaining(v);
      render();
    });
    es.addEventListener('timer', function (e) {
      if (e.data === 'stop') {
        endedPhase = inBreak() ? 'break' : 'turn';
        // A countdown that ran out ends with the tick `remaining-time: 0`; a `next`
        // (someone ended the turn or the break early) does not.
        endedByTimeUp = remaining === 0;
        timeUpPending = true;
        if (endedByTimeUp) chime();
      } else if (e.data === 'break') {
        breakPending = true;
      }
    });
    es.addEventListener('state', function (e) {
      var next;
      try { next = JSON.parse(e.data); } catch (err) { return; }
      onState(next);
    });
    es.addEventListener('presence', function (e) {
      var next;
      try { next = JSON.parse(e.data); } catch (err) { return; }
      if (!next || !Array.isArray(next.here)) return;
      presence = { here: next.here, watching: Number(next.watching) || 0 };
      renderTeam();
    });
    es.addEventListener('todos', function (e) {
      var list;
      try { list = JSON.parse(e.data); } catch (err) { return; }
      if (Array.isArray(list)) onTodos(list);
    });
    es.addEventListener('close', function () {
      es.close();
      showGone('deleted');
    });
    es.onerror = function () {
      if (gone || es !== source) return;
      if (es.readyState === EventSource.CONNECTING) {
        // Dropped connection: the browser reconnects by itself (the server
        // sets `retry:`), and the connect sequence puts the page right.
        setConnection('reconnecting');
        return;
      }
      // CLOSED: the server answered with an error (404 room_not_found, 429,
      // 503...). Find out whether the room still exists.
      es.close();
      setConnection('reconnecting');
      checkRoom();
    };
  }

  // Over plain HTTP/1.1 a browser opens at most six connections to one server
  // and every open room holds one, so a stream past that waits, without an
  // error, until one is free. When a stream has neither opened nor failed for
  // this long, the page says why and what helps, until it opens.
  var STALLED_MS = 5000;
  var STALLED_TEXT = location.protocol === 'http:'
    ? 'Live updates cannot start: this browser has too many pairsync tabs open on this server over plain HTTP. ' +
      'Close tabs of other rooms, or serve pairsync over HTTPS, where there is no such limit.'
    : 'Live updates cannot start: this browser is waiting for a free connection to the server. Close other pairsync tabs.';

  function watchOpening(es) {
    var timer = null;
    function wait() {
      clearTimeout(timer);
      timer = setTimeout(function () {
        // (A page that had its stream before and lost it is reconnecting, not held
        // back by other tabs.)
        if (es === source && !gone && !openedOnce && es.readyState === EventSource.CONNECTING) {
          // Nothing on the page works until this is read: it stays in view.
          announce(STALLED_TEXT, true);
          el.status.classList.add('pinned');
        }
      }, STALLED_MS);
    }
    function opened() {
      clearTimeout(timer);
      if (el.status.textContent === STALLED_TEXT) announce('');
    }
    es.addEventListener('open', opened);
    es.addEventListener('connect', opened);
    es.addEventListener('error', function () { if (es.readyState === EventSource.CONNECTING) wait(); else opened(); });
    wait();
  }

  // Gives up a stream that says nothing while it should (see SILENT_MS): the
  // countdown goes on from what the page knows, marked as reconnecting, and a new
  // stream's greeting puts it right. A tab that shares its stream with others gives
  // up its part; when the tab holding the stream gives up, another opens a new one.
  function watchSilence() {
    if (gone || !source) return;
    var now = performance.now();
    var state = el.connection.dataset.state;
    var running = !!snapshot && snapshot.state === 'running';
    if (state === 'connected' && running && now - heardAt > SILENT_MS) {
      stalledAt = now;
      setConnection('reconnecting');
      source.close();
      connect();
    } else if (stalledAt !== null && state === 'reconnecting' && now - stalledAt > STALLED_RETRY_MS &&
        source.readyState !== EventSource.OPEN) {
      stalledAt = now;
      source.close();
      connect();
    }
  }
  setInterval(watchSilence, 500);

  function checkRoom() {
    fetch(base + '/timer', { cache: 'no-store' }).then(function (res) {
      if (res.status === 404) showGone('missing');
      else reopenLater();
    }, reopenLater);
  }

  function reopenLater() {
    clearTimeout(reopenTimer);
    reopenTimer = setTimeout(connect, REOPEN_DELAY_MS);
  }

  function onState(next) {
    var prev = snapshot;
    snapshot = next;
    membersRead += 1; // an event is as new as any room read asked for before it
    if (Array.isArray(next.here)) presence = { here: next.here, watching: Number(next.watching) || 0 };
    // A `state` that comes once every order request was answered is as new as them.
    if (orderSettled) { orderWanted = null; orderSettled = false; }
    if (orderWanted && !orderInFlight && sameList(orderWanted, membersOf(next))) orderWanted = null;
    // A `state` that comes once every settings request was answered is as new as them.
    if (settingsSettled) { settingsWanted = {}; settingsSettled = false; }
    if (typeof next.remainingTime === 'number') setRemaining(next.remainingTime);
    if (requestedDuration !== null && next.duration === requestedDuration) requestedDuration = null;
    if (next.phase === 'break' && (breakPending || breakLength === null)) {
      // A break that starts now runs its whole length; one joined part-way is at
      // most as long as the room's setting.
      breakLength = breakPending ? next.remainingTime
        : Math.max(next.settings ? next.settings.breakDuration : 0, next.remainingTime);
    } else if (next.phase !== 'break') {
      breakLength = null;
    }
    render();
    renderTeam();
    maybeLoadHistory(next);
    if (prev && !sameList(membersOf(prev), membersOf(next))) renderHistory();
    var change = prev && !timeUpPending ? describeChange(prev, next) : null;
    var line = next.driver + ' drives now, ' + next.navigator + ' navigates.';
    if (breakPending && next.phase === 'break') {
      breakPending = false;
      var then = 'Then ' + next.driver + ' drives, ' + next.navigator + ' navigates.';
      announceBreak(next.remainingTime, then);
      notify('Time for a break', clock(next.remainingTime) + ' of break. ' + then);
    } else if (timeUpPending && endedPhase === 'break') {
      timeUpPending = false;
      if (endedByTimeUp) {
        announce('The break is over. ' + line, true);
        notify('The break is over', line);
      } else {
        announce('The break was ended. ' + line, true);
      }
    } else if (timeUpPending) {
      timeUpPending = false;
      if (endedByTimeUp) {
        announce('Time is up! ' + line, true);
        notify('Time is up: swap roles', line);
      } else {
        announce('Next turn: ' + line, true);
      }
      highlightRoles();
    } else if (change) {
      announce(change.text, change.roles);
      if (change.roles) highlightRoles();
    }
  }

  // What a change of the members says to a person: a swap or a rotation, someone
  // joining, leaving or renamed, or a new order; null when the members are the same.
  function describeChange(prev, next) {
    var a = membersOf(prev);
    var b = membersOf(next);
    if (sameList(a, b)) return null;
    var roles = prev.driver !== next.driver || prev.navigator !== next.navigator;
    var rolesLine = next.driver + ' drives, ' + next.navigator + ' navigates.';
    if (a.length === b.length && sameList(a.slice(1).concat(a.slice(0, 1)), b)) {
      return { text: (b.length === 2 ? 'Roles swapped: ' : 'Roles rotated: ') + rolesLine, roles: true };
    }
    var joined = b.filter(function (n) { return a.indexOf(n) < 0; });
    var left = a.filter(function (n) { return b.indexOf(n) < 0; });
    var parts = [];
    if (joined.length === 1 && left.length === 1 && a.length === b.length && a.indexOf(left[0]) === b.indexOf(joined[0])) {
      parts.push(left[0] + ' is now called ' + joined[0] + '.');
    } else {
      if (joined.length) parts.push(listWords(joined) + ' joined the room.');
      if (left.length) parts.push(listWords(left) + ' left the room.');
      if (!parts.length) parts.push('New turn order.');
    }
    if (roles) parts.push(rolesLine);
    return { text: parts.join(' '), roles: roles };
  }

  // ---- time-up: sound and notification ----

  function audioContext() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    if (!audio) {
      try { audio = new AC(); } catch (e) { return null; }
    }
    if (audio.state === 'suspended' && audio.resume) audio.resume().catch(function () {});
    return audio;
  }

  // A short rising three-note chime, made with oscillators (no audio file).
  function chime() {
    var ctx = audioContext();
    if (!ctx) return;
    var t0 = ctx.currentTime + 0.03;
    [[659.25, 0], [783.99, 0.16], [1046.5, 0.32]].forEach(function (note) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      var at = t0 + note[1];
      osc.type = 'sine';
      osc.frequency.value = note[0];
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.22, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.6);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(at);
      osc.stop(at + 0.65);
    });
  }

  function notify(title, body) {
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    try {
      var n = new Notification(title, { body: body, tag: 'pairsync-' + code });
      n.onclick = function () { window.focus(); n.close(); };
    } catch (e) { /* some mobile browsers only notify from a service worker */ }
  }

  // Whether the page may play sound now: its audio was unlocked by a gesture.
  function soundAllowed() { return !!audio && audio.state === 'running'; }

  // The "turn on sound and notifications" button shows until sound may play.
  function renderAlerts() {
    var possible = !!(window.AudioContext || window.webkitAudioContext);
    el.enableAlerts.hidden = !possible || soundAllowed();
  }

  // The first user gesture unlocks audio and asks for notification permission.
  function onFirstGesture() {
    document.removeEventListener('click', onFirstGesture, true);
    document.removeEventListener('keydown', onFirstGesture, true);
    var ctx = audioContext();
    if (ctx) {
      ctx.onstatechange = renderAlerts;
      if (ctx.resume) ctx.resume().then(renderAlerts, renderAlerts);
    }
    if ('Notification' in window && Notification.permission === 'default') {
      try {
        var p = Notification.requestPermission();
        if (p && p.then) p.then(renderAlerts, function () {});
      } catch (e) { /* ignore */ }
    }
    renderAlerts();
  }
  document.addEventListener('click', onFirstGesture, true);
  document.addEventListener('keydown', onFirstGesture, true);

  el.enableAlerts.addEventListener('click', function () {
    // The gesture itself (handled above) unlocked the sound; say what is on.
    var notes = !('Notification' in window) ? ''
      : Notification.permission === 'denied' ? ' Notifications are blocked in this browser.'
      : ' You will also get a notification when a turn or a break ends.';
    announce('Sound is on.' + notes);
    if (!el.start.disabled) el.start.focus();
  });
  renderAlerts();

  // ---- commands ----

  function send(method, path, body) {
    var init = { method: method, headers: { 'Accept': 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      if (res.ok) return { ok: true, status: res.status };
      return res.json().catch(function () { return null; }).then(function (b) {
        var error = b && b.message ? b : { error: 'http_' + res.status, message: 'The server answered ' + res.status + '.' };
        if (res.status === 404 && error.error === 'room_not_found') showGone('missing');
        return { ok: false, status: res.status, error: error };
      });
    }, function () {
      return { ok: false, status: 0, error: { error: 'network', message: 'The server cannot be reached right now.' } };
    });
  }

  function command(method, path, body) {
    return send(method, path, body).then(function (r) {
      if (!r.ok && !gone) announce(r.error.message);
      return r;
    });
  }

  function start() { return command('PATCH', base + '/timer/start'); }
  function pause() { return command('PATCH', base + '/timer/stop'); }

  el.start.addEventListener('click', start);
  el.pause.addEventListener('click', pause);
  el.reset.addEventListener('click', function () { command('PATCH', base + '/timer/reset'); });
  // Next names the round it was made in: when someone else ended the turn first (409),
  // the stream already tells the page, and nothing more is said.
  el.next.addEventListener('click', function () {
    if (!snapshot || gone) return;
    send('PATCH', base + '/timer/next?round=' + snapshot.round).then(function (r) {
      if (!r.ok && r.status !== 409 && !gone) announce(r.error.message);
    });
  });
  // The swap names the round it was made in, so that it never undoes a time-up's swap.
  el.swap.addEventListener('click', function () {
    if (!snapshot) return;
    command('PATCH', '/api/pair-room/' + encodeURIComponent(code) + '/pair-swap?round=' + snapshot.round);
  });

  function showDurationError(message) { showFieldError(el.duration, el.durationError, message); }

  function applyDuration() {
    if (!snapshot || gone) return;
    var turn = rules.turnLength(el.duration.value);
    if (turn.problem) {
      showDurationError(turn.problem);
      return;
    }
    var ms = turn.ms;
    if (ms === requestedDuration || (requestedDuration === null && ms === snapshot.duration)) {
      showDurationError('');
      return;
    }
    requestedDuration = ms;
    send('PATCH', base + '/timer', { duration: ms }).then(function (r) {
      if (r.ok) { showDurationError(''); return; }
      requestedDuration = null;
      if (r.error.error === 'timer_running') showDurationError('Pause the timer before changing its length.');
      else if (r.status === 400) showDurationError(rules.refusal(r.error.message).words);
      else showDurationError(r.error.message);
    });
  }

  el.durationForm.addEventListener('submit', function (e) {
    e.preventDefault();
    applyDuration();
  });
  el.duration.addEventListener('change', applyDuration);
  el.duration.addEventListener('input', function () { showDurationError(''); });

  // ---- breaks and auto-start ----

  // Shows what is wrong with each field of the box (by the API's name of its setting;
  // no entry clears it) and, under the box, what is wrong with none of them in
  // particular (`other`).
  function showBreaksErrors(problems) {
    showFieldError(el.breakEvery, el.breakEveryError, problems.breakEvery || '');
    showFieldError(el.breakMinutes, el.breakMinutesError, problems.breakDuration || '');
    setText(el.breaksError, problems.other || '');
    el.breaksError.hidden = !problems.other;
  }

  // What the fields say, as settings; or what is wrong with each field that is not valid.
  function fieldSettings() {
    var every = rules.breakEvery(el.breakEvery.value);
    var length = rules.breakLength(el.breakMinutes.value);
    if (every.problem || length.problem) {
      return { problems: { breakEvery: every.problem, breakDuration: length.problem } };
    }
    return { settings: { autoStart: el.autoStart.checked, breakEvery: every.every, breakDuration: length.ms } };
  }

  // Takes in what the fields say that differs from the room (or from what was already
  // set here), and sends it unless a request is on its way.
  function applySettings() {
    if (!snapshot || !snapshot.settings || gone) return;
    var read = fieldSettings();
    if (read.problems) { showBreaksErrors(read.problems); return; }
    Object.keys(read.settings).forEach(function (k) {
      var known = k in settingsWanted ? settingsWanted[k] : snapshot.settings[k];
      if (read.settings[k] !== known) settingsWanted[k] = read.settings[k];
    });
    if (Object.keys(settingsWanted).length === 0) { showBreaksErrors({}); return; }
    settingsSettled = false;
    if (settingsInFlight) { settingsQueued = true; return; }
    sendSettings();
  }

  function sendSettings() {
    var body = {};
    Object.keys(settingsWanted).forEach(function (k) { body[k] = settingsWanted[k]; });
    settingsInFlight = true;
    settingsQueued = false;
    send('PATCH', '/api/pair-room/' + encodeURIComponent(code) + '/settings', body).then(function (r) {
      settingsInFlight = false;
      if (!r.ok) {
        // Nothing of it was taken: the fields go back to the room's, but the one at fault.
        settingsWanted = {};
        settingsQueued = false;
        var said = r.status === 400 ? rules.refusal(r.error.message) : { field: null, words: r.error.message };
        var problems = {};
        if (said.field === 'breakEvery' || said.field === 'breakDuration') problems[said.field] = said.words;
        else problems.other = said.words;
        showBreaksErrors(problems);
      } else {
        showBreaksErrors({});
        if (settingsQueued) { sendSettings(); return; }
        settingsSettled = true;
      }
      render();
    });
  }

  el.breaksForm.addEventListener('submit', function (e) {
    e.preventDefault();
    applySettings();
  });
  [[el.autoStart, null], [el.breakEvery, el.breakEveryError], [el.breakMinutes, el.breakMinutesError]].forEach(function (f) {
    f[0].addEventListener('change', applySettings);
    f[0].addEventListener('input', function () {
      if (f[1]) showFieldError(f[0], f[1], '');
      setText(el.breaksError, '');
      el.breaksError.hidden = true;
    });
  });

  // Whether `host` (as `location.hostname` spells it) is this machine only.
  function isLoopback(host) {
    var h = host.replace(/^\[|\]$/g, '').toLowerCase();
    return h === 'localhost' || /\.localhost$/.test(h) || /^127(\.\d{1,3}){3}$/.test(h) ||
      h === '::1' || h === '0:0:0:0:0:0:0:1';
  }

  var onlyHere = isLoopback(location.hostname);

  // A link to a loopback address opens on this machine only: the note beside the
  // copy-link button says so, and how to serve a link the others can open.
  function renderShareNote() {
    if (!onlyHere) return;
    var port = location.port || (location.protocol === 'https:' ? '443' : '80');
    setText(byId('share-host'), location.hostname);
    setText(byId('share-host-again'), location.hostname);
    setText(byId('share-bind'), 'PAIRSYNC_BIND=0.0.0.0:' + port);
    el.shareNote.hidden = false;
    el.copyLink.setAttribute('aria-describedby', 'share-note');
  }
  renderShareNote();

  var copiedTimer = null;
  el.copyLink.addEventListener('click', function () {
    var url = location.origin + '/p/' + encodeURIComponent(code);
    copyText(url).then(function (ok) {
      el.copyLabel.textContent = ok ? 'Copied' : 'Copy failed';
      var sent = onlyHere ? 'Link copied. It opens on this computer only: see the note beside the button.'
        : 'Link copied. Send it to your pair.';
      announce(ok ? sent : 'Copy this link: ' + url);
      clearTimeout(copiedTimer);
      copiedTimer = setTimeout(function () { el.copyLabel.textContent = 'Copy link'; }, COPIED_LABEL_MS);
    });
  });

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(function () { return true; }, function () { return fallbackCopy(text); });
    }
    return Promise.resolve(fallbackCopy(text));
  }

  function fallbackCopy(text) {
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  // Space starts or pauses, unless focus is in a field or on a control that
  // handles Space itself.
  document.addEventListener('keydown', function (e) {
    if (e.key !== ' ' && e.code !== 'Space') return;
    if (e.repeat || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && t.closest && t.closest('input, textarea, select, button, a[href], [contenteditable=""], [contenteditable="true"]')) return;
    if (!snapshot || gone) return;
    e.preventDefault();
    if (snapshot.state === 'running') pause(); else start();
  });

  // A page restored from the back/forward cache has a closed stream.
  window.addEventListener('pageshow', function (e) {
    if (e.persisted && !gone && source && source.readyState === EventSource.CLOSED) {
      setConnection('reconnecting');
      connect();
    }
  });

  renderYou();
  if (!code) {
    showGone('missing');
    return;
  }
  // The first visit asks for a name; the room is live meanwhile, anonymously.
  if (visitorName === null) openNameForm(false);
  connect();
})();

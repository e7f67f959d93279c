// pairsync — the pair room page, /p/{code}.
//
// The page draws only what the server's event stream (GET /api/{code}/connect)
// tells it: the `state` snapshot (timer, driver, navigator) and the
// `remaining-time` ticks. It never counts down on its own: the server sends a
// tick at every whole second (deadline − k·1000), and the page shows
// ceil(remaining / 1000) seconds of the latest value, so every open page of the
// room shows the same second. Buttons send PATCH requests and wait for the
// stream to report the result.
//
// A break between turns (snapshot `phase: "break"`) is drawn apart from a turn:
// its own ring colour, a "Break" badge, the heading and the tab title. The end
// of a turn and the end of a break both chime and notify. Until the page may
// play sound (browsers allow it only after a click or key press), a button
// offers to turn sound and notifications on.
(function () {
  'use strict';

  var TITLE = 'pairsync';
  // After the browser gave up on the stream (an HTTP error rather than a
  // dropped connection), the page asks whether the room still exists and
  // opens a new stream after this delay if it does.
  var REOPEN_DELAY_MS = 2000;
  var COPIED_LABEL_MS = 2000;
  var HIGHLIGHT_MS = 1500;

  var code = roomCode(location.pathname);
  var base = '/api/' + encodeURIComponent(code);

  var el = {
    body: document.body,
    connection: byId('connection'),
    countdown: byId('countdown'),
    ring: byId('ring-progress'),
    timerState: byId('timer-state'),
    phaseLabel: byId('phase-label'),
    heading: byId('room-heading'),
    enableAlerts: byId('enable-alerts'),
    breaksForm: byId('breaks-form'),
    autoStart: byId('auto-start'),
    breakEvery: byId('break-every'),
    breakMinutes: byId('break-minutes'),
    saveBreaks: byId('save-breaks'),
    breaksError: byId('breaks-error'),
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
    status: byId('status'),
    gone: byId('gone'),
    goneTitle: byId('gone-title'),
    goneText: byId('gone-text')
  };

  var snapshot = null;      // the latest `state` event
  var remaining = null;     // ms, the latest `remaining-time` (or snapshot) value
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
  var gone = false;
  var requestedDuration = null;
  var audio = null;

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

  function render() {
    if (remaining !== null) {
      var text = clock(remaining);
      var title = (inBreak() ? 'Break ' : '') + text + ' · ' + TITLE;
      setText(el.countdown, text);
      if (!gone && document.title !== title) document.title = title;
    }
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

    var shownMs = remaining === null ? s.remainingTime : Math.ceil(Math.max(0, remaining) / 1000) * 1000;
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
    el.duration.disabled = off || running;
    el.setDuration.disabled = off || running;
    el.duration.title = running ? 'Pause the timer to change its length' : '';
    if (document.activeElement !== el.duration) el.duration.value = minutesText(s.duration);
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

  function setConnection(state) {
    el.connection.dataset.state = state;
    el.body.dataset.connection = state;
    setText(el.connection, state);
  }

  function announce(message, notice) {
    el.status.classList.toggle('notice', !!notice);
    el.status.textContent = message;
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
  }

  // ---- the stream ----

  function connect() {
    if (gone) return;
    // The tabs of this room in this browser share one stream (stream.js).
    var es = window.PairsyncStream ? PairsyncStream.open(base + '/connect') : new EventSource(base + '/connect');
    source = es;
    watchOpening(es);
    es.onopen = function () { if (!gone) setConnection('connected'); };
    es.addEventListener('connect', function () { if (!gone) setConnection('connected'); });
    es.addEventListener('remaining-time', function (e) {
      var v = Number(e.data);
      if (!isFinite(v)) return;
      remaining = v;
      render();
    });
    es.addEventListener('timer', function (e) {
      if (e.data === 'stop') {
        endedPhase = inBreak() ? 'break' : 'turn';
        timeUpPending = true;
        chime();
      } else if (e.data === 'break') {
        breakPending = true;
      }
    });
    es.addEventListener('state', function (e) {
      var next;
      try { next = JSON.parse(e.data); } catch (err) { return; }
      onState(next);
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
        if (es === source && !gone && es.readyState === EventSource.CONNECTING) announce(STALLED_TEXT, true);
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
    // A `state` that comes once every settings request was answered is as new as them.
    if (settingsSettled) { settingsWanted = {}; settingsSettled = false; }
    if (typeof next.remainingTime === 'number') remaining = next.remainingTime;
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
    var swapped = prev && (prev.driver !== next.driver || prev.navigator !== next.navigator);
    var line = next.driver + ' drives now, ' + next.navigator + ' navigates.';
    if (breakPending && next.phase === 'break') {
      breakPending = false;
      var then = 'Then ' + next.driver + ' drives, ' + next.navigator + ' navigates.';
      announce('Time for a break: ' + clock(next.remainingTime) + '. ' + then, true);
      notify('Time for a break', clock(next.remainingTime) + ' of break. ' + then);
    } else if (timeUpPending && endedPhase === 'break') {
      timeUpPending = false;
      announce('The break is over. ' + line, true);
      notify('The break is over', line);
    } else if (timeUpPending) {
      timeUpPending = false;
      announce('Time is up! ' + line, true);
      notify('Time is up: swap roles', line);
      highlightRoles();
    } else if (swapped) {
      announce('Roles swapped: ' + next.driver + ' drives, ' + next.navigator + ' navigates.', true);
      highlightRoles();
    }
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
  // The swap names the round it was made in, so that it never undoes a time-up's swap.
  el.swap.addEventListener('click', function () {
    if (!snapshot) return;
    command('PATCH', '/api/pair-room/' + encodeURIComponent(code) + '/pair-swap?round=' + snapshot.round);
  });

  function showDurationError(message) {
    el.durationError.textContent = message;
    el.durationError.hidden = !message;
    if (message) el.duration.setAttribute('aria-invalid', 'true');
    else el.duration.removeAttribute('aria-invalid');
  }

  function applyDuration() {
    if (!snapshot || gone) return;
    var raw = el.duration.value.trim();
    var mins = Number(raw);
    if (raw === '' || !isFinite(mins)) {
      showDurationError('Enter the minutes per turn, for example 25.');
      return;
    }
    var ms = Math.round(mins * 60000);
    if (ms === requestedDuration || (requestedDuration === null && ms === snapshot.duration)) {
      showDurationError('');
      return;
    }
    requestedDuration = ms;
    send('PATCH', base + '/timer', { duration: ms }).then(function (r) {
      if (r.ok) { showDurationError(''); return; }
      requestedDuration = null;
      if (r.error.error === 'timer_running') showDurationError('Pause the timer before changing its length.');
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

  function showBreaksError(message, field) {
    el.breaksError.textContent = message;
    el.breaksError.hidden = !message;
    [el.breakEvery, el.breakMinutes].forEach(function (input) {
      if (message && input === field) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    });
  }

  // The bounds the server holds a break's length to.
  var MIN_BREAK_MS = 1000;
  var MAX_BREAK_MS = 3600000;
  var EVERY_HELP = 'Break after every: a whole number of turns from 0 (never) to 20.';
  var LENGTH_HELP = 'Break length: from 1 second (0.02) to 60 minutes.';

  // What the fields say, as settings; or the first field that is not valid.
  function fieldSettings() {
    var every = el.breakEvery.value.trim();
    if (!/^\d+$/.test(every) || Number(every) > 20) return { error: EVERY_HELP, field: el.breakEvery };
    var raw = el.breakMinutes.value.trim();
    var mins = Number(raw);
    var ms = Math.round(mins * 60000);
    if (raw === '' || !isFinite(mins) || ms < MIN_BREAK_MS || ms > MAX_BREAK_MS) {
      return { error: LENGTH_HELP, field: el.breakMinutes };
    }
    return { settings: { autoStart: el.autoStart.checked, breakEvery: Number(every), breakDuration: ms } };
  }

  // Takes in what the fields say that differs from the room (or from what was already
  // set here), and sends it unless a request is on its way.
  function applySettings() {
    if (!snapshot || !snapshot.settings || gone) return;
    var read = fieldSettings();
    if (read.error) { showBreaksError(read.error, read.field); return; }
    Object.keys(read.settings).forEach(function (k) {
      var known = k in settingsWanted ? settingsWanted[k] : snapshot.settings[k];
      if (read.settings[k] !== known) settingsWanted[k] = read.settings[k];
    });
    if (Object.keys(settingsWanted).length === 0) { showBreaksError(''); return; }
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
        if (/breakDuration/.test(r.error.message)) showBreaksError(LENGTH_HELP, el.breakMinutes);
        else if (/breakEvery/.test(r.error.message)) showBreaksError(EVERY_HELP, el.breakEvery);
        else showBreaksError(r.error.message);
      } else {
        showBreaksError('');
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
  [el.autoStart, el.breakEvery, el.breakMinutes].forEach(function (input) {
    input.addEventListener('change', applySettings);
    input.addEventListener('input', function () { showBreaksError(''); });
  });

  var copiedTimer = null;
  el.copyLink.addEventListener('click', function () {
    var url = location.origin + '/p/' + encodeURIComponent(code);
    copyText(url).then(function (ok) {
      el.copyLabel.textContent = ok ? 'Copied' : 'Copy failed';
      announce(ok ? 'Link copied. Send it to your pair.' : 'Copy this link: ' + url);
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

  if (!code) {
    showGone('missing');
    return;
  }
  connect();
})();

// pairsync — the pair room page, /p/{code}.
//
// The page draws only what the server's event stream (GET /api/{code}/connect)
// tells it: the `state` snapshot (timer, driver, navigator) and the
// `remaining-time` ticks. It never counts down on its own: the server sends a
// tick at every whole second (deadline − k·1000), and the page shows
// ceil(remaining / 1000) seconds of the latest value, so every open page of the
// room shows the same second. Buttons send PATCH requests and wait for the
// stream to report the result.
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
    roles: byId('roles'),
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

  function render() {
    if (remaining !== null) {
      var text = clock(remaining);
      setText(el.countdown, text);
      if (!gone && document.title !== text + ' · ' + TITLE) document.title = text + ' · ' + TITLE;
    }
    if (!snapshot) return;
    var s = snapshot;
    var running = s.state === 'running';
    el.body.dataset.timer = s.state;
    setText(el.driver, s.driver);
    setText(el.navigator, s.navigator);

    var shownMs = remaining === null ? s.remainingTime : Math.ceil(Math.max(0, remaining) / 1000) * 1000;
    var fraction = s.duration > 0 ? Math.min(1, Math.max(0, shownMs / s.duration)) : 0;
    el.ring.style.strokeDashoffset = String(100 - fraction * 100);

    var label = running ? 'Running' : s.state === 'paused' ? 'Paused' : 'Ready';
    setText(el.timerState, gone ? 'Room deleted' : label + ' · round ' + ((s.round || 0) + 1));

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
    var es = new EventSource(base + '/connect');
    source = es;
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
        timeUpPending = true;
        chime();
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
    if (typeof next.remainingTime === 'number') remaining = next.remainingTime;
    if (requestedDuration !== null && next.duration === requestedDuration) requestedDuration = null;
    render();
    var swapped = prev && (prev.driver !== next.driver || prev.navigator !== next.navigator);
    if (timeUpPending) {
      timeUpPending = false;
      var line = next.driver + ' drives now, ' + next.navigator + ' navigates.';
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

  // The first user gesture unlocks audio and asks for notification permission.
  function onFirstGesture() {
    document.removeEventListener('click', onFirstGesture, true);
    document.removeEventListener('keydown', onFirstGesture, true);
    audioContext();
    if ('Notification' in window && Notification.permission === 'default') {
      try {
        var p = Notification.requestPermission();
        if (p && p.catch) p.catch(function () {});
      } catch (e) { /* ignore */ }
    }
  }
  document.addEventListener('click', onFirstGesture, true);
  document.addEventListener('keydown', onFirstGesture, true);

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

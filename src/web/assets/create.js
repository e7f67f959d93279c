// pairsync — the "create a pair room" page.
// Posts the form to POST /api/pair-room and opens /p/{accessCode} on 201.
// The room's settings (auto-start, a break every N turns, the break's length)
// go in the same body. Validation is the server's: its 400 message names the
// field, and the message is shown next to that field; only a field that holds
// no number at all is refused here.
(function () {
  'use strict';

  var form = document.getElementById('create-form');
  var driver = document.getElementById('driver');
  var navigator_ = document.getElementById('navigator');
  var minutes = document.getElementById('minutes');
  var autoStart = document.getElementById('auto-start');
  var breakEvery = document.getElementById('break-every');
  var breakMinutes = document.getElementById('break-minutes');
  var submit = document.getElementById('create');
  var formError = document.getElementById('form-error');
  var presets = Array.prototype.slice.call(document.querySelectorAll('[data-minutes]'));

  // Server field name -> [input, error element].
  var FIELDS = {
    driver: [driver, document.getElementById('driver-error')],
    navigator: [navigator_, document.getElementById('navigator-error')],
    timerDuration: [minutes, document.getElementById('minutes-error')],
    breakEvery: [breakEvery, document.getElementById('break-every-error')],
    breakDuration: [breakMinutes, document.getElementById('break-minutes-error')]
  };

  function syncPresets() {
    var value = Number(minutes.value);
    presets.forEach(function (b) {
      b.setAttribute('aria-pressed', String(Number(b.dataset.minutes) === value));
    });
  }

  presets.forEach(function (b) {
    b.addEventListener('click', function () {
      minutes.value = b.dataset.minutes;
      syncPresets();
      clearError('timerDuration');
    });
  });
  minutes.addEventListener('input', syncPresets);

  Object.keys(FIELDS).forEach(function (name) {
    FIELDS[name][0].addEventListener('input', function () { clearError(name); });
  });

  function clearError(name) {
    var f = FIELDS[name];
    f[0].removeAttribute('aria-invalid');
    f[1].textContent = '';
    f[1].hidden = true;
  }

  function clearErrors() {
    Object.keys(FIELDS).forEach(clearError);
    formError.textContent = '';
    formError.hidden = true;
  }

  function showError(name, message) {
    var f = FIELDS[name];
    if (!f) {
      formError.textContent = message;
      formError.hidden = false;
      return;
    }
    f[0].setAttribute('aria-invalid', 'true');
    f[1].textContent = message;
    f[1].hidden = false;
    f[0].focus();
  }

  // The field an error message is about: an explicit `field` if the server
  // sends one, else the field name that the message mentions first.
  function fieldOf(body) {
    if (body && typeof body.field === 'string' && FIELDS[body.field]) return body.field;
    var message = (body && body.message) || '';
    var best = null;
    var bestAt = Infinity;
    Object.keys(FIELDS).forEach(function (name) {
      var m = new RegExp('\\b' + name + '\\b').exec(message);
      if (m && m.index < bestAt) { best = name; bestAt = m.index; }
    });
    return best;
  }

  // Words for a length of `ms` milliseconds, as the page asks for lengths.
  function lengthWords(ms) {
    if (ms % 60000 === 0) return plural(ms / 60000, 'minute');
    if (ms % 1000 === 0) return plural(ms / 1000, 'second');
    return plural(ms, 'millisecond');
  }

  function plural(n, unit) { return n + ' ' + unit + (n === 1 ? '' : 's'); }

  // The page asks for minutes, the API counts milliseconds: a refused length is said in
  // the page's words (the field's label and readable bounds); any other message as sent.
  var LENGTH_LABELS = { timerDuration: 'A turn', breakDuration: 'A break' };

  function inPageUnits(field, message) {
    var m = /must be (at least|at most) (\d+)\b/.exec(message);
    if (!LENGTH_LABELS[field] || !m) return message;
    return LENGTH_LABELS[field] + ' lasts ' + m[1] + ' ' + lengthWords(Number(m[2])) + '.';
  }

  // The number an input holds, or null when it holds none.
  function numberIn(input) {
    var n = Number(input.value);
    return input.value.trim() === '' || !isFinite(n) ? null : n;
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    clearErrors();
    var mins = numberIn(minutes);
    if (mins === null) {
      showError('timerDuration', 'Enter the minutes per turn, for example 25.');
      return;
    }
    var every = numberIn(breakEvery);
    if (every === null) {
      showError('breakEvery', 'Enter after how many turns a break comes, or 0 for no breaks.');
      return;
    }
    var breakMins = numberIn(breakMinutes);
    if (breakMins === null) {
      showError('breakDuration', 'Enter the break length in minutes, for example 5.');
      return;
    }
    var payload = {
      navigator: navigator_.value,
      driver: driver.value,
      timerDuration: Math.round(mins * 60000),
      autoStart: autoStart.checked,
      breakEvery: every,
      breakDuration: Math.round(breakMins * 60000)
    };
    submit.disabled = true;
    fetch('/api/pair-room', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(payload)
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (body) {
        if (res.status === 201 && body && body.accessCode) {
          location.assign('/p/' + encodeURIComponent(body.accessCode));
          return;
        }
        submit.disabled = false;
        if (res.status === 400 && body && body.message) {
          var field = fieldOf(body);
          showError(field, inPageUnits(field, body.message));
        } else {
          showError(null, (body && body.message) || 'The server answered ' + res.status + '. Try again.');
        }
      });
    }, function () {
      submit.disabled = false;
      showError(null, 'The server cannot be reached. Check the connection and try again.');
    });
  });

  syncPresets();
})();

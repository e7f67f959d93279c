// pairsync — the "create a pair room" page.
// Posts the form to POST /api/pair-room and opens /p/{accessCode} on 201.
// Two names (driver, navigator) make a pair; "Add a member" adds more name
// fields (up to 12 names in all, each removable), and then the names go as
// `members`, in turn order. The room's settings (auto-start, a break every N
// turns, the break's length) go in the same body.
// The page checks every field by the API's rules before asking the server
// (input.js: names empty, too long or given twice; a turn of 1 second to 24 hours;
// a break after a whole number of 0 to 20 turns, of 1 second to 60 minutes), and
// marks every wrong field at once, each with its words tied to its input
// (aria-describedby, aria-invalid). Should the server still refuse, its 400
// message names the field, and the page says it in the same words next to it.
(function () {
  'use strict';

  var rules = window.PairsyncInput;
  var MAX_MEMBERS = rules.MAX_MEMBERS;
  var MAX_NAME_CHARS = rules.MAX_NAME_CHARS;

  var form = document.getElementById('create-form');
  var driver = document.getElementById('driver');
  var navigator_ = document.getElementById('navigator');
  var minutes = document.getElementById('minutes');
  var autoStart = document.getElementById('auto-start');
  var breakEvery = document.getElementById('break-every');
  var breakMinutes = document.getElementById('break-minutes');
  var submit = document.getElementById('create');
  var formError = document.getElementById('form-error');
  var more = document.getElementById('more-members');
  var addMember = document.getElementById('add-member');
  var membersNote = document.getElementById('members-note');
  var NOTE = membersNote.textContent;
  var presets = Array.prototype.slice.call(document.querySelectorAll('[data-minutes]'));

  // Server field name -> [input, error element].
  var FIELDS = {
    driver: [driver, document.getElementById('driver-error')],
    navigator: [navigator_, document.getElementById('navigator-error')],
    timerDuration: [minutes, document.getElementById('minutes-error')],
    breakEvery: [breakEvery, document.getElementById('break-every-error')],
    breakDuration: [breakMinutes, document.getElementById('break-minutes-error')]
  };
  // The order in which fields are checked and the first wrong one gets focus.
  var ORDER = ['driver', 'navigator', 'timerDuration', 'breakEvery', 'breakDuration'];

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

  // ---- more members ----

  // The extra members' rows, in turn order: [{row, input, error, remove, label}].
  var extras = [];

  // The field key of the extra member at `i` (0 is the third member): "member-3"...
  function memberKey(i) { return 'member-' + (i + 3); }

  function extraOf(key) {
    for (var i = 0; i < extras.length; i++) if (memberKey(i) === key) return extras[i];
    return null;
  }

  function fieldParts(key) {
    if (FIELDS[key]) return FIELDS[key];
    var x = extraOf(key);
    return x ? [x.input, x.error] : null;
  }

  function makeRow() {
    var row = document.createElement('div');
    row.className = 'field member-field';
    var label = document.createElement('label');
    var line = document.createElement('div');
    line.className = 'member-input-row';
    var input = document.createElement('input');
    input.type = 'text';
    input.maxLength = MAX_NAME_CHARS;
    input.autocomplete = 'off';
    input.spellcheck = false;
    var remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'icon-btn small remove-member';
    remove.innerHTML = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true"><path d="M6 6l12 12M18 6 6 18"/></svg>';
    var error = document.createElement('p');
    error.className = 'field-error';
    error.hidden = true;
    line.appendChild(input);
    line.appendChild(remove);
    row.appendChild(label);
    row.appendChild(line);
    row.appendChild(error);
    var x = { row: row, input: input, error: error, remove: remove, label: label };
    input.addEventListener('input', function () { clearError(keyOf(x)); });
    remove.addEventListener('click', function () { removeRow(x); });
    return x;
  }

  function keyOf(x) { return memberKey(extras.indexOf(x)); }

  // Numbers, labels and ids follow the rows' places.
  function renumber() {
    extras.forEach(function (x, i) {
      var n = i + 3;
      var key = memberKey(i);
      x.input.id = key;
      x.input.name = key;
      x.error.id = key + '-error';
      x.input.setAttribute('aria-describedby', x.error.id);
      x.label.htmlFor = key;
      x.label.textContent = 'Member ' + n;
      x.remove.setAttribute('aria-label', 'Remove member ' + n);
      x.remove.title = 'Remove member ' + n;
    });
    var full = extras.length + 2 >= MAX_MEMBERS;
    addMember.disabled = full;
    membersNote.textContent = full ? 'A room holds at most ' + MAX_MEMBERS + ' members: this one is full.' : NOTE;
  }

  addMember.addEventListener('click', function () {
    if (extras.length + 2 >= MAX_MEMBERS) return;
    var x = makeRow();
    extras.push(x);
    more.appendChild(x.row);
    renumber();
    clearFormError();
    x.input.focus();
  });

  function removeRow(x) {
    var i = extras.indexOf(x);
    if (i < 0) return;
    extras.splice(i, 1);
    x.row.remove();
    renumber();
    // Focus stays in the list: the row now in that place, the one before, or the button.
    var next = extras[i] || extras[i - 1];
    (next ? next.input : addMember.disabled ? navigator_ : addMember).focus();
  }

  // ---- errors ----

  function clearError(name) {
    var f = fieldParts(name);
    if (!f) return;
    f[0].removeAttribute('aria-invalid');
    f[1].textContent = '';
    f[1].hidden = true;
  }

  function clearFormError() {
    formError.textContent = '';
    formError.hidden = true;
  }

  function clearErrors() {
    Object.keys(FIELDS).forEach(clearError);
    extras.forEach(function (x) { clearError(keyOf(x)); });
    clearFormError();
  }

  // Shows `message` next to the field `name`, or above the form when no field is named.
  function showError(name, message, keepFocus) {
    var f = name && fieldParts(name);
    if (!f) {
      formError.textContent = message;
      formError.hidden = false;
      return;
    }
    f[0].setAttribute('aria-invalid', 'true');
    f[1].textContent = message;
    f[1].hidden = false;
    if (!keepFocus) f[0].focus();
  }

  // The field an error message is about: an explicit `field` if the server sends one,
  // the member a `members[i]` message names, else the field name that the message
  // mentions first.
  function fieldOf(body, names) {
    if (body && typeof body.field === 'string' && FIELDS[body.field]) return body.field;
    var message = (body && body.message) || '';
    var at = /\bmembers\[(\d+)\]/.exec(message);
    if (at) return nameKey(Number(at[1]));
    var twice = /\bmembers must not name "(.*)" twice/.exec(message);
    if (twice) {
      var seen = [];
      for (var i = 0; i < names.length; i++) {
        var n = names[i].trim();
        if (seen.indexOf(n) >= 0) return nameKey(i);
        seen.push(n);
      }
    }
    if (/\bmembers\b/.test(message)) return names.length > 2 ? memberKey(extras.length - 1) : 'driver';
    var best = null;
    var bestAt = Infinity;
    Object.keys(FIELDS).forEach(function (name) {
      var m = new RegExp('\\b' + name + '\\b').exec(message);
      if (m && m.index < bestAt) { best = name; bestAt = m.index; }
    });
    return best;
  }

  // The field key of the name at place `i` in the turn order.
  function nameKey(i) { return i === 0 ? 'driver' : i === 1 ? 'navigator' : memberKey(i - 2); }

  function isNameField(key) { return key === 'driver' || key === 'navigator' || /^member-\d+$/.test(key); }

  // A refused name, in a person's words.
  function nameWords(message, value) {
    if (/twice|differ/.test(message)) return value.trim() + ' is already named above.';
    if (/control characters/.test(message)) return 'Names cannot hold tabs or line breaks.';
    if (/1 to 20 characters|required/.test(message)) {
      return value.trim() ? 'Names can be at most ' + MAX_NAME_CHARS + ' characters.' : 'Enter a name here.';
    }
    if (/at most 12/.test(message)) return 'A room holds at most ' + MAX_MEMBERS + ' members.';
    return message;
  }

  // Who the name at place `i` is, as the page says it.
  function whoAt(i) { return i === 0 ? 'the driver' : i === 1 ? 'the navigator' : 'member ' + (i + 1); }

  // What is wrong with each name, by field key, in a person's words.
  function nameProblems(names) {
    var problems = {};
    var seen = [];
    names.forEach(function (raw, i) {
      var name = raw.trim();
      var length = Array.from(name).length;
      var key = nameKey(i);
      if (length === 0) {
        problems[key] = i === 0 ? "Enter the driver's name."
          : i === 1 ? "Enter the navigator's name."
          : 'Enter the name of member ' + (i + 1) + ', or remove this field.';
      } else if (rules.nameFault(name)) {
        problems[key] = rules.nameFault(name);
      } else if (seen.indexOf(name) >= 0) {
        problems[key] = name + ' is already ' + whoAt(seen.indexOf(name)) + '. Each member needs a name of their own.';
      }
      seen.push(length ? name : null);
    });
    return problems;
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    clearErrors();
    var names = [driver.value, navigator_.value].concat(extras.map(function (x) { return x.input.value; }));
    var problems = nameProblems(names);
    var turn = rules.turnLength(minutes.value);
    if (turn.problem) problems.timerDuration = turn.problem;
    var every = rules.breakEvery(breakEvery.value);
    if (every.problem) problems.breakEvery = every.problem;
    var pause = rules.breakLength(breakMinutes.value);
    if (pause.problem) problems.breakDuration = pause.problem;

    // Every wrong field at once, in the order of the page; the first one gets focus.
    var keys = ['driver', 'navigator'].concat(extras.map(keyOf)).concat(ORDER.slice(2));
    var wrong = keys.filter(function (k) { return problems[k]; });
    if (wrong.length) {
      wrong.forEach(function (k) { showError(k, problems[k], true); });
      if (wrong.length > 1) showError(null, wrong.length + ' fields need a change: each says what, below.');
      fieldParts(wrong[0])[0].focus();
      return;
    }

    var payload = {
      timerDuration: turn.ms,
      autoStart: autoStart.checked,
      breakEvery: every.every,
      breakDuration: pause.ms
    };
    if (names.length > 2) {
      payload.members = names;
    } else {
      payload.navigator = navigator_.value;
      payload.driver = driver.value;
    }
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
          var field = fieldOf(body, names);
          if (field && isNameField(field)) {
            showError(field, nameWords(body.message, fieldParts(field)[0].value));
          } else {
            showError(field, rules.refusal(body.message).words);
          }
        } else {
          showError(null, (body && body.message) || 'The server answered ' + res.status + '. Try again.');
        }
      });
    }, function () {
      submit.disabled = false;
      showError(null, 'The server cannot be reached. Check the connection and try again.');
    });
  });

  renumber();
  syncPresets();
})();

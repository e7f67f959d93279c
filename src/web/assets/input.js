// pairsync — what the pages accept in their fields, and what they say when a value
// will not do.
//
// The rules are the API's (names trimmed, 1 to 20 characters, no control characters;
// a turn of 1 s to 24 h; a break after every 0 to 20 turns, lasting 1 s to 60 min),
// said in the words and units of the pages' fields: minutes, turns and names, never
// the API's field names or milliseconds. `PairsyncInput.refusal(message)` says a
// refusal of the API (its 400 message, which names the field) in the same words, for
// the rare value the page let through and the server did not.
//
// Loaded before create.js and room.js; it owns no element of a page.
(function () {
  'use strict';

  var MAX_NAME_CHARS = 20;
  var MIN_MEMBERS = 2;
  var MAX_MEMBERS = 12;
  var MIN_LENGTH_MS = 1000;
  var MAX_TURN_MS = 86400000;
  var MAX_BREAK_MS = 3600000;
  var MAX_BREAK_EVERY = 20;

  var CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

  // A length as the pages say it: "1 second", "60 minutes", "24 hours" (hours past the
  // first, as the minutes field counts them).
  function lengthWords(ms) {
    if (ms % 3600000 === 0 && ms > 3600000) return plural(ms / 3600000, 'hour');
    if (ms % 60000 === 0) return plural(ms / 60000, 'minute');
    if (ms % 1000 === 0) return plural(ms / 1000, 'second');
    return plural(ms, 'millisecond');
  }

  function plural(n, unit) { return n + ' ' + unit + (n === 1 ? '' : 's'); }

  // What is wrong with a name (without the empty case, which each form says its own
  // way); "" when nothing is.
  function nameFault(raw) {
    var name = String(raw).trim();
    var length = Array.from(name).length;
    if (length > MAX_NAME_CHARS) return 'Names can be at most ' + MAX_NAME_CHARS + ' characters.';
    if (CONTROL.test(name)) return 'Names cannot hold tabs or line breaks.';
    return '';
  }

  // The number a field holds, or null when it holds none.
  function number(raw) {
    var text = String(raw).trim();
    var n = Number(text);
    return text === '' || !isFinite(n) ? null : n;
  }

  function minutesToMs(minutes) { return Math.round(minutes * 60000); }

  // A length in minutes: { ms } or { problem }. `what` is "A turn" or "A break".
  function length(raw, what, max, empty) {
    var minutes = number(raw);
    if (minutes === null) return { problem: empty };
    var ms = minutesToMs(minutes);
    if (ms < MIN_LENGTH_MS) return { problem: what + ' lasts at least ' + lengthWords(MIN_LENGTH_MS) + '.' };
    if (ms > max) return { problem: what + ' lasts at most ' + lengthWords(max) + '.' };
    return { ms: ms };
  }

  function turnLength(raw) {
    return length(raw, 'A turn', MAX_TURN_MS, 'Enter the minutes per turn, for example 25.');
  }

  function breakLength(raw) {
    return length(raw, 'A break', MAX_BREAK_MS, 'Enter the break length in minutes, for example 5.');
  }

  // After how many turns a break comes: { every } or { problem }.
  function breakEvery(raw) {
    var n = number(raw);
    if (n === null) return { problem: 'Enter after how many turns a break comes, or 0 for no breaks.' };
    if (n !== Math.floor(n)) return { problem: 'A break comes after a whole number of turns, for example 4 (0: no breaks).' };
    if (n < 0) return { problem: 'A break comes after 0 to ' + MAX_BREAK_EVERY + ' turns (0: no breaks).' };
    if (n > MAX_BREAK_EVERY) return { problem: 'Breaks can be at most ' + MAX_BREAK_EVERY + ' turns apart.' };
    return { every: n };
  }

  // The API's fields as the pages name them, for its refusals.
  var FIELDS = {
    timerDuration: { what: 'A turn', unit: 'ms' },
    duration: { what: 'A turn', unit: 'ms' },
    remainingTime: { what: 'The time left', unit: 'ms' },
    breakDuration: { what: 'A break', unit: 'ms' },
    breakEvery: { what: 'Breaks', unit: 'turns' }
  };

  // A refusal of the API (`{error, message}` of a 400) in the pages' words, with the
  // API's field it is about: { field, words }; the field is null and the words are the
  // message as sent when it names no field the pages know.
  function refusal(message) {
    var text = String(message || '');
    var m = /^(\w+)(?:\[\d+\])?:? (.*)$/.exec(text);
    var field = m ? m[1] : null;
    var rest = m ? m[2] : '';
    var known = field && FIELDS[field];
    if (known) {
      var bound = /must be (at least|at most) (\d+)/.exec(rest);
      if (bound && known.unit === 'ms') {
        return { field: field, words: known.what + ' lasts ' + bound[1] + ' ' + lengthWords(Number(bound[2])) + '.' };
      }
      if (bound) {
        return { field: field, words: bound[1] === 'at most'
          ? 'Breaks can be at most ' + bound[2] + ' turns apart.'
          : 'A break comes after 0 to ' + MAX_BREAK_EVERY + ' turns (0: no breaks).' };
      }
      if (/whole number|invalid type/.test(rest) || /invalid type/.test(text)) {
        return { field: field, words: known.unit === 'ms'
          ? known.what + ' is a number of minutes.'
          : 'A break comes after a whole number of turns, for example 4 (0: no breaks).' };
      }
    }
    if (/^(driver|navigator|members|name)\b/.test(text)) {
      field = /^\w+/.exec(text)[0];
      if (/twice|differ/.test(text)) return { field: field, words: 'Each member needs a name of their own.' };
      if (/control characters/.test(text)) return { field: field, words: 'Names cannot hold tabs or line breaks.' };
      if (/1 to 20 characters|required/.test(text)) return { field: field, words: 'Names are 1 to ' + MAX_NAME_CHARS + ' characters.' };
      if (/at least 2/.test(text)) return { field: field, words: 'A room keeps at least ' + MIN_MEMBERS + ' members.' };
      if (/at most 12/.test(text)) return { field: field, words: 'A room holds at most ' + MAX_MEMBERS + ' members.' };
    }
    return { field: null, words: text };
  }

  window.PairsyncInput = {
    MAX_NAME_CHARS: MAX_NAME_CHARS,
    MIN_MEMBERS: MIN_MEMBERS,
    MAX_MEMBERS: MAX_MEMBERS,
    nameFault: nameFault,
    turnLength: turnLength,
    breakLength: breakLength,
    breakEvery: breakEvery,
    lengthWords: lengthWords,
    refusal: refusal
  };
})();

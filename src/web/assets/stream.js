// pairsync — one event stream for all the tabs of a room in one browser.
//
// Over plain HTTP/1.1 a browser opens at most six connections to one server,
// and an open EventSource holds one for as long as the page lives: a seventh
// tab would wait forever. So the tabs of one room share one stream:
//
// - Every tab asks for the Web Lock `pairsync-stream:<stream URL>`. The tab
//   that holds it (the holder) opens the EventSource and posts every event it
//   gets, the moment it gets it, on the BroadcastChannel of the same name.
// - The other tabs (followers) wait for the lock and take their events from
//   the channel. A follower that joins asks the holder for the events of the
//   connect sequence as they stand (the latest of each: remaining time, state,
//   goals, links, who is here...), so it draws the room at once.
// - When the holder's tab closes, the browser hands the lock to a follower,
//   which opens the stream; its connect sequence makes every tab whole.
//
// `PairsyncStream.open(url)` returns an object with the part of EventSource's
// interface the room page uses: `addEventListener`/`removeEventListener` for
// named events and `open`/`error`, `onopen`/`onerror`/`onmessage`,
// `readyState` (with the CONNECTING/OPEN/CLOSED constants) and `close()`. A
// follower's `readyState` is its holder's. Where BroadcastChannel or Web Locks
// are missing (Web Locks need a secure origin: HTTPS, or localhost), it is a
// plain EventSource.
(function () {
  'use strict';

  var CONNECTING = 0;
  var OPEN = 1;
  var CLOSED = 2;
  var PREFIX = 'pairsync-stream:';
  // The named events the holder always relays; a follower asks for any other
  // name it listens to.
  var KNOWN = ['connect', 'remaining-time', 'timer', 'state', 'todos', 'links', 'presence', 'close', 'message'];
  // Events a joining follower is not given again: they tell of a moment, not
  // of how the room stands (`timer: running` is made from the latest state).
  var MOMENTS = { connect: true, timer: true, close: true, message: true };

  function shareable() {
    return typeof BroadcastChannel === 'function' &&
      typeof AbortController === 'function' &&
      !!navigator.locks && typeof navigator.locks.request === 'function';
  }

  function randomId() {
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function SharedStream(url) {
    var self = this;
    var abs = new URL(url, location.href);
    var name = PREFIX + abs.pathname;
    this.url = abs.href;
    this.withCredentials = false;
    this.readyState = CONNECTING;
    this.onopen = null;
    this.onerror = null;
    this.onmessage = null;
    this._id = randomId();
    this._listeners = {};
    this._names = {};
    KNOWN.forEach(function (n) { self._names[n] = true; });
    this._es = null;
    this._holder = false;
    this._release = null;
    this._latest = [];      // [name, data, lastEventId], oldest first, since the last `connect`
    this._abort = new AbortController();
    this._channel = new BroadcastChannel(name);
    this._channel.onmessage = function (e) { self._onMessage(e.data); };
    navigator.locks.request(name, { signal: this._abort.signal }, function () {
      if (self.readyState === CLOSED) return undefined;
      return new Promise(function (resolve) {
        self._release = resolve;
        self._hold();
      });
    }).catch(function () { /* aborted by close() */ });
    // After the page added its listeners: ask the holder, if any, how the room stands.
    setTimeout(function () { self._hello(); }, 0);
  }

  SharedStream.prototype.CONNECTING = CONNECTING;
  SharedStream.prototype.OPEN = OPEN;
  SharedStream.prototype.CLOSED = CLOSED;

  SharedStream.prototype.addEventListener = function (type, fn) {
    if (typeof fn !== 'function') return;
    var list = this._listeners[type] || (this._listeners[type] = []);
    if (list.indexOf(fn) < 0) list.push(fn);
    if (type !== 'open' && type !== 'error' && !this._names[type]) {
      this._names[type] = true;
      if (this._holder) this._listen(type);
      else this._post({ type: 'names', names: [type] });
    }
  };

  SharedStream.prototype.removeEventListener = function (type, fn) {
    var list = this._listeners[type];
    if (!list) return;
    var i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
  };

  SharedStream.prototype.dispatchEvent = function (event) {
    var handler = this['on' + event.type];
    var list = (this._listeners[event.type] || []).slice();
    if (typeof handler === 'function') list.unshift(handler);
    for (var i = 0; i < list.length; i++) {
      try {
        list[i].call(this, event);
      } catch (err) {
        setTimeout(function () { throw err; }, 0);
      }
    }
    return true;
  };

  SharedStream.prototype.close = function () {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this._abort.abort();
    if (this._es) this._es.close();
    if (this._holder) this._post({ type: 'ready', readyState: CLOSED, gone: true });
    this._channel.close();
    if (this._release) this._release();
  };

  SharedStream.prototype._post = function (msg) {
    if (this.readyState === CLOSED && !msg.gone) return;
    msg.from = this._id;
    try { this._channel.postMessage(msg); } catch (e) { /* channel closed */ }
  };

  SharedStream.prototype._hello = function () {
    if (this.readyState === CLOSED || this._holder) return;
    this._post({ type: 'hello', names: Object.keys(this._names) });
  };

  SharedStream.prototype._deliver = function (name, data, lastEventId) {
    if (this.readyState === CLOSED) return;
    this.dispatchEvent(new MessageEvent(name, { data: data, lastEventId: lastEventId || '', origin: location.origin }));
  };

  SharedStream.prototype._setReady = function (state, kind) {
    if (this.readyState === CLOSED) return;
    this.readyState = state;
    if (kind) this.dispatchEvent(new Event(kind));
  };

  // ---- the holder ----

  SharedStream.prototype._hold = function () {
    var self = this;
    this._holder = true;
    this.readyState = CONNECTING;
    var es = new EventSource(this.url);
    this._es = es;
    es.onopen = function () {
      self._post({ type: 'ready', readyState: OPEN, event: 'open' });
      self._setReady(OPEN, 'open');
    };
    es.onerror = function () {
      self._post({ type: 'ready', readyState: es.readyState, event: 'error' });
      self._setReady(es.readyState, 'error');
    };
    Object.keys(this._names).forEach(function (n) { self._listen(n); });
    // Followers name what else they listen to.
    this._post({ type: 'holder' });
  };

  SharedStream.prototype._listen = function (name) {
    var self = this;
    this._es.addEventListener(name, function (e) { self._relay(name, e.data, e.lastEventId); });
  };

  SharedStream.prototype._relay = function (name, data, lastEventId) {
    if (this.readyState === CLOSED) return;
    if (name === 'connect') this._latest = [];
    if (!MOMENTS[name]) {
      this._latest = this._latest.filter(function (ev) { return ev[0] !== name; });
      this._latest.push([name, data, lastEventId]);
    }
    // Followers first: every tab gets the event at the same moment.
    this._post({ type: 'event', name: name, data: data, lastEventId: lastEventId });
    this._deliver(name, data, lastEventId);
  };

  // The connect sequence as the room stands now, for a follower that joins.
  SharedStream.prototype._standing = function () {
    if (this.readyState !== OPEN) return [];
    var events = [['connect', 'OK', '']];
    var state = null;
    this._latest.forEach(function (ev) { if (ev[0] === 'state') state = ev[1]; });
    try {
      if (state && JSON.parse(state).state === 'running') events.push(['timer', 'running', '']);
    } catch (e) { /* not JSON: leave it out */ }
    return events.concat(this._latest);
  };

  // ---- messages between tabs ----

  SharedStream.prototype._onMessage = function (msg) {
    if (!msg || msg.from === this._id || this.readyState === CLOSED) return;
    var self = this;
    if (this._holder) {
      if (msg.type === 'hello' || msg.type === 'names') {
        (msg.names || []).forEach(function (n) {
          if (!self._names[n]) {
            self._names[n] = true;
            self._listen(n);
          }
        });
      }
      if (msg.type === 'hello') {
        this._post({ type: 'sync', to: msg.from, readyState: this.readyState, events: this._standing() });
      }
      return;
    }
    if (msg.type === 'event') {
      this._deliver(msg.name, msg.data, msg.lastEventId);
    } else if (msg.type === 'sync' && msg.to === this._id) {
      if (msg.readyState === OPEN && this.readyState !== OPEN) this._setReady(OPEN, 'open');
      msg.events.forEach(function (ev) { self._deliver(ev[0], ev[1], ev[2]); });
    } else if (msg.type === 'ready') {
      // A holder that closed leaves its followers waiting for the next one.
      if (msg.gone) this._setReady(CONNECTING, null);
      else this._setReady(msg.readyState, msg.event);
    } else if (msg.type === 'holder') {
      this._hello();
    }
  };

  window.PairsyncStream = {
    /** Whether tabs share one stream in this browser (else each holds its own). */
    shared: shareable(),
    /** An EventSource-like stream of `url`, shared with this browser's other tabs of it. */
    open: function (url) {
      return this.shared ? new SharedStream(url) : new EventSource(url);
    }
  };
})();

// Live regions over GraphQL subscriptions: a minimal client for the graphql-transport-ws protocol
// (the protocol of the `graphql-ws` npm package) talking to /graphql/ws.
//
// Why our own client instead of bundling `graphql-ws`: the web crate has no JavaScript build step, and
// every script is served same-origin under a strict CSP (no inline script, no eval, no CDN). graphql-ws
// ships as ES modules meant for a bundler; what a page needs of the protocol (connection_init/ack,
// subscribe/next/error/complete, ping/pong, reconnect with backoff, re-subscribe) is about 150 lines of
// plain ES2020, plus the page side (refresh, status) below: smaller than the library, and nothing to build
// or vendor. The Node tools in e2e/graphql/ drive the same server with the real graphql-ws client.
//
// Page contract:
// - An element with `data-live-query` (a subscription document) and optional `data-live-variables` (JSON)
//   is subscribed once the DOM is ready (and after an htmx swap that brings new ones in).
// - On every `next`, a bubbling, cancelable `live:next` CustomEvent (detail: the payload) is dispatched on
//   it; unless a listener calls preventDefault(), the element is refreshed: the current page is fetched
//   again (header `X-Live-Refresh: 1`), and the element's innerHTML is replaced with that of the element
//   with the same id in the fetched page. The element itself stays, so does its subscription. It then
//   gets `data-live-updated` (ISO time) and, for 1.5 s, the class `live-flash`. Events that arrive while a
//   refresh is in flight are coalesced into one more refresh after it.
// - Elements with `data-live-status` show "live" / "reconnecting…" / "offline" with `data-state`
//   = open | connecting | closed, or the message of a subscription's error.
(function () {
  'use strict';
  if (window.omnisonicLive) {
    // Executed again (htmx re-runs scripts in boosted navigations): keep the one client, look for new regions.
    window.omnisonicLive.scan();
    return;
  }

  const PROTOCOL = 'graphql-transport-ws';
  const MIN_DELAY_MS = 1000;
  const MAX_DELAY_MS = 30000;
  const ACK_TIMEOUT_MS = 10000;
  const FLASH_MS = 1500;
  // Close codes after which retrying cannot help (bad request, unauthorized, forbidden, subprotocol not
  // acceptable, duplicate subscription id, repeated connection_init): show "offline" and stop.
  const FATAL_CLOSE_CODES = [4400, 4401, 4403, 4406, 4409, 4429];
  const TEXT = { open: 'live', connecting: 'reconnecting\u2026', closed: 'offline' };

  // The session's CSRF token, from the hx-headers htmx sends with every request (absent when signed out).
  function csrfToken() {
    try {
      const headers = JSON.parse(document.body.getAttribute('hx-headers') || '{}');
      return headers['X-CSRF-Token'] || null;
    } catch (_) {
      return null;
    }
  }

  const subs = new Map(); // subscription id -> { id, el, payload, done, refreshing, again, flash }
  const bound = new WeakSet(); // elements already subscribed
  let nextId = 1;
  let socket = null; // the current WebSocket, null between connections
  let acked = false; // connection_ack received on the current socket
  let everAcked = false; // a connection was acknowledged before: the next ack follows a reconnect
  let stopped = true; // no (re)connection wanted: no regions, page hidden, or a fatal close
  let attempt = 0; // reconnect attempts since the last connection_ack
  let retryTimer = 0;
  let ackTimer = 0;
  let state = 'closed';
  let statusText = null; // null: the page's own text, until the client has something to say

  function showStatus() {
    if (statusText === null) return;
    document.querySelectorAll('[data-live-status]').forEach((el) => {
      el.textContent = statusText;
      el.setAttribute('data-state', state);
    });
  }

  function setState(next) {
    state = next;
    statusText = TEXT[next];
    showStatus();
  }

  function send(message) {
    if (socket && acked && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function subscribe(sub) {
    send({ id: sub.id, type: 'subscribe', payload: sub.payload });
  }

  function connect() {
    clearTimeout(retryTimer);
    if (stopped || socket) return;
    setState('connecting');
    const url = (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/graphql/ws';
    const ws = new WebSocket(url, PROTOCOL);
    socket = ws;
    acked = false;
    ws.onopen = () => {
      // The session cookie went with the upgrade; the CSRF token proves this page may act for the session
      // (the server treats a connection without it as anonymous).
      const token = csrfToken();
      ws.send(JSON.stringify(token ? { type: 'connection_init', payload: { csrfToken: token } } : { type: 'connection_init' }));
      ackTimer = setTimeout(() => ws.close(4504, 'Connection acknowledgement timeout'), ACK_TIMEOUT_MS);
    };
    ws.onmessage = (event) => {
      if (ws !== socket) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (err) {
        console.warn('graphql-live: ignoring a message that is not JSON', event.data);
        return;
      }
      const sub = message.id === undefined ? undefined : subs.get(message.id);
      switch (message.type) {
        case 'ping':
          ws.send(JSON.stringify(message.payload === undefined ? { type: 'pong' } : { type: 'pong', payload: message.payload }));
          break;
        case 'connection_ack':
          if (acked) break;
          clearTimeout(ackTimer);
          acked = true;
          attempt = 0;
          setState('open');
          subs.forEach((s) => { if (!s.done) subscribe(s); });
          // After a reconnect, events of the gap were missed: bring every region up to date once.
          if (everAcked) subs.forEach((s) => { if (!s.done) refresh(s); });
          everAcked = true;
          break;
        case 'next':
          if (sub && !sub.done) onNext(sub, message.payload);
          break;
        case 'error':
          if (sub) { sub.done = true; onError(sub, message.payload); }
          break;
        case 'complete':
          if (sub) sub.done = true;
          break;
      }
    };
    ws.onclose = (event) => {
      if (ws !== socket) return;
      clearTimeout(ackTimer);
      socket = null;
      acked = false;
      if (stopped) {
        setState('closed');
      } else if (FATAL_CLOSE_CODES.includes(event.code)) {
        console.warn('graphql-live: closed by the server, not reconnecting:', event.code, event.reason);
        stopped = true;
        setState('closed');
      } else {
        scheduleReconnect();
      }
    };
  }

  function scheduleReconnect() {
    if (navigator.onLine === false) {
      setState('closed'); // the `online` listener reconnects
      return;
    }
    attempt += 1;
    // Capped exponential backoff with jitter: 1–2 s, 2–4 s, 4–8 s, … then 15–30 s.
    const ceiling = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** attempt);
    setState('connecting');
    retryTimer = setTimeout(connect, ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  function start() {
    if (!stopped) return;
    stopped = false;
    attempt = 0;
    connect();
  }

  function stop(reason) {
    stopped = true;
    clearTimeout(retryTimer);
    clearTimeout(ackTimer);
    const ws = socket;
    socket = null;
    acked = false;
    if (ws) ws.close(1000, reason);
    setState('closed');
  }

  function onNext(sub, payload) {
    const event = new CustomEvent('live:next', { bubbles: true, cancelable: true, detail: payload });
    if (sub.el.dispatchEvent(event)) refresh(sub);
  }

  function onError(sub, errors) {
    console.warn('graphql-live: subscription error', sub.el, errors);
    const messages = Array.isArray(errors) ? errors.map((e) => e && e.message).filter(Boolean) : [];
    statusText = messages.length ? messages.join('; ') : 'subscription error';
    showStatus();
  }

  function refresh(sub) {
    if (sub.refreshing) {
      sub.again = true; // one more refresh after this one, however many events arrive meanwhile
      return;
    }
    const el = sub.el;
    if (!el.id) {
      console.warn('graphql-live: a live region needs an id to be refreshed', el);
      return;
    }
    sub.refreshing = true;
    fetch(location.href, { credentials: 'same-origin', cache: 'no-store', headers: { 'X-Live-Refresh': '1' } })
      .then((response) => {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.text();
      })
      .then((html) => {
        const fresh = new DOMParser().parseFromString(html, 'text/html').getElementById(el.id);
        if (!fresh) throw new Error('#' + el.id + ' is not in the refreshed page');
        el.innerHTML = fresh.innerHTML;
        el.setAttribute('data-live-updated', new Date().toISOString());
        el.classList.add('live-flash');
        clearTimeout(sub.flash);
        sub.flash = setTimeout(() => el.classList.remove('live-flash'), FLASH_MS);
        if (window.htmx) window.htmx.process(el); // hx-* attributes in the new content
      })
      .catch((err) => console.warn('graphql-live: refresh failed', el, err))
      .finally(() => {
        sub.refreshing = false;
        if (sub.again) {
          sub.again = false;
          refresh(sub);
        }
      });
  }

  // Subscribe regions not yet subscribed; end the subscriptions of regions that left the page.
  function scan() {
    subs.forEach((sub, id) => {
      if (sub.el.isConnected) return;
      if (!sub.done) send({ id, type: 'complete' });
      subs.delete(id);
    });
    document.querySelectorAll('[data-live-query]').forEach((el) => {
      if (bound.has(el)) return;
      bound.add(el);
      let variables;
      try {
        variables = el.dataset.liveVariables ? JSON.parse(el.dataset.liveVariables) : undefined;
      } catch (err) {
        console.warn('graphql-live: data-live-variables is not JSON', el, err);
        return;
      }
      const sub = { id: String(nextId++), el, payload: { query: el.dataset.liveQuery, variables }, done: false, refreshing: false, again: false, flash: 0 };
      subs.set(sub.id, sub);
      subscribe(sub); // sent now if the connection is acked, else on connection_ack
    });
    showStatus(); // status elements that came with new content
    if (subs.size) start();
    else if (!stopped) stop('No live regions');
  }

  window.omnisonicLive = { scan };
  document.addEventListener('htmx:afterSettle', scan);
  // Close cleanly when the page goes away (this also keeps it eligible for the back/forward cache) ...
  window.addEventListener('pagehide', () => stop('Page hidden'));
  // ... and come back if it is restored from that cache.
  window.addEventListener('pageshow', (event) => { if (event.persisted) scan(); });
  window.addEventListener('offline', () => {
    if (stopped || socket) return; // an open socket finds out by itself
    clearTimeout(retryTimer); // waiting to retry: no point until the network is back
    setState('closed');
  });
  window.addEventListener('online', () => {
    if (!stopped && !socket) {
      attempt = 0;
      connect();
    }
  });
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', scan, { once: true });
  else scan();
})();

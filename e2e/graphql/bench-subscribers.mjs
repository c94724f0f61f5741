#!/usr/bin/env node
// Fan-out benchmark: N graphql-transport-ws subscribers to workUpdated(workId), one mutation, and how long
// each subscriber waited for its `next`.
//
//   node bench-subscribers.mjs --ws ws://127.0.0.1:8080/graphql/ws --http http://127.0.0.1:8080/graphql \
//     --work-id ID --mutation DOC --mutation-variables JSON [--subscribers N (10000)] \
//     [--header "Cookie: …"]... [--origin ORIGIN] [--csrf TOKEN] [--init JSON] \
//     [--connections-per-second R (2000)] [--connect-timeout-s S (120)] [--receive-timeout-s S (30)]
//
// Connections use the raw `ws` package (one socket, a few closures and two numbers each; no graphql-ws
// client per connection): connection_init → connection_ack → subscribe, and pongs for the server's pings.
// Connections are opened at --connections-per-second, spread evenly, so the server's accept queue is not
// flooded. Once every connection is subscribed or has failed, it waits 1 s (for the server to register the
// last subscriptions), takes t0 = performance.now() and POSTs the mutation once; each subscriber's latency
// is the time from t0 to its first `next`. --header values and --origin go on both the WebSocket upgrade
// requests and the mutation; --csrf adds X-CSRF-Token to the mutation.
//
// Prints one JSON line on stdout:
//   {"subscribers","connected","received","missing","p50_ms","p90_ms","p99_ms","max_ms","connect_seconds",
//    "mutation_ms","mutation_status","mutation_errors","connect_errors","closed_early","subscription_errors",
//    "error_reasons":{reason:count},"timed_out"}
// Exit 0 when every subscriber connected and received the event and the mutation returned 200 without
// errors, 1 otherwise (the summary is printed either way), 2 on a usage error or a fatal failure.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

function usage(message) {
  process.stderr.write(`bench-subscribers.mjs: ${message}\n` +
    'usage: bench-subscribers.mjs --ws WSURL --http HTTPURL --work-id ID --mutation DOC --mutation-variables JSON\n' +
    '       [--subscribers N] [--header "Name: value"]... [--origin ORIGIN] [--csrf TOKEN] [--init JSON]\n' +
    '       [--connections-per-second R] [--connect-timeout-s S] [--receive-timeout-s S]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    subscribers: 10000, rate: 2000, connectTimeoutS: 120, receiveTimeoutS: 30, headers: {}, mutationVariables: {},
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${flag} needs a value`);
      return argv[++i];
    };
    const json = () => {
      const text = value();
      try {
        return JSON.parse(text);
      } catch (err) {
        return usage(`${flag} is not JSON: ${err.message}`);
      }
    };
    const number = () => {
      const n = Number(value());
      if (!Number.isFinite(n) || n <= 0) usage(`${flag} must be a positive number`);
      return n;
    };
    switch (flag) {
      case '--ws': opts.ws = value(); break;
      case '--http': opts.http = value(); break;
      case '--subscribers': opts.subscribers = Math.floor(number()); break;
      case '--work-id': opts.workId = value(); break;
      case '--mutation': opts.mutation = value(); break;
      case '--mutation-variables': opts.mutationVariables = json(); break;
      case '--header': {
        const header = value();
        const colon = header.indexOf(':');
        if (colon <= 0) usage(`--header must be "Name: value", got ${JSON.stringify(header)}`);
        opts.headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
        break;
      }
      case '--origin': opts.origin = value(); break;
      case '--csrf': opts.csrf = value(); break;
      case '--init': opts.init = json(); break;
      case '--connections-per-second': opts.rate = number(); break;
      case '--connect-timeout-s': opts.connectTimeoutS = number(); break;
      case '--receive-timeout-s': opts.receiveTimeoutS = number(); break;
      case '-h': case '--help': usage('help'); break;
      default: usage(`unknown argument ${JSON.stringify(flag)}`);
    }
  }
  for (const [key, flag] of [['ws', '--ws'], ['http', '--http'], ['workId', '--work-id'], ['mutation', '--mutation']]) {
    if (!opts[key]) usage(`${flag} is required`);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

// --- Open-file limit: every socket is a file descriptor. Node cannot call setrlimit, so when the soft
// limit is too low but the hard limit allows it, re-run this script under `ulimit -n` (once).
const FD_HEADROOM = 512; // stdio, the mutation's fetch, the event loop's own descriptors, DNS…
function fdLimits() {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line.trim().split(/\s+/).slice(3, 5);
    const parse = (v) => (v === 'unlimited' ? Infinity : Number(v));
    return { soft: parse(soft), hard: parse(hard) };
  } catch {
    return null; // not Linux: trust the caller's ulimit
  }
}
let socketBudget = Infinity; // connections this process can open and still have descriptors for the mutation
{
  const limits = fdLimits();
  const wanted = opts.subscribers + FD_HEADROOM;
  if (limits && limits.soft < wanted) {
    const target = Math.min(wanted, limits.hard);
    if (target > limits.soft && !process.env.BENCH_SUBSCRIBERS_REEXEC) {
      const result = spawnSync('/bin/sh', ['-c', `ulimit -n ${target} && exec "$@"`, 'sh',
        process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
        stdio: 'inherit', env: { ...process.env, BENCH_SUBSCRIBERS_REEXEC: '1' },
      });
      process.exit(result.status ?? 2);
    }
    if (target < wanted) {
      socketBudget = Math.max(0, limits.soft - FD_HEADROOM);
      process.stderr.write(`bench-subscribers.mjs: open-file limit ${limits.soft} (hard ${limits.hard}) is below the ` +
        `${wanted} that ${opts.subscribers} subscribers need; only ${socketBudget} connect, the rest count as connect errors\n`);
    }
  }
}

// Every connection to the one server address needs its own local port.
try {
  const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  if (high - low + 1 < opts.subscribers) {
    process.stderr.write(`bench-subscribers.mjs: only ${high - low + 1} local ports (net.ipv4.ip_local_port_range) for ${opts.subscribers} connections\n`);
  }
} catch {
  // not Linux
}

// --- Resolve the WebSocket host once, not once per connection (getaddrinfo runs on a 4-thread pool).
const wsUrl = new URL(opts.ws);
const wsHost = wsUrl.hostname.replace(/^\[|\]$/g, '');
let lookup;
if (!isIP(wsHost)) {
  const { address, family } = await dnsLookup(wsHost);
  // Answer asynchronously, like dns.lookup: a synchronous answer lets a connect error (EMFILE) be emitted
  // on the socket before http has attached its error listener, which crashes the process.
  lookup = (hostname, options, callback) => {
    if (typeof options === 'function') callback = options, options = {};
    if (options && options.all) process.nextTick(callback, null, [{ address, family }]);
    else process.nextTick(callback, null, address, family);
  };
}

const wsHeaders = { ...opts.headers };
if (opts.origin) wsHeaders.Origin = opts.origin;
const wsOptions = {
  headers: wsHeaders,
  perMessageDeflate: false, // a zlib context per socket would cost ~300 KB × N
  handshakeTimeout: 30000,
  ...(lookup ? { lookup } : {}),
};
const INIT = JSON.stringify(opts.init === undefined ? { type: 'connection_init' } : { type: 'connection_init', payload: opts.init });
const SUBSCRIBE = JSON.stringify({
  id: '1',
  type: 'subscribe',
  payload: {
    query: 'subscription($id: ID!){ workUpdated(workId: $id){ id title updatedAt } }',
    variables: { id: opts.workId },
  },
});
const PONG = JSON.stringify({ type: 'pong' });

const N = opts.subscribers;
const sockets = new Array(N);
const firstNext = new Float64Array(N).fill(NaN); // performance.now() of each subscriber's first `next`
let opened = 0; // connection attempts started
let subscribed = 0; // acked and subscribe sent
let settled = 0; // subscribed or failed before that
let received = 0;
let connectErrors = 0; // failed before the subscription was sent
let closedEarly = 0; // closed after subscribing, before its `next`
let subscriptionErrors = 0; // `error` messages
const errorReasons = new Map();
let t0 = Infinity;
let onProgress = () => {};

function countReason(reason) {
  const key = String(reason).slice(0, 200);
  errorReasons.set(key, (errorReasons.get(key) ?? 0) + 1);
}

function open(i) {
  if (i >= socketBudget) {
    connectErrors++, settled++;
    countReason('not attempted: open-file limit');
    return;
  }
  let ws;
  try {
    ws = new WebSocket(opts.ws, 'graphql-transport-ws', wsOptions);
  } catch (err) {
    connectErrors++, settled++;
    countReason(err.message);
    return;
  }
  sockets[i] = ws;
  let state = 0; // 0 connecting, 1 subscribed, 2 done (failed or received)
  const fail = (reason) => {
    if (state === 0) connectErrors++, settled++;
    else if (state === 1) closedEarly++;
    else return;
    state = 2;
    countReason(reason);
    onProgress();
  };
  ws.on('open', () => ws.send(INIT));
  ws.on('message', (data) => {
    const now = performance.now(); // before parsing: the client's own work is not the server's latency
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    switch (message.type) {
      case 'connection_ack':
        if (state !== 0) return;
        ws.send(SUBSCRIBE);
        state = 1;
        subscribed++, settled++;
        onProgress();
        return;
      case 'ping':
        ws.send(PONG);
        return;
      case 'next':
        if (state !== 1 || now < t0) return; // a `next` before the mutation does not count
        firstNext[i] = now;
        state = 2;
        received++;
        onProgress();
        return;
      case 'error':
        if (state !== 1) return;
        state = 2;
        subscriptionErrors++;
        countReason(`subscription error: ${JSON.stringify(message.payload)}`);
        onProgress();
        return;
      default:
    }
  });
  // An upgrade refused with an HTTP status comes as an error "Unexpected server response: 403".
  ws.on('error', (err) => fail(err.code ?? err.message));
  ws.on('close', (code, reason) => fail(`closed ${code}${reason.length ? ` ${reason}` : ''}`));
}

function waitFor(predicate, timeoutMs) {
  return new Promise((resolve) => {
    if (predicate()) return resolve(true);
    const timer = setTimeout(() => {
      onProgress = () => {};
      resolve(false);
    }, timeoutMs);
    onProgress = () => {
      if (!predicate()) return;
      clearTimeout(timer);
      onProgress = () => {};
      resolve(true);
    };
  });
}

// --- Connect at the given rate: every 10 ms, open as many as the rate allows by now.
const connectStart = performance.now();
await new Promise((resolve) => {
  const tick = () => {
    const due = Math.min(N, Math.ceil(((performance.now() - connectStart) / 1000) * opts.rate) + 1);
    while (opened < due) open(opened++);
    if (opened >= N) {
      clearInterval(interval);
      resolve();
    }
  };
  const interval = setInterval(tick, 10);
  tick();
});
const allSettled = await waitFor(() => settled >= N, opts.connectTimeoutS * 1000 - (performance.now() - connectStart));
const connectSeconds = (performance.now() - connectStart) / 1000;
if (!allSettled) {
  process.stderr.write(`bench-subscribers.mjs: ${N - settled} connections neither subscribed nor failed within ${opts.connectTimeoutS} s\n`);
}

// --- Let the server register the last subscriptions, then fire the mutation once.
await new Promise((resolve) => setTimeout(resolve, 1000));
const alive = () => subscribed - closedEarly - subscriptionErrors;
const mutationHeaders = { ...opts.headers, 'Content-Type': 'application/json', Accept: 'application/json' };
if (opts.origin) mutationHeaders.Origin = opts.origin;
if (opts.csrf) mutationHeaders['X-CSRF-Token'] = opts.csrf;
let mutationMs = null;
let mutationStatus = null;
let mutationErrors = null;
const receivedAll = waitFor(() => received >= alive(), opts.receiveTimeoutS * 1000);
t0 = performance.now();
try {
  const response = await fetch(opts.http, {
    method: 'POST',
    headers: mutationHeaders,
    body: JSON.stringify({ query: opts.mutation, variables: opts.mutationVariables }),
  });
  const text = await response.text();
  mutationMs = performance.now() - t0;
  mutationStatus = response.status;
  try {
    mutationErrors = JSON.parse(text).errors ?? null;
  } catch {
    mutationErrors = [{ message: `response is not JSON: ${text.slice(0, 200)}` }];
  }
} catch (err) {
  mutationMs = performance.now() - t0;
  mutationErrors = [{ message: `request failed: ${err?.cause?.message ?? err.message}` }];
}
// A mutation that never reached the server publishes nothing: do not wait out the receive timeout.
const timedOut = mutationStatus === null ? received < alive() : !(await receivedAll);

// --- Summary.
const latencies = [];
for (let i = 0; i < N; i++) if (!Number.isNaN(firstNext[i])) latencies.push(firstNext[i] - t0);
latencies.sort((a, b) => a - b);
const percentile = (p) => {
  if (!latencies.length) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * latencies.length)); // nearest rank
  return round(latencies[rank - 1]);
};
function round(ms) {
  return Math.round(ms * 1000) / 1000;
}
const summary = {
  subscribers: N,
  connected: subscribed,
  received,
  missing: subscribed - received,
  p50_ms: percentile(50),
  p90_ms: percentile(90),
  p99_ms: percentile(99),
  max_ms: latencies.length ? round(latencies[latencies.length - 1]) : null,
  connect_seconds: round(connectSeconds),
  mutation_ms: mutationMs === null ? null : round(mutationMs),
  mutation_status: mutationStatus,
  mutation_errors: mutationErrors,
  connect_errors: connectErrors,
  closed_early: closedEarly,
  subscription_errors: subscriptionErrors,
  error_reasons: Object.fromEntries([...errorReasons].sort((a, b) => b[1] - a[1]).slice(0, 20)),
  timed_out: timedOut,
};
const ok = subscribed === N && received === N && mutationStatus === 200 && !mutationErrors;

for (const ws of sockets) {
  try {
    ws?.terminate();
  } catch {
    // exiting anyway
  }
}
process.stdout.write(JSON.stringify(summary) + '\n', () => process.exit(ok ? 0 : 1));

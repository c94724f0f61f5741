#!/usr/bin/env node
// One GraphQL subscription over graphql-transport-ws with the real `graphql-ws` client, for tests.
//
//   node subscribe.mjs --url ws://127.0.0.1:8080/graphql/ws --query 'subscription { … }'
//        [--variables JSON] [--count N] [--timeout-ms MS] [--init JSON] [--header "Name: value"]...
//
// Prints one JSON object per line on stdout, each written (and flushed) as it happens:
//   {"event":"subscribed"}                      the server acked the connection (+50 ms for the subscribe
//                                               message to be registered; graphql-ws has no per-operation ack)
//   {"event":"next","payload":…}                one per `next` message; exits 0 after --count of them (default 1)
//   {"event":"error","errors":…}                an `error` message for the subscription: exit 3
//   {"event":"timeout"}                         --timeout-ms (default 10000) passed first: exit 4
//   {"event":"closed","code":…,"reason":…}      the socket closed (or never opened: code 1006, with "error"
//                                               holding the socket error, e.g. "Unexpected server response: 403"): exit 5
//   {"event":"complete","received":n}           the server completed the subscription before --count: exit 6
// Usage errors go to stderr with exit 2.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const EXIT = { ok: 0, usage: 2, error: 3, timeout: 4, closed: 5, complete: 6 };

function usage(message) {
  process.stderr.write(`subscribe.mjs: ${message}\n` +
    'usage: subscribe.mjs --url WSURL --query DOC [--variables JSON] [--count N] [--timeout-ms MS] [--init JSON] [--header "Name: value"]...\n');
  process.exit(EXIT.usage);
}

function parseArgs(argv) {
  const opts = { count: 1, timeoutMs: 10000, headers: {} };
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
    switch (flag) {
      case '--url': opts.url = value(); break;
      case '--query': opts.query = value(); break;
      case '--variables': opts.variables = json(); break;
      case '--init': opts.init = json(); break;
      case '--count': opts.count = Number(value()); break;
      case '--timeout-ms': opts.timeoutMs = Number(value()); break;
      case '--header': {
        const header = value();
        const colon = header.indexOf(':');
        if (colon <= 0) usage(`--header must be "Name: value", got ${JSON.stringify(header)}`);
        opts.headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
        break;
      }
      case '-h': case '--help': usage('help'); break;
      default: usage(`unknown argument ${JSON.stringify(flag)}`);
    }
  }
  if (!opts.url) usage('--url is required');
  if (!opts.query) usage('--query is required');
  if (!Number.isInteger(opts.count) || opts.count < 1) usage('--count must be a positive integer');
  if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0) usage('--timeout-ms must be a positive number');
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

// One line per event, written straight away (stdout to a pipe is synchronous on Linux; the exit path
// below still waits for the write callback so nothing is lost on other platforms).
function emit(object) {
  process.stdout.write(JSON.stringify(object) + '\n');
}

let finished = false;
let client = null;
function finish(code, object) {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  if (object) emit(object);
  // Exit right after stdout has drained; do not wait for a clean WebSocket close handshake.
  process.stdout.write('', () => process.exit(code));
  try {
    client?.terminate();
  } catch {
    // exiting anyway
  }
}

const timer = setTimeout(() => finish(EXIT.timeout, { event: 'timeout' }), opts.timeoutMs);

// The `ws` constructor takes headers (Cookie, Origin, Authorization…) as its third argument; graphql-ws
// calls `new webSocketImpl(url, protocol)`, so bind them in a subclass.
const headers = opts.headers;
class HeaderWebSocket extends WebSocket {
  constructor(address, protocols) {
    super(address, protocols, { headers, perMessageDeflate: false });
  }
}

let lastSocketError = null;
let received = 0;

client = createClient({
  url: opts.url,
  webSocketImpl: HeaderWebSocket,
  connectionParams: opts.init,
  lazy: true,
  retryAttempts: 0, // a test wants to see the close, not a silent reconnect
  on: {
    connected: () => {
      setTimeout(() => {
        if (!finished) emit({ event: 'subscribed' });
      }, 50);
    },
    error: (err) => {
      lastSocketError = err?.message ?? (err?.error?.message) ?? String(err);
    },
    closed: (event) => {
      const out = { event: 'closed', code: event?.code ?? null, reason: event?.reason ?? '' };
      if (lastSocketError) out.error = lastSocketError;
      finish(EXIT.closed, out);
    },
  },
});

client.subscribe(
  opts.variables === undefined ? { query: opts.query } : { query: opts.query, variables: opts.variables },
  {
    next: (payload) => {
      if (finished) return;
      emit({ event: 'next', payload });
      received += 1;
      if (received >= opts.count) finish(EXIT.ok);
    },
    error: (err) => {
      // graphql-ws hands a close event (or a socket error) to the sink as well; `closed` above reports those.
      if (err && typeof err === 'object' && 'code' in err && 'reason' in err) {
        const out = { event: 'closed', code: err.code, reason: err.reason };
        if (lastSocketError) out.error = lastSocketError;
        return finish(EXIT.closed, out);
      }
      if (Array.isArray(err)) return finish(EXIT.error, { event: 'error', errors: err });
      // Anything else is a socket error (an ErrorEvent, not serialisable): report it as a close.
      const message = err?.message ?? err?.error?.message ?? String(err);
      return finish(EXIT.closed, { event: 'closed', code: 1006, reason: '', error: lastSocketError ?? message });
    },
    complete: () => finish(EXIT.complete, { event: 'complete', received }),
  },
);

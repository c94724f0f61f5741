#!/usr/bin/env node
// GraphQL-over-HTTP conformance audit of a server with graphql-http's `auditServer`.
//
//   node audit.mjs http://127.0.0.1:8080/graphql
//
// Prints one JSON line on stdout:
//   {"ok":n,"notice":n,"warn":n,"error":n,"results":[{"id","name","status","reason"}, …]}
// with `results` listing every audit that is not "ok". Exit 0 when no audit has status "error", 1 when
// some has, 2 on a usage error or when the audit itself could not run (e.g. connection refused).
//
// How graphql-http reports (lib/audits/common.d.ts, lib/audits/utils.js, lib/audits/server.js of 1.23.1):
// auditServer({ url, fetchFn }) runs every audit at once (Promise.all) and resolves to an array of
// AuditResult, one per audit: { id, name, status: "ok" } or { id, name, status, reason, response } with
// status set from the audit name's RFC 2119 level: a failing "MUST …" is "error", "SHOULD …" is "warn",
// anything else ("MAY …") is "notice". `response` is the fetch Response the assertion failed on (not
// serialisable, so it is left out here). Only an exception that is not an assertion failure (a network
// error) rejects the whole auditServer promise.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url || process.argv.length > 3 || url.startsWith('-')) {
  process.stderr.write('usage: audit.mjs URL   (e.g. http://127.0.0.1:8080/graphql)\n');
  process.exit(2);
}

function done(code, object) {
  process.stdout.write(JSON.stringify(object) + '\n', () => process.exit(code));
}

let results;
try {
  results = await auditServer({ url, fetchFn: globalThis.fetch });
} catch (err) {
  process.stderr.write(`audit.mjs: the audit could not run against ${url}: ${err?.cause?.message ?? err?.message ?? err}\n`);
  process.exit(2);
}

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
const failures = [];
for (const result of results) {
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  if (result.status !== 'ok') {
    failures.push({ id: result.id, name: result.name, status: result.status, reason: result.reason });
  }
}
done(counts.error > 0 ? 1 : 0, { ...counts, results: failures });

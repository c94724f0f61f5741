//! The rights graph over GraphQL: the royalty ledger and its checkpoints, licenses and their overlap rules, who
//! may change what, and subscriptions over `graphql-transport-ws` (in-process, and across two processes on Redis).

use crate::helpers::{Backend, TestApp, both_backends, settings, spawn_app_with};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or("<none>")
}

fn data<'a>(response: &'a Value, field: &str) -> &'a Value {
    assert!(response["errors"].is_null(), "{field}: {response}");
    &response["data"][field]
}

/// Signs the app's browser in as a new user holding `roles`.
async fn sign_in_as(app: &TestApp, email: &str, roles: &[&str]) -> uuid::Uuid {
    let id = app.sign_in(email).await;
    for role in roles {
        omnisonic_store::auth::grant_role(&app.db, id, role).await.expect("grant");
    }
    id
}

async fn party(app: &TestApp, name: &str) -> String {
    let r =
        app.graphql("mutation($n: String!) { createParty(name: $n, kind: ARTIST) { id } }", json!({"n": name})).await;
    data(&r, "createParty")["id"].as_str().expect("id").to_owned()
}

async fn work(app: &TestApp, title: &str) -> String {
    let r = app.graphql("mutation($t: String!) { createWork(input: {title: $t}) { id } }", json!({"t": title})).await;
    data(&r, "createWork")["id"].as_str().expect("id").to_owned()
}

const ENTRY: &str = "mutation($i: LedgerEntryInput!) { createLedgerEntry(input: $i) { id seq chainHash amount { amountMinor currency } } }";

/// A small deterministic generator (xorshift), so the "any sequence" checks are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

both_backends! {
    async fn ledger_sums_exactly_closes_and_detects_tampering(app: TestApp) {
        sign_in_as(&app, "acct@example.com", &["editor", "accountant"]).await;
        let parties = [party(&app, "Ana").await, party(&app, "Bo").await];
        let cycle = app.graphql(
            "mutation { createCycle(input: {name: \"2026 Q1\", periodStart: \"2026-01-01\", periodEnd: \"2026-03-31\"}) { id status entryCount } }",
            json!({}),
        ).await;
        let cycle_id = data(&cycle, "createCycle")["id"].as_str().expect("id").to_owned();
        assert_eq!(data(&cycle, "createCycle")["status"], "OPEN");

        // A random sequence of entries, amounts up to the ±10^15 limit, two currencies: totals must be exact.
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut expected: std::collections::BTreeMap<(String, &str), i128> = Default::default();
        let mut hashes = std::collections::HashSet::new();
        for n in 0..40 {
            let party = &parties[(rng.next() % 2) as usize];
            let currency = if rng.next().is_multiple_of(3) { "USD" } else { "EUR" };
            let magnitude = (rng.next() % 1_000_000_000_000_000) as i64 + 1;
            let amount = if rng.next().is_multiple_of(4) { -magnitude } else { magnitude };
            let r = app.graphql(ENTRY, json!({"i": {
                "cycleId": cycle_id, "partyId": party, "kind": "ROYALTY", "amountMinor": amount.to_string(), "currency": currency,
            }})).await;
            let entry = data(&r, "createLedgerEntry");
            assert_eq!(entry["seq"], n + 1);
            assert_eq!(entry["amount"]["amountMinor"], amount.to_string(), "no precision lost");
            assert!(hashes.insert(entry["chainHash"].as_str().expect("hash").to_owned()));
            *expected.entry((party.clone(), currency)).or_default() += i128::from(amount);
        }
        for party in &parties {
            let r = app.graphql(
                "query($c: ID!, $p: ID!) { statement(cycleId: $c, partyId: $p) { totals { amountMinor currency } entries { seq } } }",
                json!({"c": cycle_id, "p": party}),
            ).await;
            for total in data(&r, "statement")["totals"].as_array().expect("totals") {
                let currency = total["currency"].as_str().expect("currency");
                let want = expected.get(&(party.clone(), currency)).copied().unwrap_or_default();
                assert_eq!(total["amountMinor"], want.to_string(), "{party} {currency}");
            }
        }
        // Closing freezes it; verification passes; nothing more can be added.
        let closed = app.graphql("mutation($id: ID!) { closeCycle(id: $id) { entryCount chainHash totals { total { amountMinor currency } } } }", json!({"id": cycle_id})).await;
        assert_eq!(data(&closed, "closeCycle")["entryCount"], 40);
        let verify = "query($c: ID!) { verifyCheckpoint(cycleId: $c) { valid firstBadSeq problems } }";
        let ok = app.graphql(verify, json!({"c": cycle_id})).await;
        assert_eq!(data(&ok, "verifyCheckpoint")["valid"], true, "{ok}");
        let late = app.graphql(ENTRY, json!({"i": {
            "cycleId": cycle_id, "partyId": parties[0], "kind": "FEE", "amountMinor": "-100", "currency": "EUR",
        }})).await;
        assert_eq!(code(&late), "CONFLICT", "{late}");
        let again = app.graphql("mutation($id: ID!) { closeCycle(id: $id) { entryCount } }", json!({"id": cycle_id})).await;
        assert_eq!(code(&again), "CONFLICT");

        // Someone edits entry #7 in the database behind our back: verification names it.
        use sea_orm::ConnectionTrait;
        // The test database holds this one cycle.
        let changed = app.db.execute_unprepared("UPDATE ledger_entries SET amount_minor = amount_minor + 1 WHERE seq = 7").await.expect("tamper");
        assert_eq!(changed.rows_affected(), 1);
        let bad = app.graphql(verify, json!({"c": cycle_id})).await;
        let report = data(&bad, "verifyCheckpoint");
        assert_eq!(report["valid"], false);
        assert_eq!(report["firstBadSeq"], 7);
    }

    async fn ledger_input_limits_at_their_edges(app: TestApp) {
        sign_in_as(&app, "acct2@example.com", &["editor", "accountant"]).await;
        let p = party(&app, "Cy").await;
        let cycle = app.graphql("mutation { createCycle(input: {name: \"C\", periodStart: \"2026-01-01\", periodEnd: \"2026-01-31\"}) { id } }", json!({})).await;
        let cycle_id = data(&cycle, "createCycle")["id"].as_str().expect("id").to_owned();
        let entry = |amount: &str, currency: &str| json!({"i": {"cycleId": cycle_id, "partyId": p, "kind": "ROYALTY", "amountMinor": amount, "currency": currency}});
        assert!(app.graphql(ENTRY, entry("1000000000000000", "eur")).await["errors"].is_null());
        assert!(app.graphql(ENTRY, entry("-1000000000000000", "EUR")).await["errors"].is_null());
        for (amount, currency) in [("1000000000000001", "EUR"), ("0", "EUR"), ("12.50", "EUR"), ("5", "EURO")] {
            let r = app.graphql(ENTRY, entry(amount, currency)).await;
            assert_eq!(code(&r), "BAD_USER_INPUT", "{amount} {currency}: {r}");
        }
        let backwards = app.graphql("mutation { createCycle(input: {name: \"X\", periodStart: \"2026-02-01\", periodEnd: \"2026-01-31\"}) { id } }", json!({})).await;
        assert_eq!(code(&backwards), "BAD_USER_INPUT");
        let unknown_party = app.graphql(ENTRY, json!({"i": {"cycleId": cycle_id, "partyId": uuid::Uuid::now_v7(), "kind": "FEE", "amountMinor": "1", "currency": "EUR"}})).await;
        assert_eq!(code(&unknown_party), "NOT_FOUND");
    }

    async fn overlapping_active_licenses_are_refused_with_their_names(app: TestApp) {
        sign_in_as(&app, "editor@example.com", &["editor"]).await;
        let w = work(&app, "Licensed").await;
        let create = "mutation($i: LicenseInput!, $d: Boolean) { createLicense(input: $i, draft: $d) { id status territory } }";
        // `draft` may be left out or null (not a draft).
        let license = |licensee: &str, territory: Value, from: &str, to: Value| json!({"i": {
            "workId": w, "licensee": licensee, "territory": territory, "rightsType": "SYNCHRONIZATION",
            "effectiveFrom": from, "expiresOn": to, "terms": {"fee": 5000}
        }});
        let gb = app.graphql(create, license("Netflix", json!("gb"), "2030-01-01", json!("2031-01-01"))).await;
        let gb_id = data(&gb, "createLicense")["id"].as_str().expect("id").to_owned();
        assert_eq!(data(&gb, "createLicense")["territory"], "GB");
        assert_eq!(data(&gb, "createLicense")["status"], "ACTIVE");
        // Another territory, or the same one right after, is fine.
        assert!(app.graphql(create, license("HBO", json!("US"), "2030-01-01", Value::Null)).await["errors"].is_null());
        assert!(app.graphql(create, license("ITV", json!("GB"), "2031-01-01", json!("2032-01-01"))).await["errors"].is_null());
        // Worldwide overlaps every territory; the error names the license it collides with.
        let world = app.graphql(create, license("Disney", Value::Null, "2030-06-01", json!("2030-07-01"))).await;
        assert_eq!(code(&world), "CONFLICT", "{world}");
        let named = world["errors"][0]["extensions"]["conflictingLicenseIds"].as_array().expect("ids");
        assert!(named.iter().any(|id| id == &json!(gb_id)), "{world}");
        assert!(world["errors"][0]["message"].as_str().expect("message").contains(&gb_id));
        // A draft may overlap; it shows in licenseConflicts and cannot be activated until resolved.
        let draft = app.graphql(create, json!({"i": license("Disney", json!("GB"), "2030-06-01", json!("2030-07-01"))["i"], "d": true})).await;
        let draft_id = data(&draft, "createLicense")["id"].as_str().expect("id").to_owned();
        let conflicts = app.graphql("query($w: ID!) { licenseConflicts(workId: $w) { license { id } conflictsWith { id } } }", json!({"w": w})).await;
        assert!(!data(&conflicts, "licenseConflicts").as_array().expect("list").is_empty(), "{conflicts}");
        let activate = app.graphql("mutation($id: ID!) { activateLicense(id: $id) { status } }", json!({"id": draft_id})).await;
        assert_eq!(code(&activate), "CONFLICT");
        let revoked = app.graphql("mutation($id: ID!) { revokeLicense(id: $id) { status } }", json!({"id": gb_id})).await;
        assert_eq!(data(&revoked, "revokeLicense")["status"], "REVOKED");
        let activated = app.graphql("mutation($id: ID!) { activateLicense(id: $id) { status } }", json!({"id": draft_id})).await;
        assert_eq!(data(&activated, "activateLicense")["status"], "ACTIVE", "{activated}");
        let twice = app.graphql("mutation($id: ID!) { revokeLicense(id: $id) { status } }", json!({"id": gb_id})).await;
        assert_eq!(code(&twice), "CONFLICT");
        // expiresOn must come after effectiveFrom.
        let backwards = app.graphql(create, license("X", json!("FR"), "2030-01-01", json!("2030-01-01"))).await;
        assert_eq!(code(&backwards), "BAD_USER_INPUT");
        assert_eq!(backwards["errors"][0]["extensions"]["errors"][0]["field"], "expiresOn");
        // Work.licenses and the license queries.
        let listed = app.graphql("query($w: ID!) { work(id: $w) { licenses { id status } } licenses(workId: $w) { edges { node { id } } } }", json!({"w": w})).await;
        assert_eq!(listed["data"]["work"]["licenses"].as_array().expect("list").len(), 4);
        assert_eq!(listed["data"]["licenses"]["edges"].as_array().expect("list").len(), 4);
    }

    async fn licenses_expire_when_their_end_passes(app: TestApp) {
        sign_in_as(&app, "expiry@example.com", &["editor"]).await;
        let w = work(&app, "Expiring").await;
        let create = "mutation($i: LicenseInput!) { createLicense(input: $i) { id status } }";
        let make = |to: &str| json!({"i": {"workId": w, "licensee": "L", "territory": "DE", "rightsType": "MECHANICAL", "effectiveFrom": "2020-01-01", "expiresOn": to}});
        let past = app.graphql(create, make("2021-01-01")).await;
        assert_eq!(data(&past, "createLicense")["status"], "EXPIRED", "already over when created");
        let later = app.graphql(create, make("2040-01-01")).await;
        let id = data(&later, "createLicense")["id"].as_str().expect("id").to_owned();
        let pubsub = omnisonic_platform::PubSub::in_process();
        let before_end = chrono::DateTime::parse_from_rfc3339("2039-12-31T23:59:59Z").expect("t").to_utc();
        assert_eq!(omnisonic_app::maintenance::expire_licenses(&app.db, &pubsub, before_end).await.expect("expire"), 0);
        let at_end = chrono::DateTime::parse_from_rfc3339("2040-01-01T00:00:00Z").expect("t").to_utc();
        assert_eq!(omnisonic_app::maintenance::expire_licenses(&app.db, &pubsub, at_end).await.expect("expire"), 1);
        assert_eq!(omnisonic_app::maintenance::expire_licenses(&app.db, &pubsub, at_end).await.expect("expire"), 0, "once only");
        let r = app.graphql("query($id: ID!) { license(id: $id) { status } }", json!({"id": id})).await;
        assert_eq!(data(&r, "license")["status"], "EXPIRED");
        let active = app.graphql("query($w: ID!) { activeLicenses(workId: $w) { id } }", json!({"w": w})).await;
        assert!(data(&active, "activeLicenses").as_array().expect("list").is_empty());
        // A draft whose end has passed cannot be put in force: a clear conflict, not a silent EXPIRED.
        let old_draft = app.graphql("mutation($i: LicenseInput!) { createLicense(input: $i, draft: true) { id status } }", make("2021-01-01")).await;
        assert_eq!(data(&old_draft, "createLicense")["status"], "DRAFT");
        let activate = app.graphql("mutation($id: ID!) { activateLicense(id: $id) { status } }", json!({"id": data(&old_draft, "createLicense")["id"]})).await;
        assert_eq!(code(&activate), "CONFLICT", "{activate}");
    }

    async fn every_mutation_needs_its_role(app: TestApp) {
        let mutations = [
            ("mutation { createWork(input: {title: \"T\"}) { id } }", "editor"),
            ("mutation { updateWork(id: \"00000000-0000-0000-0000-000000000000\", input: {title: \"T\"}) { id } }", "editor"),
            ("mutation { upsertRecording(input: {isrc: \"USRC11301176\", title: \"T\", artist: \"A\"}) { id } }", "editor"),
            ("mutation { createParty(name: \"P\", kind: ARTIST) { id } }", "editor"),
            ("mutation { addContribution(input: {partyId: \"00000000-0000-0000-0000-000000000000\", workId: \"00000000-0000-0000-0000-000000000000\", role: COMPOSER, shareBps: 100}) { id } }", "editor"),
            ("mutation { updateContribution(id: \"00000000-0000-0000-0000-000000000000\", input: {role: COMPOSER, shareBps: 100}) { id } }", "editor"),
            ("mutation { createLicense(input: {workId: \"00000000-0000-0000-0000-000000000000\", licensee: \"L\", rightsType: MASTER, effectiveFrom: \"2030-01-01\"}) { id } }", "editor"),
            ("mutation { updateLicense(id: \"00000000-0000-0000-0000-000000000000\", input: {workId: \"00000000-0000-0000-0000-000000000000\", licensee: \"L\", rightsType: MASTER, effectiveFrom: \"2030-01-01\"}) { id } }", "editor"),
            ("mutation { activateLicense(id: \"00000000-0000-0000-0000-000000000000\") { id } }", "editor"),
            ("mutation { revokeLicense(id: \"00000000-0000-0000-0000-000000000000\") { id } }", "editor"),
            ("mutation { createCycle(input: {name: \"C\", periodStart: \"2026-01-01\", periodEnd: \"2026-01-31\"}) { id } }", "accountant"),
            ("mutation { createLedgerEntry(input: {cycleId: \"00000000-0000-0000-0000-000000000000\", partyId: \"00000000-0000-0000-0000-000000000000\", kind: ROYALTY, amountMinor: \"1\", currency: \"EUR\"}) { id } }", "accountant"),
            ("mutation { closeCycle(id: \"00000000-0000-0000-0000-000000000000\") { cycleId } }", "accountant"),
            ("query { cycles { edges { node { id } } } }", "accountant"),
            ("query { statement(cycleId: \"00000000-0000-0000-0000-000000000000\", partyId: \"00000000-0000-0000-0000-000000000000\") { totals { currency } } }", "accountant"),
        ];
        for (operation, _) in &mutations {
            let r = app.graphql(operation, json!({})).await;
            assert_eq!(code(&r), "UNAUTHENTICATED", "anonymous: {operation}");
        }
        // Signed in, with the other role only: refused, and nothing written.
        let user = app.sign_in("nobody@example.com").await;
        for (operation, role) in &mutations {
            let other = if *role == "editor" { "accountant" } else { "editor" };
            omnisonic_store::auth::grant_role(&app.db, user, other).await.expect("grant");
            let r = app.graphql(operation, json!({})).await;
            assert_eq!(code(&r), "FORBIDDEN", "without {role}: {operation}");
            omnisonic_store::auth::revoke_role(&app.db, user, other).await.expect("revoke");
        }
        let works = app.graphql("{ works { edges { node { id } } } }", json!({})).await;
        assert!(works["data"]["works"]["edges"].as_array().expect("list").is_empty(), "nothing was written");
        // With the role, the same call gets past authorization (and reports what is missing instead).
        omnisonic_store::auth::grant_role(&app.db, user, "editor").await.expect("grant");
        let r = app.graphql(mutations[1].0, json!({})).await;
        assert_eq!(code(&r), "NOT_FOUND", "{r}");
    }

    async fn contribution_updates_keep_each_role_within_100_percent(app: TestApp) {
        sign_in_as(&app, "shares@example.com", &["editor"]).await;
        let w = work(&app, "Split").await;
        let (a, b) = (party(&app, "A").await, party(&app, "B").await);
        let add = "mutation($i: ContributionInput!) { addContribution(input: $i) { id shareBps } }";
        let first = app.graphql(add, json!({"i": {"partyId": a, "workId": w, "role": "COMPOSER", "shareBps": 6000}})).await;
        let first_id = data(&first, "addContribution")["id"].as_str().expect("id").to_owned();
        assert!(app.graphql(add, json!({"i": {"partyId": b, "workId": w, "role": "COMPOSER", "shareBps": 4000}})).await["errors"].is_null());
        let update = "mutation($id: ID!, $s: Int!) { updateContribution(id: $id, input: {role: COMPOSER, shareBps: $s}) { shareBps } }";
        let over = app.graphql(update, json!({"id": first_id, "s": 6001})).await;
        assert_eq!(code(&over), "BAD_USER_INPUT", "{over}");
        let exact = app.graphql(update, json!({"id": first_id, "s": 6000})).await;
        assert_eq!(data(&exact, "updateContribution")["shareBps"], 6000);
        let down = app.graphql(update, json!({"id": first_id, "s": 1000})).await;
        assert_eq!(data(&down, "updateContribution")["shareBps"], 1000);
    }

    async fn subscriptions_deliver_committed_changes_only(app: TestApp) {
        sign_in_as(&app, "live@example.com", &["editor", "accountant"]).await;
        let w = work(&app, "Before").await;
        let mut socket = ws_connect(&app, true).await;
        send(&mut socket, json!({"type": "subscribe", "id": "w", "payload": {
            "query": "subscription($id: ID!) { workUpdated(workId: $id) { id title contributions { shareBps } } }",
            "variables": {"id": w}
        }})).await;
        send(&mut socket, json!({"type": "subscribe", "id": "l", "payload": {
            "query": "subscription { ledgerEntryCreated { seq amount { amountMinor } } }"
        }})).await;
        // A second, anonymous connection asks for the same subscription: it shares the first one's execution and
        // gets the same events under its own id.
        let mut twin = ws_connect(&app, false).await;
        send(&mut twin, json!({"type": "subscribe", "id": "twin", "payload": {
            "query": "subscription($id: ID!) { workUpdated(workId: $id) { id title contributions { shareBps } } }",
            "variables": {"id": w}
        }})).await;
        // Subscriptions register asynchronously; give them a moment before writing.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let failed = app.graphql("mutation($id: ID!) { updateWork(id: $id, input: {title: \"  \"}) { id } }", json!({"id": w})).await;
        assert_eq!(code(&failed), "BAD_USER_INPUT");
        let ok = app.graphql("mutation($id: ID!) { updateWork(id: $id, input: {title: \"After\"}) { id } }", json!({"id": w})).await;
        assert!(ok["errors"].is_null(), "{ok}");
        let event = next_of(&mut socket, "next").await;
        assert_eq!(event["id"], "w");
        assert_eq!(event["payload"]["data"]["workUpdated"]["title"], "After", "the failed write published nothing");
        let twin_event = next_of(&mut twin, "next").await;
        assert_eq!(twin_event["id"], "twin");
        assert_eq!(twin_event["payload"], event["payload"]);
        // Nested fields are fresh for each event: a contribution added later shows in the next event.
        let p = party(&app, "Writer").await;
        let added = app.graphql("mutation($i: ContributionInput!) { addContribution(input: $i) { id } }", json!({"i": {"partyId": p, "workId": w, "role": "COMPOSER", "shareBps": 2500}})).await;
        data(&added, "addContribution");
        let event = next_of(&mut socket, "next").await;
        assert_eq!(event["payload"]["data"]["workUpdated"]["contributions"][0]["shareBps"], 2500);
        // Ledger events reach an accountant's connection.
        let cycle = app.graphql("mutation { createCycle(input: {name: \"Live\", periodStart: \"2026-01-01\", periodEnd: \"2026-01-31\"}) { id } }", json!({})).await;
        let cycle_id = data(&cycle, "createCycle")["id"].as_str().expect("id").to_owned();
        let entry = app.graphql(ENTRY, json!({"i": {"cycleId": cycle_id, "partyId": p, "kind": "ROYALTY", "amountMinor": "999999999999999", "currency": "EUR"}})).await;
        data(&entry, "createLedgerEntry");
        let event = next_of(&mut socket, "next").await;
        assert_eq!(event["id"], "l");
        assert_eq!(event["payload"]["data"]["ledgerEntryCreated"]["amount"]["amountMinor"], "999999999999999");
        // Completing a subscription stops it, and its id may be used again at once.
        send(&mut socket, json!({"type": "complete", "id": "w"})).await;
        send(&mut socket, json!({"type": "subscribe", "id": "w", "payload": {"query": "{ apiVersion }"}})).await;
        assert_eq!(next_of(&mut socket, "next").await["id"], "w");
        assert_eq!(next_of(&mut socket, "complete").await["id"], "w");
        // Taking the accountant role away ends the ledger subscription at its next event.
        let me = omnisonic_store::auth::user_by_email(&app.db, "live@example.com").await.expect("user").expect("exists");
        omnisonic_store::auth::revoke_role(&app.db, me.id, "accountant").await.expect("revoke");
        let other = app.create_user("other-accountant@example.com", crate::helpers::TEST_PASSWORD).await;
        omnisonic_store::auth::grant_role(&app.db, other, "accountant").await.expect("grant");
        let second = crate::helpers::Browser::at(app.address);
        assert_eq!(second.sign_in_with_password("other-accountant@example.com", crate::helpers::TEST_PASSWORD).await.status(), 303);
        let body = json!({"query": ENTRY, "variables": {"i": {"cycleId": cycle_id, "partyId": p, "kind": "FEE", "amountMinor": "-1", "currency": "EUR"}}});
        let written: Value = second.post_json("/graphql", &body).await.json().await.expect("json");
        data(&written, "createLedgerEntry");
        let ended = next_of(&mut socket, "complete").await;
        assert_eq!(ended["id"], "l", "the ledger subscription ended instead of delivering the entry");
    }

    async fn licenses_expire_cli_refuses_the_future_without_dry_run(app: TestApp) {
        let run = |args: &[&str]| {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_omnisonic"));
            for var in ["DATABASE_URL", "REDIS_URL", "OMNISONIC_CONFIG"] {
                command.env_remove(var);
            }
            command.env("DATABASE_URL", &app.database_url).args(args).output().expect("run omnisonic")
        };
        let future = run(&["licenses", "expire", "--now", "2999-01-01"]);
        assert!(!future.status.success());
        assert!(String::from_utf8_lossy(&future.stderr).contains("--dry-run"), "{future:?}");
        let counted = run(&["licenses", "expire", "--now", "2999-01-01", "--dry-run"]);
        assert!(counted.status.success(), "{counted:?}");
        assert_eq!(String::from_utf8_lossy(&counted.stdout).trim(), "0 licenses would expire");
    }

    async fn graphql_ws_protocol_errors_use_its_close_codes(app: TestApp) {
        sign_in_as(&app, "proto@example.com", &[]).await;
        // Subscribing before connection_init: 4401.
        let mut s = ws_raw(&app).await;
        send(&mut s, json!({"type": "subscribe", "id": "1", "payload": {"query": "{ apiVersion }"}})).await;
        assert_eq!(close_code(&mut s).await, 4401);
        // Not JSON of the protocol: 4400.
        let mut s = ws_raw(&app).await;
        s.send(Message::Text("{\"type\":\"bogus\"}".into())).await.expect("send");
        assert_eq!(close_code(&mut s).await, 4400);
        // A second connection_init: 4429.
        let mut s = ws_connect(&app, false).await;
        send(&mut s, json!({"type": "connection_init"})).await;
        assert_eq!(close_code(&mut s).await, 4429);
        // A wrong CSRF token in the init payload: 4403.
        let mut s = ws_raw(&app).await;
        send(&mut s, json!({"type": "connection_init", "payload": {"csrfToken": "forged"}})).await;
        assert_eq!(close_code(&mut s).await, 4403);
        // Reusing a live id: 4409.
        let w = uuid::Uuid::now_v7();
        let sub = |id: &str| json!({"type": "subscribe", "id": id, "payload": {"query": "subscription($w: ID!) { workUpdated(workId: $w) { id } }", "variables": {"w": w}}});
        let mut s = ws_connect(&app, false).await;
        send(&mut s, sub("a")).await;
        send(&mut s, sub("a")).await;
        assert_eq!(close_code(&mut s).await, 4409);
        // Limits: the 33rd subscription on one connection is refused with a typed error.
        let mut s = ws_connect(&app, false).await;
        for n in 0..32 {
            send(&mut s, sub(&format!("s{n}"))).await;
        }
        send(&mut s, sub("one-too-many")).await;
        let error = next_of(&mut s, "error").await;
        assert_eq!(error["id"], "one-too-many");
        assert_eq!(error["payload"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS");
        // The ledger needs the accountant role, also for subscriptions; without the CSRF proof the socket is anonymous.
        let mut s = ws_connect(&app, false).await;
        send(&mut s, json!({"type": "subscribe", "id": "x", "payload": {"query": "subscription { ledgerEntryCreated { seq } }"}})).await;
        let error = next_of(&mut s, "error").await;
        assert_eq!(error["payload"][0]["extensions"]["code"], "UNAUTHENTICATED");
        let mut s = ws_connect(&app, true).await;
        send(&mut s, json!({"type": "subscribe", "id": "x", "payload": {"query": "subscription { ledgerEntryCreated { seq } }"}})).await;
        let error = next_of(&mut s, "error").await;
        assert_eq!(error["payload"][0]["extensions"]["code"], "FORBIDDEN");
        // Queries work over the socket too, then complete.
        send(&mut s, json!({"type": "subscribe", "id": "q", "payload": {"query": "{ apiVersion }"}})).await;
        assert_eq!(next_of(&mut s, "next").await["payload"]["data"]["apiVersion"], env!("CARGO_PKG_VERSION"));
        assert_eq!(next_of(&mut s, "complete").await["id"], "q");
        // Without the subprotocol: 4406; from another site: refused before the upgrade.
        let mut request = format!("ws://{}/graphql/ws", app.address).into_client_request().expect("request");
        request.headers_mut().remove("sec-websocket-protocol");
        let (mut s, _) = tokio_tungstenite::connect_async(request).await.expect("websocket");
        assert_eq!(close_code(&mut s).await, 4406);
        let mut request = ws_request(&app);
        request.headers_mut().insert("origin", "https://evil.example".parse().expect("origin"));
        assert!(tokio_tungstenite::connect_async(request).await.is_err());
    }
}

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn ws_request(app: &TestApp) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = format!("ws://{}/graphql/ws", app.address).into_client_request().expect("request");
    let headers = request.headers_mut();
    headers.insert("sec-websocket-protocol", "graphql-transport-ws".parse().expect("protocol"));
    headers.insert("cookie", app.browser.cookie_header().parse().expect("cookie"));
    request
}

async fn ws_raw(app: &TestApp) -> Socket {
    tokio_tungstenite::connect_async(ws_request(app)).await.expect("websocket").0
}

/// A connection past `connection_init`; with `as_user`, the init proves the session with its CSRF token.
pub(crate) async fn ws_connect(app: &TestApp, as_user: bool) -> Socket {
    let mut socket = ws_raw(app).await;
    let payload = if as_user { json!({"csrfToken": app.browser.csrf_token()}) } else { json!({}) };
    send(&mut socket, json!({"type": "connection_init", "payload": payload})).await;
    assert_eq!(next_of(&mut socket, "connection_ack").await["type"], "connection_ack");
    socket
}

pub(crate) async fn send(socket: &mut Socket, message: Value) {
    socket.send(Message::Text(message.to_string().into())).await.expect("send");
}

/// The next message of `kind` (pings are skipped), within 10 s.
pub(crate) async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} within 10 s"))
            .expect("socket open")
            .expect("frame");
        match frame {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).expect("JSON");
                if value["type"] == kind {
                    return value;
                }
                assert!(value["type"] == "ping" || value["type"] == "pong", "expected {kind}, got {value}");
            }
            Message::Close(frame) => panic!("closed while waiting for {kind}: {frame:?}"),
            _ => {}
        }
    }
}

pub(crate) async fn close_code(socket: &mut Socket) -> u16 {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("closes within 10 s");
        match frame {
            Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => panic!("closed without a code"),
            Some(Ok(_)) => {}
        }
    }
}

/// The e2e folder, where the Node tools (graphql-ws client, graphql-http audit) are installed.
fn e2e_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../e2e")
}

fn node_tools_present() -> bool {
    let present =
        e2e_dir().join("node_modules/graphql-ws").is_dir() && e2e_dir().join("node_modules/graphql-http").is_dir();
    assert!(
        present || std::env::var("OMNISONIC_REQUIRE_SERVICES").is_err(),
        "e2e/node_modules lacks graphql-ws/graphql-http: run scripts/install-deps.sh"
    );
    present
}

/// The graphql-http audit suite (the reference GraphQL-over-HTTP conformance checks) against `/graphql`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_over_http_audit_passes() {
    if !node_tools_present() {
        return;
    }
    let app = crate::helpers::spawn_app(Backend::Sqlite).await.expect("app");
    let output = tokio::process::Command::new("node")
        .arg(e2e_dir().join("graphql/audit.mjs"))
        .arg(app.url("/graphql"))
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("graphql-http audit: {stdout}");
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}")).expect("audit JSON");
    assert!(output.status.success(), "audit failed: {stdout} {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(report["error"], 0, "{report}");
    assert!(report["ok"].as_u64().unwrap_or(0) >= 40, "{report}");
}

/// Two server processes on one PostgreSQL and one Redis: a real `graphql-ws` client subscribes on one, a mutation
/// on the other reaches it; a failed mutation publishes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutation_on_one_node_reaches_a_subscriber_on_another() {
    let Some(redis) = crate::queue::redis_url() else { return };
    if !node_tools_present() {
        return;
    }
    let dir = tempfile::tempdir().expect("data dir");
    let args = ["--data-dir", dir.path().to_str().expect("utf-8"), "--redis-url", &redis];
    let Some(app) = spawn_app_with(Backend::Postgres, settings(&args)).await else { return };
    // Node B: `omnisonic serve --no-workers` as its own process on the same database and Redis.
    let mut node_b = tokio::process::Command::new(env!("CARGO_BIN_EXE_omnisonic"));
    for var in ["DATABASE_URL", "REDIS_URL", "STORAGE_TYPE", "OMNISONIC_CONFIG", "AUTH_SECRET", "NEXTAUTH_SECRET"] {
        node_b.env_remove(var);
    }
    let mut node_b = node_b
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .args(["--data-dir", dir.path().to_str().expect("utf-8"), "--redis-url", &redis, "--bind", "127.0.0.1:0"])
        .args(["serve", "--no-workers"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start node B");
    let mut lines = tokio::io::BufReader::new(node_b.stdout.take().expect("stdout"));
    let mut first = String::new();
    tokio::time::timeout(Duration::from_secs(60), tokio::io::AsyncBufReadExt::read_line(&mut lines, &mut first))
        .await
        .expect("node B starts")
        .expect("read");
    let b_address: std::net::SocketAddr =
        first.trim().rsplit("http://").next().expect("address").parse().expect("node B prints its address");

    let editor = app.create_user("two-nodes@example.com", crate::helpers::TEST_PASSWORD).await;
    omnisonic_store::auth::grant_role(&app.db, editor, "editor").await.expect("grant");
    let on_b = crate::helpers::Browser::at(b_address);
    assert_eq!(on_b.sign_in_with_password("two-nodes@example.com", crate::helpers::TEST_PASSWORD).await.status(), 303);
    let graphql_b = |query: &'static str, variables: Value| {
        let on_b = &on_b;
        async move {
            on_b.post_json("/graphql", &json!({"query": query, "variables": variables}))
                .await
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let created = graphql_b("mutation { createWork(input: {title: \"Two nodes\"}) { id } }", json!({})).await;
    let w = data(&created, "createWork")["id"].as_str().expect("id").to_owned();

    // The real graphql-ws client subscribes on node A.
    let mut client = tokio::process::Command::new("node")
        .arg(e2e_dir().join("graphql/subscribe.mjs"))
        .args(["--url", &format!("ws://{}/graphql/ws", app.address)])
        .args(["--query", "subscription($id: ID!) { workUpdated(workId: $id) { id title } }"])
        .args(["--variables", &json!({"id": w}).to_string(), "--count", "1", "--timeout-ms", "20000"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run subscribe.mjs");
    let mut out = tokio::io::BufReader::new(client.stdout.take().expect("stdout"));
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(20), tokio::io::AsyncBufReadExt::read_line(&mut out, &mut line))
        .await
        .expect("client connects")
        .expect("read");
    assert!(line.contains("subscribed"), "{line}");
    tokio::time::sleep(Duration::from_millis(500)).await;

    let failed =
        graphql_b("mutation($id: ID!) { updateWork(id: $id, input: {title: \"\"}) { id } }", json!({"id": w})).await;
    assert_eq!(code(&failed), "BAD_USER_INPUT");
    let ok = graphql_b(
        "mutation($id: ID!) { updateWork(id: $id, input: {title: \"Renamed on B\"}) { id } }",
        json!({"id": w}),
    )
    .await;
    assert!(ok["errors"].is_null(), "{ok}");

    line.clear();
    tokio::time::timeout(Duration::from_secs(20), tokio::io::AsyncBufReadExt::read_line(&mut out, &mut line))
        .await
        .expect("event arrives")
        .expect("read");
    let event: Value = serde_json::from_str(&line).expect("JSON line");
    assert_eq!(event["event"], "next", "{line}");
    assert_eq!(event["payload"]["data"]["workUpdated"]["title"], "Renamed on B", "only the committed write arrives");
    let status =
        tokio::time::timeout(Duration::from_secs(10), client.wait()).await.expect("client exits").expect("wait");
    assert!(status.success());
    let _ = node_b.kill().await;
}

/// `omnisonic import-ern` on the real DDEX message: every deal becomes licenses; a second run changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_ern_turns_real_ddex_deals_into_licenses() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await.expect("app");
    let file = crate::helpers::shared_data().join("ddex/ern341_sony_7digital.xml");
    let pubsub = omnisonic_web::graphql_events(omnisonic_platform::PubSub::in_process());
    let bar = indicatif::ProgressBar::hidden();
    let first = omnisonic::rights::import_ern(&app.db, &pubsub, &file, &bar).await.expect("import");
    assert_eq!(first.recordings_created, 15);
    assert_eq!(first.works_created, 15);
    assert_eq!(first.grants, 15 * 31, "15 recordings × 31 territories, album and track deals merged");
    assert_eq!(first.licenses_created, first.grants);
    let second = omnisonic::rights::import_ern(&app.db, &pubsub, &file, &bar).await.expect("import again");
    assert_eq!(second.already_imported, first.grants);
    assert_eq!(second.licenses_created + second.recordings_created + second.works_created, 0);
    let r = app
        .graphql(
            "query($isrc: String!) { recordingByIsrc(isrc: $isrc) { title work { id licenses { licensee territory rightsType status effectiveFrom terms } } } }",
            json!({"isrc": "ES5021702674"}),
        )
        .await;
    let rec = &r["data"]["recordingByIsrc"];
    assert_eq!(rec["title"], "Zarzuela (Remasterizado)");
    let licenses = rec["work"]["licenses"].as_array().expect("licenses");
    assert_eq!(licenses.len(), 31);
    let gb = licenses.iter().find(|l| l["territory"] == "GB").expect("a GB license");
    assert_eq!(gb["licensee"], "7 Digital HD");
    assert_eq!(gb["rightsType"], "MASTER");
    assert_eq!(gb["status"], "ACTIVE");
    assert!(gb["effectiveFrom"].as_str().expect("date").starts_with("2017-12-15"));
    assert_eq!(
        gb["terms"]["deals"].as_array().expect("deals").len(),
        3,
        "album, track download and subscription deals"
    );
}

/// `SUBSCRIPTIONS_PORT` serves `/graphql/ws` on a port of its own, and only that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_port_serves_graphql_ws() {
    let app = spawn_app_with(Backend::Sqlite, settings(&["--subscriptions-port", "0"])).await.expect("app");
    let address = app.subscriptions_address.expect("a subscriptions listener");
    assert_ne!(address, app.address);
    let mut request = format!("ws://{address}/graphql/ws").into_client_request().expect("request");
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().expect("protocol"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket");
    send(&mut socket, json!({"type": "connection_init"})).await;
    next_of(&mut socket, "connection_ack").await;
    send(&mut socket, json!({"type": "subscribe", "id": "1", "payload": {"query": "{ apiVersion }"}})).await;
    assert_eq!(next_of(&mut socket, "next").await["payload"]["data"]["apiVersion"], env!("CARGO_PKG_VERSION"));
    let other = app.client.get(format!("http://{address}/graphql")).send().await.expect("GET");
    assert_eq!(other.status(), 404, "only /graphql/ws is served there");
}

/// Two deployments on one Redis with different `REDIS_KEY_PREFIX`es never hear each other's events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_prefixes_keep_deployments_on_one_redis_apart() {
    let Some(redis) = crate::queue::redis_url() else { return };
    let staging = omnisonic_platform::PubSub::redis_with_prefix(&redis, "staging:").await.expect("redis");
    let production = omnisonic_platform::PubSub::redis_with_prefix(&redis, "production:").await.expect("redis");
    let mut heard_in_staging = staging.subscribe_confirmed("ledger:cycle:*").await.expect("subscribe");
    let mut heard_in_production = production.subscribe_confirmed("ledger:cycle:*").await.expect("subscribe");
    production.publish("ledger:cycle:*", "production entry").await.expect("publish");
    assert_eq!(heard_in_production.recv().await.as_deref(), Some("production entry"));
    let leaked = tokio::time::timeout(Duration::from_millis(300), async {
        loop {
            match heard_in_staging.recv().await.as_deref() {
                Some(omnisonic_platform::pubsub::PROBE) => continue,
                other => return other.map(str::to_owned),
            }
        }
    })
    .await;
    assert!(leaked.is_err(), "staging heard {leaked:?}");
}

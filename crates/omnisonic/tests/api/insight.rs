//! Insight over HTTP: items pushed to `POST /ingest/news` (an object, an array, JSON Lines; limits at their
//! edge), the GraphQL read side (`newsItems`, `newsItem`, `mentions`) and the `newsItemTagged` subscription.

use crate::helpers::{TestApp, both_backends};
use crate::rights::{next_of, send, ws_connect};
use serde_json::{Value, json};
use std::time::Duration;

async fn editor(app: &TestApp, email: &str) {
    let id = app.sign_in(email).await;
    omnisonic_store::auth::grant_role(&app.db, id, "editor").await.expect("grant");
}

async fn push(app: &TestApp, content_type: &str, body: String) -> reqwest::Response {
    let request = app.browser.client.post(app.url("/ingest/news")).header("content-type", content_type).body(body);
    app.browser.with_csrf_header(request).send().await.expect("POST")
}

async fn party(app: &TestApp, name: &str) -> String {
    let r =
        app.graphql("mutation($n: String!) { createParty(name: $n, kind: ARTIST) { id } }", json!({"n": name})).await;
    r["data"]["createParty"]["id"].as_str().expect("id").to_owned()
}

both_backends! {
    async fn pushed_news_is_validated_deduplicated_and_tagged(app: TestApp) {
        editor(&app, "news@example.test").await;
        let beyonce = party(&app, "Beyoncé").await;
        let lines = [
            json!({"title": "Beyoncé announces a stadium tour", "url": "https://news.example/a?utm_source=x", "summary": "<p>Forty dates in <b>2027</b>.</p>"}).to_string(),
            "{not json".to_owned(),
            json!({"title": "Same story, other feed", "url": "https://news.example/a"}).to_string(),
            json!({"title": "", "url": "https://news.example/empty"}).to_string(),
            json!({"title": "Bad link", "url": "javascript:alert(1)"}).to_string(),
        ];
        let response = push(&app, "application/x-ndjson", lines.join("\n")).await;
        assert_eq!(response.status(), 200);
        let report: Value = response.json().await.expect("json");
        assert_eq!(report["stored"].as_array().map(Vec::len), Some(1), "{report}");
        assert_eq!(report["duplicates"], 1, "{report}");
        let rejected: Vec<u64> = report["rejected"].as_array().expect("list").iter().map(|r| r["index"].as_u64().expect("index")).collect();
        assert_eq!(rejected, [1, 3, 4], "{report}");
        assert_eq!(report["tags"], 1);

        // GraphQL: the item, its tag with offsets, the entity's mentions and the filters.
        let query = "query($e: ID!) { newsItems(entityId: $e, minConfidence: 70) { edges { node { id title summary contentHtml canonicalUrl tags { entityType entityId matchedText startOffset endOffset confidence method } } } } }";
        let answer = app.graphql(query, json!({"e": beyonce})).await;
        let node = &answer["data"]["newsItems"]["edges"][0]["node"];
        assert_eq!(node["title"], "Beyoncé announces a stadium tour", "{answer}");
        assert_eq!(node["summary"], "Forty dates in 2027.");
        assert_eq!(node["contentHtml"], "<p>Forty dates in <b>2027</b>.</p>");
        assert_eq!(node["canonicalUrl"], "https://news.example/a");
        let tag = &node["tags"][0];
        assert_eq!((tag["entityType"].as_str(), tag["entityId"].as_str(), tag["matchedText"].as_str()), (Some("PARTY"), Some(beyonce.as_str()), Some("Beyoncé")));
        assert_eq!((tag["startOffset"].as_i64(), tag["endOffset"].as_i64()), (Some(0), Some("Beyoncé".len() as i64)));
        let mentions = app.graphql("query($id: ID!) { party(id: $id) { mentions { title } } }", json!({"id": beyonce})).await;
        assert_eq!(mentions["data"]["party"]["mentions"][0]["title"], "Beyoncé announces a stadium tour", "{mentions}");
        let works_only = app.graphql("{ newsItems(entityType: WORK) { edges { node { id } } } }", json!({})).await;
        assert_eq!(works_only["data"]["newsItems"]["edges"], json!([]));
        let bad = app.graphql("{ newsItems(minConfidence: 101) { edges { node { id } } } }", json!({})).await;
        assert_eq!(bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{bad}");
        let id = node["id"].as_str().expect("id");
        let one = app.graphql("query($id: ID!) { newsItem(id: $id) { title source { id } } }", json!({"id": id})).await;
        assert_eq!(one["data"]["newsItem"]["title"], "Beyoncé announces a stadium tour");
        assert_eq!(one["data"]["newsItem"]["source"], Value::Null, "pushed items have no source");

        // One object and an array work too; unknown fields are refused by name.
        let single = push(&app, "application/json", json!({"title": "A single pushed item"}).to_string()).await;
        assert_eq!(single.status(), 200);
        let array = push(&app, "application/json", json!([{"title": "First of two"}, {"title": "Second of two"}]).to_string()).await;
        let report: Value = array.json().await.expect("json");
        assert_eq!(report["stored"].as_array().map(Vec::len), Some(2));
        let unknown = push(&app, "application/json", json!({"title": "x", "colour": "red"}).to_string()).await;
        assert_eq!(unknown.status(), 422);
        let problem: Value = unknown.json().await.expect("problem");
        assert!(problem.to_string().contains("colour"), "{problem}");
        assert_eq!(push(&app, "text/plain", "hello".to_owned()).await.status(), 415);
        assert_eq!(push(&app, "application/json", "{".to_owned()).await.status(), 400);
    }

    async fn batch_limits_hold_at_their_edge(app: TestApp) {
        editor(&app, "limits@example.test").await;
        let line = |i: usize| json!({"title": format!("Item number {i}"), "url": format!("https://news.example/{i}")}).to_string();
        let at_limit: Vec<String> = (0..1_000).map(line).collect();
        let response = push(&app, "application/x-ndjson", at_limit.join("\n")).await;
        assert_eq!(response.status(), 200);
        let report: Value = response.json().await.expect("json");
        assert_eq!(report["stored"].as_array().map(Vec::len), Some(1_000));
        let over: Vec<String> = (0..1_001).map(line).collect();
        assert_eq!(push(&app, "application/x-ndjson", over.join("\n")).await.status(), 413);
        let array: Vec<Value> = (0..1_001).map(|i| json!({"title": format!("t{i}")})).collect();
        assert_eq!(push(&app, "application/json", Value::Array(array).to_string()).await.status(), 413);
        // Over 8 MiB: refused from the declared length, before anything is buffered. The server answers at once;
        // a client still sending may see the connection close instead. Either way nothing is stored.
        let huge = json!({"title": "big", "summary": "x".repeat(8 * 1024 * 1024)}).to_string();
        let request = app.browser.client.post(app.url("/ingest/news")).header("content-type", "application/json").body(huge);
        if let Ok(response) = app.browser.with_csrf_header(request).send().await {
            crate::helpers::expect_problem(response, 413, "payload_too_large").await;
        }
        let filter = omnisonic_store::news::NewsFilter::default();
        let stored = omnisonic_store::news::list_items(&app.db, &filter, None, 2_000).await.expect("items");
        assert_eq!(stored.len(), 1_000, "only the batch within the limits was stored");
        let long_title = json!({"title": "t".repeat(1_001)}).to_string();
        let report: Value = push(&app, "application/json", long_title).await.json().await.expect("json");
        assert!(report["rejected"][0]["reason"].as_str().is_some_and(|r| r.contains("1000")), "{report}");
        let edge_title = json!({"title": "t".repeat(1_000), "url": "https://news.example/edge"}).to_string();
        let report: Value = push(&app, "application/json", edge_title).await.json().await.expect("json");
        assert_eq!(report["stored"].as_array().map(Vec::len), Some(1), "{report}");
    }

    async fn aliases_added_by_editors_are_matched_from_the_next_item(app: TestApp) {
        editor(&app, "aliases@example.test").await;
        let band = party(&app, "Red Hot Chili Peppers").await;
        let add = |alias: &str, id: &str| json!({"entityType": "party", "entityId": id, "alias": alias});
        let before = push(&app, "application/json", json!({"title": "RHCP tease a new record"}).to_string()).await;
        let report: Value = before.json().await.expect("json");
        assert_eq!(report["tags"], 0, "no alias yet: {report}");
        let created = app.post_json("/api/insight/aliases", &add("RHCP", &band)).await;
        assert_eq!(created.status(), 201);
        assert_eq!(app.post_json("/api/insight/aliases", &add("RHCP", &band)).await.status(), 409);
        assert_eq!(app.post_json("/api/insight/aliases", &add(" ?! ", &band)).await.status(), 422);
        let nobody = uuid::Uuid::now_v7().to_string();
        assert_eq!(app.post_json("/api/insight/aliases", &add("Nobody", &nobody)).await.status(), 404);
        let wrong_type = json!({"entityType": "label", "entityId": band, "alias": "x"});
        assert_eq!(app.post_json("/api/insight/aliases", &wrong_type).await.status(), 422);
        let listed: Value = app.browser.get(&format!("/api/insight/aliases?entityId={band}")).await.json().await.expect("json");
        assert_eq!(listed[0]["alias"], "RHCP", "{listed}");

        let after = push(&app, "application/json", json!({"title": "RHCP announce a world tour"}).to_string()).await;
        let report: Value = after.json().await.expect("json");
        assert_eq!(report["tags"], 1, "the alias is matched at once: {report}");
        let answer = app.graphql("query($id: ID!) { party(id: $id) { mentions { title tags { matchedText } } } }", json!({"id": band})).await;
        assert_eq!(answer["data"]["party"]["mentions"][0]["tags"][0]["matchedText"], "RHCP", "{answer}");
        // A re-tag applies it to the item that came before the alias.
        let run = app.post_json("/ingest/tagging/improve", &json!({})).await;
        assert_eq!(run.status(), 202);
        let run: Value = run.json().await.expect("json");
        assert_eq!(run["state"], "queued");
        assert_eq!(run["total"], 2);
    }

    async fn subscribers_hear_about_newly_tagged_items(app: TestApp) {
        editor(&app, "live-news@example.test").await;
        let artist = party(&app, "Sigur Rós").await;
        let other = party(&app, "Mogwai").await;
        let mut socket = ws_connect(&app, true).await;
        send(&mut socket, json!({"type": "subscribe", "id": "all", "payload": {
            "query": "subscription { newsItemTagged { title tags { entityId name matchedText } } }"
        }})).await;
        send(&mut socket, json!({"type": "subscribe", "id": "mogwai", "payload": {
            "query": "subscription($e: ID!) { newsItemTagged(entityId: $e) { title } }", "variables": {"e": other}
        }})).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pushed = push(&app, "application/json", json!({"title": "Sigur Ros return with a new album"}).to_string()).await;
        assert_eq!(pushed.status(), 200);
        let event = next_of(&mut socket, "next").await;
        assert_eq!(event["id"], "all", "the Mogwai subscription hears nothing of this item: {event}");
        let item = &event["payload"]["data"]["newsItemTagged"];
        assert_eq!(item["title"], "Sigur Ros return with a new album");
        assert_eq!(item["tags"][0]["entityId"], artist.as_str());
        assert_eq!(item["tags"][0]["name"], "Sigur Rós");
        assert_eq!(item["tags"][0]["matchedText"], "Sigur Ros");
        push(&app, "application/json", json!({"title": "Mogwai score a film"}).to_string()).await;
        let mut ids = vec![next_of(&mut socket, "next").await["id"].as_str().expect("id").to_owned()];
        ids.push(next_of(&mut socket, "next").await["id"].as_str().expect("id").to_owned());
        ids.sort();
        assert_eq!(ids, ["all", "mogwai"]);
    }
}

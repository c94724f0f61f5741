//! Studio pages: list, create, detail with tracks, edit — as a browser without JavaScript would use them.

use crate::helpers::both_backends;

fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").and_then(|v| v.to_str().ok()).expect("Location").to_owned()
}

both_backends! {
    async fn create_list_edit_and_add_tracks(app: TestApp) {
        app.sign_in("owner@example.test").await;
        let empty = app.get("/studio").await;
        assert_eq!(empty.status(), 200);
        assert!(empty.text().await.expect("html").contains("No sessions yet"));

        let created = app.post_form("/studio/sessions", &[("title", "Night <Drive>"), ("description", "synths"), ("bpm", "96"), ("sample_rate", "48000")]).await;
        assert_eq!(created.status(), 303);
        let detail_path = location(&created);
        assert!(detail_path.starts_with("/studio/sessions/"));

        let detail = app.get(&detail_path).await.text().await.expect("html");
        assert!(detail.contains("<h1>Night &#60;Drive&#62;</h1>") || detail.contains("<h1>Night &lt;Drive&gt;</h1>"), "title is escaped: {detail}");
        assert!(detail.contains("No tracks yet"));

        let list = app.get("/studio").await.text().await.expect("html");
        assert!(list.contains(&format!("href=\"{detail_path}\"")));

        let track = app.post_form(&format!("{detail_path}/tracks"), &[("name", "Drums"), ("gain_db", "-3.5"), ("pan", "0.25"), ("start_offset_samples", "4800"), ("mute", "on")]).await;
        assert_eq!(track.status(), 303);
        let detail = app.get(&detail_path).await.text().await.expect("html");
        // The owner sees the track's settings in its editable row.
        for control in ["name=\"name\" type=\"text\" required maxlength=\"200\" value=\"Drums\"", "name=\"gain_db\" type=\"number\" min=\"-96\" max=\"12\" step=\"0.1\" value=\"-3.5\"", "value=\"4800\"", "name=\"mute\" type=\"checkbox\" value=\"on\" checked"] {
            assert!(detail.contains(control), "{control} in {detail}");
        }

        let edit_form = app.get(&format!("{detail_path}/edit")).await;
        assert_eq!(edit_form.status(), 200);
        assert!(edit_form.text().await.expect("html").contains("value=\"96\""));
        let saved = app.post_form(&detail_path, &[("title", "Night Drive (v2)"), ("description", ""), ("bpm", ""), ("sample_rate", "96000")]).await;
        assert_eq!(saved.status(), 303);
        let detail = app.get(&detail_path).await.text().await.expect("html");
        assert!(detail.contains("<h1>Night Drive (v2)</h1>") && detail.contains("96000 Hz"), "{detail}");
    }

    async fn invalid_forms_are_re_rendered_with_errors_and_write_nothing(app: TestApp) {
        let owner = app.sign_in("owner@example.test").await;
        let response = app.post_form("/studio/sessions", &[("title", ""), ("bpm", "19"), ("sample_rate", "22050")]).await;
        assert_eq!(response.status(), 422);
        let html = response.text().await.expect("html");
        assert!(html.contains("Title is required"), "{html}");
        assert!(html.contains("BPM must be between 20 and 400"), "{html}");
        assert!(html.contains("aria-invalid=\"true\""));
        let not_a_number = app.post_form("/studio/sessions", &[("title", "x"), ("bpm", "fast"), ("sample_rate", "48000")]).await;
        assert_eq!(not_a_number.status(), 422);
        assert!(not_a_number.text().await.expect("html").contains("BPM must be a whole number"));
        // The edges of the BPM range are accepted.
        for bpm in ["20", "400"] {
            let ok = app.post_form("/studio/sessions", &[("title", "edge"), ("bpm", bpm), ("sample_rate", "44100")]).await;
            assert_eq!(ok.status(), 303, "bpm {bpm}");
        }
        let sessions = omnisonic_store::studio::list_sessions(&app.db, owner).await.expect("list");
        assert_eq!(sessions.len(), 2, "only the two valid sessions exist");

        let detail_path = format!("/studio/sessions/{}", sessions[0].id);
        let bad_track = app.post_form(&format!("{detail_path}/tracks"), &[("name", "Bass"), ("gain_db", "13"), ("pan", "2"), ("solo", "on")]).await;
        assert_eq!(bad_track.status(), 422);
        let html = bad_track.text().await.expect("html");
        assert!(html.contains("name=\"solo\" value=\"on\" checked"), "the form comes back as it was sent");
        assert!(html.contains("Gain must be between -96 and +12 dB") && html.contains("Pan must be between"), "{html}");
        assert!(omnisonic_store::studio::list_tracks(&app.db, sessions[0].id).await.expect("tracks").is_empty());
    }

    async fn concurrent_tracks_get_distinct_positions(app: TestApp) {
        app.sign_in("owner@example.test").await;
        let created = app.post_form("/studio/sessions", &[("title", "Race"), ("sample_rate", "48000")]).await;
        let path = location(&created);
        let tracks = format!("{path}/tracks");
        let (a, b, c) = tokio::join!(
            app.post_form(&tracks, &[("name", "A")]),
            app.post_form(&tracks, &[("name", "B")]),
            app.post_form(&tracks, &[("name", "C")]),
        );
        for r in [a, b, c] {
            assert_eq!(r.status(), 303);
        }
        let id = path.rsplit('/').next().and_then(|s| uuid::Uuid::parse_str(s).ok()).expect("id");
        let mut positions: Vec<i32> = omnisonic_store::studio::list_tracks(&app.db, id).await.expect("tracks").iter().map(|t| t.position).collect();
        positions.sort_unstable();
        assert_eq!(positions, [0, 1, 2]);
    }

    async fn unknown_sessions_are_not_found(app: TestApp) {
        app.sign_in("owner@example.test").await;
        let missing = app.browser.client.get(app.url(&format!("/studio/sessions/{}", uuid::Uuid::now_v7()))).header("accept", "text/html").send().await.expect("GET");
        assert_eq!(missing.status(), 404);
        let malformed = app.browser.client.get(app.url("/studio/sessions/not-an-id")).header("accept", "text/html").send().await.expect("GET");
        assert_eq!(malformed.status(), 404);
        let track_on_missing = app.post_form(&format!("/studio/sessions/{}/tracks", uuid::Uuid::now_v7()), &[("name", "x")]).await;
        assert_eq!(track_on_missing.status(), 404);
    }
}

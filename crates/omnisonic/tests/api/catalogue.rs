//! Catalogue rules at the store boundary: shares per role, atomic seeding of real data.

use crate::helpers::{both_backends, shared_data};
use omnisonic_domain::ShareBps;
use omnisonic_domain::catalogue::{PartyKind, Role, WorkInput};
use omnisonic_store::StoreError;
use omnisonic_store::catalogue::{self, ContributionTarget};

both_backends! {
    async fn a_works_shares_per_role_never_pass_one_hundred_percent(app: TestApp) {
        let work = catalogue::create_work(&app.db, &WorkInput { title: "Split".into(), iswc: Some("T-034.524.680-1".into()), genres: vec![] }.validate().expect("valid")).await.expect("work");
        let a = catalogue::create_party(&app.db, "A", PartyKind::Writer).await.expect("party");
        let b = catalogue::create_party(&app.db, "B", PartyKind::Writer).await.expect("party");
        let share = |bps| ShareBps::new(bps).expect("in range");
        catalogue::add_contribution(&app.db, a.id, ContributionTarget::Work(work.id), Role::Composer, share(6_000)).await.expect("60 %");
        catalogue::add_contribution(&app.db, b.id, ContributionTarget::Work(work.id), Role::Composer, share(4_000)).await.expect("exactly 100 %");
        let over = catalogue::add_contribution(&app.db, b.id, ContributionTarget::Work(work.id), Role::Composer, share(1)).await;
        match over {
            Err(StoreError::Invalid(errors)) => assert!(errors.reason_for("share_bps").expect("share_bps").contains("10001")),
            other => panic!("expected a validation error, got {other:?}"),
        }
        // Other roles have their own 100 %.
        catalogue::add_contribution(&app.db, a.id, ContributionTarget::Work(work.id), Role::Publisher, share(10_000)).await.expect("publisher");
        let stored = catalogue::contributions_for_works(&app.db, &[work.id]).await.expect("list");
        assert_eq!(stored.len(), 3, "the refused contribution left nothing behind");

        let missing = catalogue::add_contribution(&app.db, a.id, ContributionTarget::Work(uuid::Uuid::now_v7()), Role::Composer, share(1)).await;
        assert!(matches!(missing, Err(StoreError::NotFound { entity: "work", .. })), "{missing:?}");
    }

    async fn concurrent_contributions_cannot_both_pass_the_share_check(app: TestApp) {
        let work = catalogue::create_work(&app.db, &WorkInput { title: "Race".into(), iswc: None, genres: vec![] }.validate().expect("valid")).await.expect("work");
        let a = catalogue::create_party(&app.db, "A", PartyKind::Writer).await.expect("party");
        let b = catalogue::create_party(&app.db, "B", PartyKind::Writer).await.expect("party");
        let share = ShareBps::new(6_000).expect("in range");
        for _ in 0..5 {
            let (x, y) = tokio::join!(
                catalogue::add_contribution(&app.db, a.id, ContributionTarget::Work(work.id), Role::Lyricist, share),
                catalogue::add_contribution(&app.db, b.id, ContributionTarget::Work(work.id), Role::Lyricist, share),
            );
            let total: i32 = catalogue::contributions_for_works(&app.db, &[work.id]).await.expect("list").iter().map(|c| c.share_bps).sum();
            assert!(total <= 10_000, "shares reached {total}");
            let outcomes = [x.is_ok(), y.is_ok()];
            assert!(outcomes.iter().filter(|ok| **ok).count() <= 1, "both 60 % shares were accepted");
            for r in [x, y] {
                assert!(matches!(r, Ok(_) | Err(StoreError::Invalid(_))), "a losing writer gets a validation error, not {r:?}");
            }
        }
    }

    async fn duplicate_iswc_is_a_conflict(app: TestApp) {
        let input = WorkInput { title: "One".into(), iswc: Some("T0345246801".into()), genres: vec![] }.validate().expect("valid");
        catalogue::create_work(&app.db, &input).await.expect("first");
        let again = catalogue::create_work(&app.db, &input).await;
        assert!(matches!(again, Err(StoreError::Conflict { ref field, .. }) if field == "iswc"), "{again:?}");
    }

    async fn seeding_real_data_is_complete_and_idempotent(app: TestApp) {
        let summary = omnisonic::seed::from_dir(&app.db, &shared_data()).await.expect("seed");
        assert!(summary.contains("7504 recordings"), "{summary}");
        assert_eq!(catalogue::count_recordings(&app.db).await.expect("count"), 7_504);
        let again = omnisonic::seed::from_dir(&app.db, &shared_data()).await.expect("seed again");
        assert!(again.contains(": 0 recordings") && again.contains("skipped 7504 already present"), "{again}");
        assert_eq!(catalogue::count_recordings(&app.db).await.expect("count"), 7_504);
        // A recording credited to two artists splits the performer share evenly.
        let isrc = "USCM51400173";
        let rec = catalogue::recording_by_isrc(&app.db, isrc).await.expect("query").expect("present");
        let shares: i32 = catalogue::contributions_for_recordings(&app.db, &[rec.id]).await.expect("list").iter().map(|c| c.share_bps).sum();
        assert_eq!(shares, 10_000);
        let demo = omnisonic::seed::demo(&app.db).await.expect("demo after real data");
        assert!(demo.contains("already present"), "the demo shares ISRCs with the real data: {demo}");
    }
}

both_backends! {
    async fn the_browse_page_shows_recordings_with_contributors_and_pages(app: TestApp) {
        omnisonic::seed::demo(&app.db).await.expect("demo");
        let html = app.get("/catalogue?artist=tinashe").await.text().await.expect("html");
        assert!(html.contains("USRC11301176") && html.contains("2 On"), "{html}");
        assert!(html.contains("Tinashe (performer, 100%)"), "{html}");
        assert!(!html.contains("Falcon 69"), "filtered out");
        assert!(!html.contains("Next page"), "one page only");

        omnisonic::seed::synthetic(&app.db, 60).await.expect("synthetic");
        let first = app.get("/catalogue").await.text().await.expect("html");
        assert_eq!(first.matches("<tr>").count(), 51, "header + 50 rows");
        let next = first.split("href=\"/catalogue?after=").nth(1).and_then(|s| s.split('"').next()).expect("next link");
        let second = app.get(&format!("/catalogue?after={next}")).await.text().await.expect("html");
        assert_eq!(second.matches("<tr>").count(), 1 + 15, "the remaining 15 of 65");

        let bad = app.get("/catalogue?after=garbage").await;
        assert_eq!(bad.status(), 422);
        assert!(bad.text().await.expect("html").contains("role=\"alert\""));
    }

    async fn home_and_insight_pages_render_with_navigation(app: TestApp) {
        app.sign_in("viewer@example.test").await;
        for path in ["/", "/insight", "/studio", "/catalogue"] {
            let response = app.get(path).await;
            assert_eq!(response.status(), 200, "{path}");
            let csp = response.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
            let html = response.text().await.expect("html");
            for link in ["href=\"/studio\"", "href=\"/catalogue\"", "href=\"/insight\""] {
                assert!(html.contains(link), "{path} lacks {link}");
            }
            assert!(!html.contains("https://"), "{path} loads nothing from elsewhere");
        }
        let css = app.get("/assets/app.css").await;
        assert_eq!(css.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/css"));
        assert_eq!(app.get("/assets/nope.js").await.status(), 404);
    }
}

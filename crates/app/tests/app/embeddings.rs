//! Tagging with embeddings (`TAGGING_USE_EMBEDDINGS`) and the real sentence model (`OMNISONIC_TEST_MODEL_PATH`):
//! a name the context rules doubted is lifted by the model; entity vectors are cached in the database (or Redis)
//! for 7 days and recomputed when the entity's name changes or the vector is older than that.

use crate::harness::{context, databases};
use omnisonic_app::insight::embeddings::{EmbeddingSettings, Embeddings, VectorStore};
use omnisonic_app::insight::ingest::{IncomingItem, ingest};
use omnisonic_app::insight::retag::{self, RetagPayload, RetagScope};
use omnisonic_app::insight::tagger::TaggerCache;
use omnisonic_domain::catalogue::PartyKind;
use omnisonic_store::entities::{entity_embedding, party};
use omnisonic_store::news;
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};

const DOUBTED: &str = "Artists like rise against";

fn embeddings(store: VectorStore) -> Option<Embeddings> {
    let model_path = omnisonic_testkit::services::model_path()?;
    Some(Embeddings::load(&EmbeddingSettings { model_path, threshold: 0.7 }, store).expect("the model loads"))
}

fn item(title: &str, url: &str) -> IncomingItem {
    IncomingItem { title: title.into(), url: Some(url.into()), ..Default::default() }
}

async fn vector_row(ctx: &omnisonic_app::Context, id: uuid::Uuid) -> entity_embedding::Model {
    entity_embedding::Entity::find_by_id(id).one(&*ctx.db).await.expect("query").expect("a cached vector")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_lifts_doubted_names_and_vectors_are_cached_in_the_database() {
    let Some(embeddings) = embeddings(VectorStore::Database) else { return };
    for test in databases().await {
        let storage = tempfile::tempdir().expect("dir");
        let plain = context(&test.db, storage.path());
        let mut ctx = context(&test.db, storage.path());
        ctx.insight.tagger = TaggerCache::new(Default::default()).with_embeddings(embeddings.clone());
        let band =
            omnisonic_store::catalogue::create_party(&ctx.db, "Rise Against", PartyKind::Artist).await.expect("party");

        // Fuzzy matching alone doubts lower-case common words; the model reads them as the band.
        let fuzzy = plain.insight.tagger.current(&plain.db).await.expect("tagger");
        assert!(fuzzy.tag_item(DOUBTED, "").is_empty(), "{}: fuzzy alone tags nothing", test.name);
        let report = ingest(&ctx, None, &[item(DOUBTED, "https://news.example/a")]).await.expect("ingest");
        let tags = news::tags_of(&ctx.db, &report.stored).await.expect("tags");
        let tag = tags.iter().find(|t| t.entity_id == band.id).unwrap_or_else(|| panic!("{}: {tags:?}", test.name));
        assert_eq!(tag.method, "embedding", "{}", test.name);
        assert!(tag.confidence >= 70, "{}: {}", test.name, tag.confidence);
        assert_eq!(tag.matched_text, "rise against");
        assert_eq!(tag.tagger_version, format!("{}+all-minilm-l6-v2", omnisonic_tagging::TAGGER_VERSION));

        // The words used as words stay untagged, with the model asked too.
        let report = ingest(&ctx, None, &[item("Prices rise against the dollar", "https://news.example/b")])
            .await
            .expect("ingest");
        assert!(news::tags_of(&ctx.db, &report.stored).await.expect("tags").is_empty(), "{}", test.name);

        // The band's vector is cached, under this model.
        let first = vector_row(&ctx, band.id).await;
        assert_eq!(first.model, embeddings.model());
        assert_eq!(first.vector.len(), 384 * 4);

        // A rename makes the cached vector stale: the re-tag embeds the new name.
        let mut renamed: party::ActiveModel =
            party::Entity::find_by_id(band.id).one(&*ctx.db).await.expect("query").expect("party").into();
        renamed.name = Set("Rise Against (band)".to_owned());
        renamed.update(&*ctx.db).await.expect("rename");
        let payload = RetagPayload { run_id: uuid::Uuid::now_v7(), scope: RetagScope::default() };
        retag::run(&ctx, &payload).await.expect("retag");
        let second = vector_row(&ctx, band.id).await;
        assert_ne!(second.text_hash, first.text_hash, "{}: the new name was embedded", test.name);

        // A vector older than 7 days is recomputed.
        let mut old: entity_embedding::ActiveModel = second.clone().into();
        old.computed_at = Set(chrono::Utc::now() - chrono::Duration::days(8));
        old.update(&*ctx.db).await.expect("age the vector");
        retag::run(&ctx, &payload).await.expect("retag");
        let third = vector_row(&ctx, band.id).await;
        assert!(third.computed_at > chrono::Utc::now() - chrono::Duration::hours(1), "{}", test.name);
        assert_eq!(third.text_hash, second.text_hash);
        test.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_entity_vectors_are_cached_there_for_seven_days() {
    let Some(url) = omnisonic_testkit::services::redis_url() else { return };
    let prefix = format!("omnisonic-test-{}:", uuid::Uuid::now_v7().simple());
    let cache = omnisonic_platform::ExpiringCache::redis(&url, &prefix).await.expect("Redis");
    let Some(embeddings) = embeddings(VectorStore::Redis(cache.clone())) else { return };
    let test = databases().await.into_iter().next().expect("SQLite");
    let storage = tempfile::tempdir().expect("dir");
    let mut ctx = context(&test.db, storage.path());
    ctx.insight.tagger = TaggerCache::new(Default::default()).with_embeddings(embeddings.clone());
    let band =
        omnisonic_store::catalogue::create_party(&ctx.db, "Rise Against", PartyKind::Artist).await.expect("party");
    let report = ingest(&ctx, None, &[item(DOUBTED, "https://news.example/a")]).await.expect("ingest");
    let tags = news::tags_of(&ctx.db, &report.stored).await.expect("tags");
    assert!(tags.iter().any(|t| t.entity_id == band.id && t.method == "embedding"), "{tags:?}");
    let key = embeddings.cache_key(band.id, "Rise Against, music artist");
    let ttl = cache.ttl(&key).await.expect("ttl").expect("the vector is cached");
    assert!((6 * 86_400..=7 * 86_400).contains(&ttl), "ttl {ttl}");
    assert_eq!(entity_embedding::Entity::find().count(&*ctx.db).await.expect("count"), 0, "not in the database");
    test.close().await;
}

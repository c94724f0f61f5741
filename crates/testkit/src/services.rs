//! Where the other real services of the tests are: each from an environment variable that `scripts/test-all.sh`
//! sets. With `OMNISONIC_REQUIRE_SERVICES=1` (CI) a missing one fails the test instead of skipping it.

use std::path::PathBuf;

fn required(variable: &str, what: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => Some(value),
        _ if std::env::var("OMNISONIC_REQUIRE_SERVICES").is_ok_and(|v| v == "1") => {
            panic!("{variable} is not set and OMNISONIC_REQUIRE_SERVICES=1 ({what})")
        }
        _ => {
            eprintln!("{variable} not set: {what} skipped");
            None
        }
    }
}

/// The Redis at `OMNISONIC_TEST_REDIS_URL`.
pub fn redis_url() -> Option<String> {
    required("OMNISONIC_TEST_REDIS_URL", "the Redis variant")
}

/// The tagger's sentence model at `OMNISONIC_TEST_MODEL_PATH` (`bash scripts/fetch-model.sh` prints it).
pub fn model_path() -> Option<PathBuf> {
    required("OMNISONIC_TEST_MODEL_PATH", "the embedding tests").map(PathBuf::from)
}

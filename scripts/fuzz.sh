#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for a while and fails on the first crash.
#
#   bash scripts/fuzz.sh                 # each target for FUZZ_SECONDS (default 45; GraphQL twice as long)
#   bash scripts/fuzz.sh graphql_request # one target
#
# Installs cargo-fuzz when it is missing. Runs on stable Rust with `--sanitizer none`: libFuzzer's coverage
# guidance without AddressSanitizer, which needs nightly; Rust's own checks still turn overflows, out-of-bounds
# access, panics and stack overflows into crashes. Each target starts from the seeds in fuzz/seeds/<target>
# (and, read-only, the real files in the shared test data); what the run finds new goes to a temporary folder.
# A crash leaves its input in fuzz/artifacts/<target>/ and the reproduce command in the output.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo/fuzz"
seconds="${FUZZ_SECONDS:-45}"
cargo_fuzz_version="0.13.1"

if ! cargo fuzz --version 2>/dev/null | grep -q "$cargo_fuzz_version"; then
    echo "installing cargo-fuzz $cargo_fuzz_version"
    cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi

shared="${OMNISONIC_SHARED_DATA:-}"
if [ -z "$shared" ]; then
    for candidate in "$repo/../shared/data" /work/shared/data; do
        [ -d "$candidate" ] && shared="$(cd "$candidate" && pwd)" && break
    done
fi

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(graphql_request bulk_records ddex_parse feed_parse tagger)

for target in "${targets[@]}"; do
    corpus="$(mktemp -d)"
    trap 'rm -rf "$corpus"' EXIT
    cp "seeds/$target/"* "$corpus/"
    extra=()
    time_limit="$seconds"
    case "$target" in
        graphql_request) time_limit=$((seconds * 2)) ;;
        ddex_parse) [ -n "$shared" ] && extra+=("$shared/ddex") ;;
        feed_parse) [ -n "$shared" ] && extra+=("$shared/feeds/rss-parser" "$shared/feeds/miniflux") ;;
    esac
    echo "==> fuzzing $target for ${time_limit}s"
    # -timeout: one input taking longer than 20 s counts as a hang (a crash); -rss_limit_mb: so does 2 GiB.
    cargo fuzz run --sanitizer none "$target" "$corpus" "${extra[@]}" -- \
        -max_total_time="$time_limit" -timeout=20 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
    rm -rf "$corpus"
    trap - EXIT
done
echo "fuzzing: 0 crashes in ${targets[*]}"

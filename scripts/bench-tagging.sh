#!/usr/bin/env bash
# Tagging accuracy and speed (crates/tagging), beside the spec's thefuzz method on the same data in the same run.
#
#   accuracy: deezer-music-ner's 1,800 labelled queries (plus crates/tagging/eval/common-words.csv) against a
#             catalogue of their linked names plus the shared data's 1,929 artists and 7,504 recordings;
#             precision, recall and F1 per class, false alarms on texts with no entity.
#   speed:    2,000 news-like items built from the shared catalogue (real names, non-ASCII text, misspellings,
#             duplicates, items about nothing in the catalogue), items/s and peak RSS.
#
# The baseline is scripts/thefuzz-baseline.py (thefuzz extractBests, token_set_ratio, cutoff 70, limit 5) in a
# private venv (scripts/thefuzz-venv.sh). Both are also run with the sentence model (TAGGING_USE_EMBEDDINGS; fetched
# by scripts/fetch-model.sh) and reported separately. Not a test: figures depend on the machine.
#
# Usage: bash scripts/bench-tagging.sh [DATA]     (DATA: the shared data folder; default ../shared/data)
# Results also go to target/bench/tagging.txt.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
data="${1:-${OMNISONIC_SHARED_DATA:-$repo/../shared/data}}"
if [ ! -f "$data/tagging/deezer-music-ner/dataset1/queries.csv" ]; then
    echo "shared data not found at $data (pass its path)" >&2
    exit 1
fi
mkdir -p target/bench
python="$(bash scripts/thefuzz-venv.sh)"
model="$(bash scripts/fetch-model.sh)"
cargo build -q --release -p omnisonic-tagging --example eval
eval_bin="target/release/examples/eval"
{
    echo "== accuracy"
    "$eval_bin" accuracy "$data" --baseline "$python" --embeddings "$model"
    echo
    echo "== speed"
    "$eval_bin" speed "$data" --baseline "$python" --embeddings "$model"
} | tee target/bench/tagging.txt

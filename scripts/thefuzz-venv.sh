#!/usr/bin/env bash
# Python for the thefuzz baseline tagger (spec 3.1; scripts/thefuzz-baseline.py): prints the path of a python that
# has thefuzz 0.22.1 (and rapidfuzz, which it pulls in). Creates the venv from PyPI on first use; later runs only
# print the path.
#
# Needs: python3 with the venv module, network access to PyPI on first use.
#
# Usage: py="$(bash scripts/thefuzz-venv.sh)" && "$py" scripts/thefuzz-baseline.py IN.json OUT.json
#        (venv in ${OMNISONIC_BENCH_DIR:-target/bench}/thefuzz-venv, relative to the repository root)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
venv="${OMNISONIC_BENCH_DIR:-target/bench}/thefuzz-venv"
mkdir -p "$(dirname "$venv")"
venv="$(cd "$(dirname "$venv")" && pwd)/$(basename "$venv")"
py="$venv/bin/python"

if ! { [ -x "$py" ] && "$py" -c 'import thefuzz' 2>/dev/null; }; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q thefuzz==0.22.1 >&2
fi
echo "$py"

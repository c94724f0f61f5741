#!/usr/bin/env bash
# Mixdown benchmark (crates/mixdown): our `mix` example against ffmpeg's amix on the same 8 stems.
#
# Generates 8 distinct stereo 44.1 kHz 16-bit WAV stems of SECONDS seconds each (tones, sweeps and noise, one
# mix per stem; made once with sox and kept in target/bench-mixdown/stems-SECONDS), then for each output format
# (WAV 16-bit, FLAC, MP3 320 and 192 kbps) runs, alternating, BENCH_RUNS times each:
#   ours:   target/release/examples/mix --format F --rate 44100 -o OUT s1.wav … s8.wav
#   ffmpeg: ffmpeg -i s1.wav … -i s8.wav -filter_complex amix=inputs=8:normalize=0 -c:a pcm_s16le|flac|libmp3lame
# and reports the median wall time of each, the ratio ffmpeg time / our time (higher is better: 3.0 means we are
# 3x as fast) and our peak RSS (max over the runs, from /usr/bin/time).
#
# Targets: ≥ 3x ffmpeg for WAV, ≥ 2x for FLAC, ≥ 1.2x for MP3; peak RSS ≤ 64 MiB at 180 s and 600 s.
# Not a test: figures depend on the machine (on 2 cores, ours uses two threads, ffmpeg 5.1 mostly one).
# Note the outputs are not byte-for-byte alike: our FLAC is 16-bit with TPDF dither (ffmpeg picks its own sample
# format from amix's float output, without dither), our MP3 uses LAME quality 3 like ffmpeg's libmp3lame default.
#
# Needs: cargo; ffmpeg, sox and /usr/bin/time are installed with apt-get when missing (as root, or with sudo).
#
# Usage: bash scripts/bench-mixdown.sh [SECONDS]      (SECONDS: 180 (default) or 600, or any length)
#        BENCH_RUNS=5 bash scripts/bench-mixdown.sh 600
# Results also go to target/bench-mixdown/results-SECONDS.txt.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
seconds="${1:-180}"
runs="${BENCH_RUNS:-3}"
out_dir="$repo/target/bench-mixdown"
stems="$out_dir/stems-$seconds"
results="$out_dir/results-$seconds.txt"
bin="$repo/target/release/examples/mix"
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "bench-mixdown: SECONDS must be a whole number, got $seconds" >&2; exit 2; }

# Installs Debian packages for missing commands.
need() {
    local missing=()
    while [ $# -gt 0 ]; do
        command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] || missing+=("$2")
        shift 2
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "bench-mixdown: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
need ffmpeg ffmpeg sox sox /usr/bin/time time

cargo build --release -p omnisonic-mixdown --example mix

# 8 distinct stems: a different tone pair, sweep or noise colour per stem and side.
mkdir -p "$stems"
specs=(
    "sine 110 sine 165"
    "square 220 triangle 330"
    "pinknoise brownnoise"
    "sine 440-880 sine 880-440"
    "sawtooth 55 sine 82.5"
    "whitenoise pinknoise"
    "triangle 660 square 990"
    "sine 1320 sine 1760"
)
for i in "${!specs[@]}"; do
    f="$stems/s$((i + 1)).wav"
    if [ ! -s "$f" ]; then
        # shellcheck disable=SC2086 # the spec is a list of sox synth arguments
        sox -n -r 44100 -c 2 -b 16 "$f" synth "$seconds" ${specs[$i]} tremolo $((i + 2)) 40 vol 0.25
    fi
done
inputs=("$stems"/s{1..8}.wav)
ff_inputs=()
for f in "${inputs[@]}"; do ff_inputs+=(-i "$f"); done

# Runs a command under /usr/bin/time; prints "wall_seconds max_rss_kib".
timed() {
    local stats="$out_dir/time.txt"
    /usr/bin/time -f "%e %M" -o "$stats" "$@" >/dev/null 2>"$out_dir/stderr.txt" || {
        echo "bench-mixdown: failed: $*" >&2
        cat "$out_dir/stderr.txt" >&2
        exit 1
    }
    cat "$stats"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

{
    echo "mixdown benchmark: 8 stereo 44.1 kHz 16-bit stems x ${seconds} s, median of ${runs} runs, $(nproc) cores"
    printf '%-8s %10s %10s %8s %12s\n' format "ours [s]" "ffmpeg [s]" ratio "ours RSS"
} | tee "$results"

for format in wav flac mp3-320 mp3-192; do
    case "$format" in
        wav) ext=wav ff_codec=(-c:a pcm_s16le) ;;
        flac) ext=flac ff_codec=(-c:a flac) ;;
        mp3-320) ext=mp3 ff_codec=(-c:a libmp3lame -b:a 320k) ;;
        mp3-192) ext=mp3 ff_codec=(-c:a libmp3lame -b:a 192k) ;;
    esac
    ours=() theirs=() rss=0
    for _ in $(seq "$runs"); do
        read -r t m < <(timed "$bin" --format "$format" --rate 44100 -o "$out_dir/ours.$ext" "${inputs[@]}")
        ours+=("$t")
        [ "$m" -gt "$rss" ] && rss="$m"
        read -r t _ < <(timed ffmpeg -nostdin -hide_banner -loglevel error -y "${ff_inputs[@]}" \
            -filter_complex "amix=inputs=8:normalize=0" "${ff_codec[@]}" "$out_dir/ffmpeg.$ext")
        theirs+=("$t")
    done
    o="$(median "${ours[@]}")"
    f="$(median "${theirs[@]}")"
    ratio="$(awk -v o="$o" -v f="$f" 'BEGIN { printf (o > 0) ? "%.2fx" : "inf", f / o }')"
    printf '%-8s %10s %10s %8s %8.1f MiB\n' "$format" "$o" "$f" "$ratio" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" | tee -a "$results"
done
rm -f "$out_dir/time.txt" "$out_dir/stderr.txt"
echo "results: $results"

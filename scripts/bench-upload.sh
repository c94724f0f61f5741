#!/usr/bin/env bash
# Upload benchmark (spec 1.2 / issue 4): a 100 MB WAV through `POST /api/upload` of the release binary into the
# S3 test server (s3s-fs, from scripts/services.sh), against boto3 uploading the same file to the same server in
# the same run; and the server's peak RSS (VmHWM) during the uploads.
#
# Reports the median of BENCH_RUNS (default 3) for each, and the ratio boto3 time / API time (higher is better:
# 1.0 means as fast as boto3). Not a test: figures depend on the machine. On 2 cores the client, the server and
# s3s-fs share the CPU.
#
# Needs: target/release/omnisonic (cargo build --release -p omnisonic), curl, python3 (boto3 is installed into
# target/bench/venv from PyPI on first use), s3s-fs running (bash scripts/services.sh start).
#
# Usage: bash scripts/bench-upload.sh     (results also go to target/bench/upload.txt)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
runs="${BENCH_RUNS:-3}"
size_mb="${BENCH_UPLOAD_MB:-100}"
bin="$repo/target/release/omnisonic"
out_dir="$repo/target/bench"
mkdir -p "$out_dir"
[ -x "$bin" ] || { echo "bench-upload: build the release binary first: cargo build --release -p omnisonic" >&2; exit 2; }

eval "$(bash scripts/services.sh s3-env | sed 's/^/export /')"
bucket="bench$(date +%s)"
mkdir -p "$OMNISONIC_TEST_S3_ROOT/$bucket"

# boto3 in a private venv (the system python may not have pip access to site-packages).
venv="$out_dir/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q boto3
fi

file="$out_dir/upload-${size_mb}mb.wav"
if [ ! -f "$file" ]; then
    python3 - "$file" "$size_mb" <<'PY'
import os, struct, sys
path, mb = sys.argv[1], int(sys.argv[2])
data = mb * 1024 * 1024 - 44
with open(path, "wb") as f:
    f.write(b"RIFF" + struct.pack("<I", 36 + data) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 2, 44100, 176400, 4, 16))
    f.write(b"data" + struct.pack("<I", data))
    left = data
    while left:
        chunk = os.urandom(min(left, 1 << 20))
        f.write(chunk)
        left -= len(chunk)
PY
fi

data_dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
base="http://127.0.0.1:$port"
storage=(--storage-type minio --minio-endpoint "$OMNISONIC_TEST_S3_ENDPOINT" --minio-bucket-name "$bucket"
         --minio-access-key "$OMNISONIC_TEST_S3_ACCESS_KEY" --minio-secret-key "$OMNISONIC_TEST_S3_SECRET_KEY")
printf '%s\n' 'bench password 123' | "$bin" --data-dir "$data_dir" user create --email bench@example.test --password-stdin >/dev/null
RUST_LOG=warn "$bin" --data-dir "$data_dir" --bind "127.0.0.1:$port" "${storage[@]}" serve >"$out_dir/upload-server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$data_dir"' EXIT
until curl -fsS -o /dev/null "$base/readyz"; do sleep 0.1; done

jar="$data_dir/jar"
csrf() { curl -s -b "$jar" -c "$jar" "$base/api/auth/csrf" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrfToken"])'; }
curl -s -b "$jar" -c "$jar" -o /dev/null "$base/auth/callback/credentials" \
    --data-urlencode "csrf_token=$(csrf)" --data-urlencode email=bench@example.test --data-urlencode 'password=bench password 123'
token="$(csrf)"
# The sign-in's argon2 check takes 19 MiB by design; record the peak so far, then reset it (Linux: writing 5 to
# clear_refs resets VmHWM) so the figure below is the peak *during the uploads*.
before_kib="$(awk '/VmHWM/ {print $2}' "/proc/$server/status")"
echo 5 > "/proc/$server/clear_refs" 2>/dev/null || true
start_kib="$(awk '/VmRSS/ {print $2}' "/proc/$server/status")"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

api_times=()
for _ in $(seq 1 "$runs"); do
    t="$(curl -s -b "$jar" -o /dev/null -w '%{time_total}' -X POST "$base/api/upload?name=bench.wav" \
        -H "x-csrf-token: $token" -H 'content-type: application/octet-stream' --data-binary @"$file")"
    api_times+=("$t")
done
peak_kib="$(awk '/VmHWM/ {print $2}' "/proc/$server/status")"

boto_times=()
for _ in $(seq 1 "$runs"); do
    t="$("$venv/bin/python" - "$file" "$bucket" <<'PY'
import os, sys, time, boto3
from boto3.s3.transfer import TransferConfig
path, bucket = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=os.environ["OMNISONIC_TEST_S3_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["OMNISONIC_TEST_S3_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["OMNISONIC_TEST_S3_SECRET_KEY"])
start = time.monotonic()
s3.upload_file(path, bucket, "boto3-bench", Config=TransferConfig(multipart_threshold=8 << 20))
print(f"{time.monotonic() - start:.3f}")
PY
)"
    boto_times+=("$t")
done

api="$(printf '%s\n' "${api_times[@]}" | median)"
boto="$(printf '%s\n' "${boto_times[@]}" | median)"
{
    echo "upload benchmark, ${size_mb} MB WAV into s3s-fs at $OMNISONIC_TEST_S3_ENDPOINT, median of $runs"
    echo "  POST /api/upload (release):  ${api}s   runs: ${api_times[*]}"
    echo "  boto3 upload_file:           ${boto}s   runs: ${boto_times[*]}"
    echo "  ratio boto3/API:             $(python3 -c "print(f'{$boto/$api:.2f}')")   (target >= 0.7)"
    echo "  server peak RSS during the uploads (VmHWM): $((peak_kib / 1024)) MiB   (target <= 64 MiB)"
    echo "    (RSS when they started: $((start_kib / 1024)) MiB; peak before, through start-up and sign-in: $((before_kib / 1024)) MiB)"
} | tee "$out_dir/upload.txt"

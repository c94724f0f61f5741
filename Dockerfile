# syntax=docker/dockerfile:1
# The omnisonic server image: one static-ish binary on a slim Debian.
#
#   docker build -t omnisonic .
#   docker run -p 3000:3000 -v omnisonic-data:/data omnisonic            # SQLite in /data
#   docker run -e DATABASE_URL=postgres://... omnisonic migrate            # any subcommand

# --- build --------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
# Cache mounts keep the crates.io downloads and compiled dependencies between builds. The
# target dir is a cache mount too, so it is not in the layer: copy the binary out in the
# same step. --locked: build exactly what Cargo.lock says, as CI tested.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release -p omnisonic --locked \
    && install -D -m 0755 target/release/omnisonic /out/omnisonic

# --- run ----------------------------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: outgoing TLS (PostgreSQL with sslmode, webhooks, object storage).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# Never run as root; /data holds the SQLite database and any local files.
RUN useradd --system --user-group --uid 10001 --home-dir /data --no-create-home omnisonic \
    && mkdir -p /data && chown omnisonic:omnisonic /data
COPY --from=builder /out/omnisonic /usr/local/bin/omnisonic

USER omnisonic
WORKDIR /data
VOLUME /data
# Listen on all interfaces inside the container (the default, 127.0.0.1, would be
# unreachable from outside it). Logs as JSON for the log collector.
ENV OMNISONIC_DATA_DIR=/data \
    OMNISONIC_BIND=0.0.0.0:3000 \
    LOG_FORMAT=json
EXPOSE 3000
ENTRYPOINT ["omnisonic"]
CMD ["serve"]

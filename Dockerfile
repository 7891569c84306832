# summit-qa container: a static (musl) binary on distroless/static, running as non-root.
#   docker build -t summit-qa .
#   docker run --rm -e TELOXIDE_TOKEN=123456:ABC… -p 8080:8080 summit-qa
# No secrets are baked in: the token comes from the environment at run time. The image holds
# the shipped corpus, the embedding model (/app/models, 37 MB) and the index with its sentence
# vectors (/app/index); see docker-compose.yml for your own corpus.

# ---- build ------------------------------------------------------------------------------
FROM rust:1.95-slim-bookworm AS builder
ARG TARGET=x86_64-unknown-linux-musl
# musl-gcc for the few C/assembly parts (ring, used by rustls).
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools=1.2.3-1 \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add "$TARGET"
WORKDIR /src

# Dependencies (and the model's kernels, crates/e5) in their own layer: rebuilt when
# Cargo.toml, Cargo.lock or the kernels change.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && for bench in answer embed journal; do echo 'fn main() {}' > "benches/$bench.rs"; done \
    && cargo build --release --locked --target "$TARGET" \
    && rm -rf src benches

# The crate itself (touch: the copied files may be older than the stub build).
COPY src ./src
COPY benches ./benches
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --target "$TARGET" \
    && cp "target/$TARGET/release/summit-qa" /summit-qa \
    && strip /summit-qa

# The index of the shipped corpus with its sentence vectors, built once here so the container
# starts without indexing or embedding.
COPY corpus ./corpus
COPY models ./models
RUN SUMMIT_QA_CORPUS_DIR=/src/corpus SUMMIT_QA_INDEX_DIR=/index /summit-qa index \
    && mkdir -p /data

# ---- run --------------------------------------------------------------------------------
FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=builder /summit-qa /usr/local/bin/summit-qa
COPY corpus ./corpus
COPY config ./config
COPY models ./models
# Owned by the runtime user: a corpus mounted over /app/corpus is indexed into it at start
# (mount a volume on /app/index when the root file system is read-only).
COPY --from=builder --chown=65532:65532 /index ./index
# The records of questions and votes (docs/operations.md); mount a volume here to keep them.
COPY --from=builder --chown=65532:65532 /data ./data
# /healthz, /readyz, /metrics and (in webhook mode) the webhook.
ENV SUMMIT_QA_HTTP__LISTEN=0.0.0.0:8080
EXPOSE 8080
# 65532 is distroless's "nonroot" user; numeric so runAsNonRoot checks can verify it.
USER 65532:65532
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/summit-qa", "health"]
ENTRYPOINT ["/usr/local/bin/summit-qa"]
CMD ["serve"]

# Build stage: compile the release binary.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY templates ./templates
COPY locales ./locales
COPY static ./static
# Benchmarks and load tools are example targets named in Cargo.toml.
COPY bench ./bench
COPY examples ./examples
COPY tests ./tests
RUN cargo build --release --locked --bin zhonglian

# Runtime stage: a small image, running as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app zhonglian
WORKDIR /app
COPY --from=build /src/target/release/zhonglian /usr/local/bin/zhonglian
COPY static ./static
RUN mkdir -p /app/data && chown zhonglian /app/data
USER zhonglian
ENV BIND=0.0.0.0:8080 ZHONGLIAN_DATA_DIR=/app/data
EXPOSE 8080
CMD ["zhonglian", "serve"]

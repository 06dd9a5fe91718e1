# syntax=docker/dockerfile:1
# exit3-server in a container: built with cargo, run from a distroless image (glibc and
# nothing else: no shell, no package manager, no toolchain, no sources) as a non-root user.
# Not built on the machine this file was written on (no Docker engine there); linted with
# hadolint. Build: docker build -t exit3-server .

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# `sentry-rustls`: TLS for an https SENTRY_DSN. PostgreSQL is reached without TLS, inside
# the compose network.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p exit3-server --features sentry-rustls \
    && install -m 0755 target/release/exit3-server /exit3-server

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /exit3-server /usr/local/bin/exit3-server
# The image's `nonroot` user, by number (65532); the server needs no writable path unless LOG_FILE
# is set (then mount a volume there).
USER 65532:65532
WORKDIR /home/nonroot
ENV BIND=0.0.0.0:8000 \
    LOG_FORMAT=json
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/exit3-server", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/exit3-server"]
# Applies the migrations, then serves; SIGTERM stops it gracefully (SHUTDOWN_TIMEOUT).
CMD ["serve"]

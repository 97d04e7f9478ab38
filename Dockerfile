# The todo-api image: the release binary on a Debian bookworm base, run as
# an unprivileged user, the SQLite default on a volume.
#
# The binary is built on the host first and copied in (the image needs no
# Rust toolchain, and the build reuses the host's cargo cache):
#
#   cargo build --release --locked -p todo-api
#   docker build -t todo-api .
#
# BASE_IMAGE is any Debian bookworm image: debian:bookworm-slim where a
# registry is reachable, or one made from Debian's packages by
# deploy/container/make-base-image where none is. The binary links only
# glibc, so the base must be bookworm (glibc 2.36) or newer.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

# A system user with a fixed id, so a volume's ownership survives a rebuild.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/todo-api \
        --create-home --shell /usr/sbin/nologin todo-api

ARG BINARY=target/release/todo-api
COPY ${BINARY} /usr/local/bin/todo-api

# Listen on every address of the container; the SQLite default lives on the
# volume. Every setting of README's "Configuration" can be given with -e.
ENV HOST=0.0.0.0 \
    PORT=8000 \
    DATABASE_URL=sqlite:///var/lib/todo-api/todo.db
VOLUME /var/lib/todo-api
WORKDIR /var/lib/todo-api
USER todo-api
EXPOSE 8000

# `todo-api healthcheck` asks the service on HOST:PORT for /ready (no curl
# in the image). Stop with a timeout above SHUTDOWN_DRAIN_MS plus
# SHUTDOWN_GRACE_MS (`docker stop -t 45`, compose's stop_grace_period):
# Docker's default of 10 s would cut the grace short.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["todo-api", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["todo-api"]

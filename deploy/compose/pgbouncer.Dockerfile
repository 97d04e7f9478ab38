# PgBouncer from Debian's packages, for compose.yaml.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pgbouncer postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
COPY pgbouncer-start /usr/local/bin/pgbouncer-start
USER postgres
CMD ["pgbouncer-start"]

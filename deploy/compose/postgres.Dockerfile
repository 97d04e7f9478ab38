# PostgreSQL 15 from Debian's packages, for compose.yaml.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o postgres -g postgres -m 700 /var/lib/postgresql/data
COPY postgres-start /usr/local/bin/postgres-start
VOLUME /var/lib/postgresql/data
USER postgres
STOPSIGNAL SIGINT
CMD ["postgres-start"]

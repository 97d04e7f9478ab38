-- Idempotency keys (API.md, "Idempotency"), written in the same transaction
-- as the todos they create, and kept at least 24 hours.
create table idempotency_keys (
    -- Whose key: empty without access tokens, else a digest of the token.
    scope text not null,
    key text not null,
    -- A digest of the first request's path and body.
    fingerprint text not null,
    status smallint not null,
    body text not null,
    created_at timestamptz not null default now(),
    primary key (scope, key)
);

-- The purge of expired keys walks this.
create index idempotency_keys_created_at_idx on idempotency_keys (created_at);

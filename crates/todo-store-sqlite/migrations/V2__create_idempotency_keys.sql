-- Idempotency keys (API.md, "Idempotency"), written in the same transaction
-- as the todos they create, and kept at least 24 hours. `created_at` is in
-- microseconds since the Unix epoch.
create table idempotency_keys (
    scope text not null,
    key text not null,
    fingerprint text not null,
    status integer not null,
    body text not null,
    created_at integer not null,
    primary key (scope, key)
) without rowid;

create index idempotency_keys_created_at_idx on idempotency_keys (created_at);

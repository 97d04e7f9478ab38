-- Users (API.md, "Users"): every todo has an owner, every statement is
-- scoped by it, and every index leads with it, so one user's listing walks
-- that user's rows only.
create table users (
    id integer primary key,
    -- A JWT's `sub`. The anonymous user (id 1: open mode and access tokens)
    -- has none, which no token can name.
    subject text not null unique,
    -- Microseconds since the Unix epoch.
    created_at integer not null
);

insert into users (id, subject, created_at)
values (1, '', cast(unixepoch('subsec') * 1000000 as integer));

-- Todos from before users existed are the anonymous user's, so an old
-- client sees no difference.
alter table todos add column owner integer not null default 1;

drop index todos_created_at_id_idx;
drop index todos_completed_created_at_id_idx;
drop index todos_priority_id_idx;
drop index todos_due_date_id_idx;

create index todos_owner_created_at_id_idx on todos (owner, created_at, id);
create index todos_owner_id_idx on todos (owner, id);
create index todos_owner_completed_created_at_id_idx on todos (owner, completed, created_at, id);
create index todos_owner_priority_id_idx on todos (owner, priority, id);
create index todos_owner_due_date_id_idx on todos (owner, due_date, id);

-- Idempotency keys are each owner's: the same key of two users is two
-- keys. SQLite changes a primary key by building the table again.
create table idempotency_keys_by_owner (
    owner integer not null,
    scope text not null,
    key text not null,
    fingerprint text not null,
    status integer not null,
    body text not null,
    created_at integer not null,
    primary key (owner, scope, key)
) without rowid;

insert into idempotency_keys_by_owner (owner, scope, key, fingerprint, status, body, created_at)
select 1, scope, key, fingerprint, status, body, created_at
from idempotency_keys;

drop table idempotency_keys;
alter table idempotency_keys_by_owner rename to idempotency_keys;
create index idempotency_keys_created_at_idx on idempotency_keys (created_at);

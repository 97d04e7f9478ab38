-- The todos table and the smallest index set that serves every listing
-- query from an index (see the README, "Indexes").
create extension if not exists pg_trgm;

create table todos (
    id bigint generated always as identity primary key,
    title text not null,
    -- The title lowercased by the service, so `q` matches the same way on
    -- every backend and collation.
    title_search text not null,
    description text,
    priority smallint not null default 3 check (priority between 1 and 5),
    due_date timestamptz,
    completed boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    -- Counts the changes of the row; the ETag is made from it.
    version bigint not null default 1
);

-- The default listing (newest first), sort=created_at either way, and any
-- filter walked in that order.
create index todos_created_at_id_idx on todos (created_at, id);
-- completed=... with the default sort: the everyday "open todos" view,
-- whose rows are a small part of the table once most todos are done.
create index todos_completed_created_at_id_idx on todos (completed, created_at, id);
-- sort=priority either way.
create index todos_priority_id_idx on todos (priority, id);
-- sort=due_date either way (as two range scans, undated todos last), and
-- due_before / due_after.
create index todos_due_date_id_idx on todos (due_date, id);
-- q: substring search without scanning the table.
create index todos_title_search_trgm_idx on todos using gin (title_search gin_trgm_ops);

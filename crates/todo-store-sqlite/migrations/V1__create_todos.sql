-- The todos table. Timestamps are integer microseconds since the Unix
-- epoch (UTC), booleans 0 or 1.
create table todos (
    id integer primary key autoincrement,
    title text not null,
    -- The title lowercased by the service, so `q` matches the same way as on
    -- PostgreSQL.
    title_search text not null,
    description text,
    priority integer not null default 3 check (priority between 1 and 5),
    due_date integer,
    completed integer not null default 0 check (completed in (0, 1)),
    created_at integer not null,
    updated_at integer not null,
    -- Counts the changes of the row; the ETag is made from it.
    version integer not null default 1
);

create index todos_created_at_id_idx on todos (created_at, id);
create index todos_completed_created_at_id_idx on todos (completed, created_at, id);
create index todos_priority_id_idx on todos (priority, id);
create index todos_due_date_id_idx on todos (due_date, id);

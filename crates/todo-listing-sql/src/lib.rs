//! SQL shared by both store crates: the listing and the delete-by-filter
//! statements, which differ between PostgreSQL and SQLite only in their
//! placeholders and in how `q` is matched. Each is scoped by its owner
//! first (`owner = $1`), which every index leads with. Values are bound,
//! but for the page size, a validated integer written into the text (see
//! `Builder::paging`), and on PostgreSQL the filters' booleans and
//! priorities (`Builder::enumerated`) and, when asked, due dates: values
//! parsed and validated, written back by the builder, never text from the
//! request. Sort columns come from [`SortField`], never from input.

use chrono::Datelike;
use todo_core::{ListQuery, Owner, Position, Sort, SortField, SortValue, Timestamp, TodoFilter};

/// The columns every todo query returns, in the order stores read them.
pub const TODO_COLUMNS: &str =
    "id, title, description, priority, due_date, completed, created_at, updated_at, version";

/// The SQL dialect a statement is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    Bool(bool),
    SmallInt(i16),
    BigInt(i64),
    Time(Timestamp),
    Text(String),
}

/// SQL text and the values of its numbered placeholders, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<SqlParam>,
}

struct Builder {
    dialect: Dialect,
    params: Vec<SqlParam>,
    /// Whether a cursor's position is hidden from PostgreSQL's planner.
    hide_positions: bool,
    /// Whether `completed`, `priority` and `min_priority` are written into
    /// the text (PostgreSQL: see `Builder::enumerated`).
    write_enumerated: bool,
    /// Whether due-date bounds are written into the text.
    write_dates: bool,
}

impl Builder {
    fn new(dialect: Dialect) -> Self {
        Builder {
            dialect,
            params: Vec::new(),
            hide_positions: dialect == Dialect::Postgres,
            write_enumerated: dialect == Dialect::Postgres,
            write_dates: false,
        }
    }

    /// A filter value of a few possible ones (a boolean, a priority 1–5),
    /// written into the text on PostgreSQL, else bound. Bound, PostgreSQL
    /// estimated `priority >= $2` at a third of the owner's rows where the
    /// value says two fifths, found its generic plan dearer than the plan
    /// for the values, and planned every execution anew: half the rate of
    /// the same query written by hand for a user among a thousand
    /// (BENCHMARKS.md). Written in, the statement has one plan per value,
    /// made once; the values are validated, so the statements a client can
    /// cause are few (two booleans, five priorities).
    fn enumerated(&mut self, param: SqlParam) -> String {
        match param {
            SqlParam::Bool(value) if self.write_enumerated => value.to_string(),
            SqlParam::SmallInt(value) if self.write_enumerated => value.to_string(),
            param => self.bind(param),
        }
    }

    /// A due-date bound: bound, or, when dates are written in, a timestamp
    /// literal made from the parsed value (never text from the request).
    fn due_bound(&mut self, at: Timestamp) -> String {
        if self.write_dates {
            timestamp_literal(at)
        } else {
            self.bind(SqlParam::Time(at))
        }
    }

    /// Binds a cursor's position value. On PostgreSQL it is read through a
    /// subquery, `(select $n::type)`, which the planner sees as a value
    /// known only when the statement runs: a keyset page's plan (walk the
    /// sort's index from the position) is the same whatever the position,
    /// but with the value visible PostgreSQL compared a plan for it with
    /// the generic one, found the generic one dearer for a position early
    /// in the walk, and planned every execution anew (half the rate of the
    /// same query written by hand). Hidden, both estimates are the same and
    /// the generic plan is kept (BENCHMARKS.md, "Listings").
    fn bind_position(&mut self, param: SqlParam) -> String {
        let cast = match &param {
            SqlParam::Bool(_) => "boolean",
            SqlParam::SmallInt(_) => "smallint",
            SqlParam::BigInt(_) => "bigint",
            SqlParam::Time(_) => "timestamptz",
            SqlParam::Text(_) => "text",
        };
        let placeholder = self.bind(param);
        if self.hide_positions {
            format!("(select {placeholder}::{cast})")
        } else {
            placeholder
        }
    }

    /// Binds a value and returns its placeholder.
    fn bind(&mut self, param: SqlParam) -> String {
        self.params.push(param);
        match self.dialect {
            Dialect::Postgres => format!("${}", self.params.len()),
            Dialect::Sqlite => format!("?{}", self.params.len()),
        }
    }

    /// The owner's condition, then one per filter that is set.
    fn filter_conditions(&mut self, owner: Owner, filter: &TodoFilter) -> Vec<String> {
        let placeholder = self.bind(SqlParam::BigInt(owner.id()));
        // The trigram index leads with the owner, so a user's search reads
        // that user's trigrams only. The anonymous user, though, owns every
        // todo in open mode: its part of that index is the whole table,
        // which each search would intersect (four times slower than without
        // it on a million rows). Compared as an `integer`, which the
        // trigram index cannot take, the owner is checked on the rows found
        // instead; the other indexes take it all the same.
        let anonymous_search = self.dialect == Dialect::Postgres
            && filter.title_contains.is_some()
            && owner == Owner::ANONYMOUS;
        let mut conditions = vec![if anonymous_search {
            format!("owner = ({placeholder}::bigint)::integer")
        } else {
            format!("owner = {placeholder}")
        }];
        if let Some(completed) = filter.completed {
            conditions.push(format!(
                "completed = {}",
                self.enumerated(SqlParam::Bool(completed))
            ));
        }
        if let Some(priority) = filter.priority {
            conditions.push(format!(
                "priority = {}",
                self.enumerated(SqlParam::SmallInt(priority.get()))
            ));
        }
        if let Some(priority) = filter.min_priority {
            conditions.push(format!(
                "priority >= {}",
                self.enumerated(SqlParam::SmallInt(priority.get()))
            ));
        }
        if let Some(at) = filter.due_before {
            conditions.push(format!("due_date < {}", self.due_bound(at)));
        }
        if let Some(at) = filter.due_after {
            conditions.push(format!("due_date >= {}", self.due_bound(at)));
        }
        if let Some(text) = &filter.title_contains {
            conditions.push(match self.dialect {
                // LIKE, so the trigram index serves it; the pattern's own
                // wildcards are escaped so they match themselves.
                Dialect::Postgres => {
                    let pattern = format!("%{}%", escape_like(text));
                    format!(
                        r"title_search like {} escape '\'",
                        self.bind(SqlParam::Text(pattern))
                    )
                }
                Dialect::Sqlite => format!(
                    "instr(title_search, {}) > 0",
                    self.bind(SqlParam::Text(text.clone()))
                ),
            });
        }
        conditions
    }

    /// `limit N`, with the page size written into the text, and an offset
    /// only when there is one, bound. The page size is a validated integer
    /// (at most `MAX_LIMIT + 1`), never text from the request. PostgreSQL
    /// plans a prepared `limit $n` as if it could be any number, which
    /// makes its generic plan look dear, so it planned every execution
    /// anew; with the number in the text the generic plan is chosen and
    /// kept (docs/query-plans.md, BENCHMARKS.md).
    fn paging(&mut self, fetch: i64, offset: u64) -> String {
        if offset == 0 {
            format!(" limit {fetch}")
        } else {
            let offset = self.bind(SqlParam::BigInt(offset as i64));
            format!(" limit {fetch} offset {offset}")
        }
    }

    /// A due-date branch's row count: written in without an offset (the
    /// page size), bound with one (the offset is not bounded).
    fn branch_limit(&mut self, rows: i64, offset: u64) -> String {
        if offset == 0 {
            rows.to_string()
        } else {
            self.bind(SqlParam::BigInt(rows))
        }
    }

    fn finish(self, sql: String) -> Statement {
        Statement {
            sql,
            params: self.params,
        }
    }
}

/// `at` as a PostgreSQL `timestamptz` literal, to the microsecond. chrono
/// counts years as astronomers do (year 0 is 1 BC), PostgreSQL as
/// historians do (no year 0): a year before 1 is written `BC`, as the
/// binary form of a bound value would carry it.
fn timestamp_literal(at: Timestamp) -> String {
    let year = at.year();
    let rest = at.format("%m-%d %H:%M:%S%.6f+00");
    if year >= 1 {
        format!("'{year:04}-{rest}'::timestamptz")
    } else {
        format!("'{:04}-{rest} BC'::timestamptz", 1 - year)
    }
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    for ch in text.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(ch);
    }
    escaped
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" where {}", conditions.join(" and "))
    }
}

fn direction(sort: Sort) -> (&'static str, &'static str) {
    if sort.descending {
        ("desc", "<")
    } else {
        ("asc", ">")
    }
}

/// The statement of one page of `owner`'s listing, fetching
/// [`ListQuery::rows_to_fetch`] rows.
pub fn list_statement(owner: Owner, query: &ListQuery, dialect: Dialect) -> Statement {
    list_with(Builder::new(dialect), owner, query)
}

/// The same listing with a cursor's position compared as it is, as a
/// client writing the query by hand would: the benchmark's reference.
pub fn list_statement_as_written(owner: Owner, query: &ListQuery, dialect: Dialect) -> Statement {
    let mut builder = Builder::new(dialect);
    builder.hide_positions = false;
    list_with(builder, owner, query)
}

/// The same listing with its due-date bounds (`due_before`, `due_after`)
/// written into the text as timestamp literals, so that PostgreSQL plans
/// the statement for those dates once. Bound, a bound's generic plan
/// assumes it keeps a third of the rows (a range: a narrow slice) and
/// walks the wrong index, at half the rate of the plan for the dates, and
/// planned anew for them every time it costs as much again
/// (docs/query-plans.md). Each date is a statement of its own: the store
/// keeps these only while its statement cache has room.
pub fn list_statement_with_dates_written(
    owner: Owner,
    query: &ListQuery,
    dialect: Dialect,
) -> Statement {
    let mut builder = Builder::new(dialect);
    builder.write_dates = true;
    list_with(builder, owner, query)
}

fn list_with(mut builder: Builder, owner: Owner, query: &ListQuery) -> Statement {
    let conditions = builder.filter_conditions(owner, &query.filter);
    let fetch = i64::from(query.rows_to_fetch());
    if query.sort.field == SortField::DueDate {
        return due_date_list(builder, conditions, query, fetch);
    }
    let (order, after) = direction(query.sort);
    let mut conditions = conditions;
    let column = match query.sort.field {
        SortField::CreatedAt => Some("created_at"),
        SortField::Priority => Some("priority"),
        SortField::Id | SortField::DueDate => None,
    };
    if let Some(position) = &query.after {
        let id = builder.bind_position(SqlParam::BigInt(position.id));
        conditions.push(match (column, sort_param(position)) {
            (Some(column), Some(value)) => {
                let value = builder.bind_position(value);
                format!("({column}, id) {after} ({value}, {id})")
            }
            _ => format!("id {after} {id}"),
        });
    }
    let order_by = match column {
        Some(column) => format!("{column} {order}, id {order}"),
        None => format!("id {order}"),
    };
    let paging = builder.paging(fetch, query.offset);
    let sql = format!(
        "select {TODO_COLUMNS} from todos{} order by {order_by}{paging}",
        where_clause(&conditions)
    );
    builder.finish(sql)
}

fn sort_param(position: &Position) -> Option<SqlParam> {
    match position.value {
        SortValue::CreatedAt(at) => Some(SqlParam::Time(at)),
        SortValue::Priority(priority) => Some(SqlParam::SmallInt(priority)),
        SortValue::DueDate(at) => at.map(SqlParam::Time),
        SortValue::Id => None,
    }
}

/// Todos without a due date sort last in both directions, which one index
/// scan cannot give for the descending order. So the listing is two index
/// range scans, dated todos then undated ones, each cut to the page size.
fn due_date_list(
    mut builder: Builder,
    conditions: Vec<String>,
    query: &ListQuery,
    fetch: i64,
) -> Statement {
    let (order, after) = direction(query.sort);
    // Each branch fetches the rows of the offset too: written in when there
    // is none (the page size alone), else bound.
    let branch_limit = fetch.saturating_add(query.offset as i64);
    let mut branches = Vec::new();
    let after_undated = matches!(
        query.after,
        Some(Position {
            value: SortValue::DueDate(None),
            ..
        })
    );
    if !after_undated {
        let mut dated = conditions.clone();
        dated.push("due_date is not null".into());
        if let Some(Position {
            value: SortValue::DueDate(Some(at)),
            id,
        }) = query.after
        {
            let at = builder.bind_position(SqlParam::Time(at));
            let id = builder.bind_position(SqlParam::BigInt(id));
            dated.push(format!("(due_date, id) {after} ({at}, {id})"));
        }
        let limit = builder.branch_limit(branch_limit, query.offset);
        branches.push(format!(
            "select * from (select {TODO_COLUMNS}, 0 as part from todos{} order by due_date {order}, id {order} limit {limit}) as dated",
            where_clause(&dated)
        ));
    }
    // A due-date filter matches no undated todo; without this the undated
    // branch would walk every undated row in search of one.
    let filters_due_date = query.filter.due_before.is_some() || query.filter.due_after.is_some();
    if filters_due_date {
        if branches.is_empty() {
            let sql = format!("select {TODO_COLUMNS} from todos where false");
            return builder.finish(sql);
        }
        return finish_due_date_list(builder, branches, order, fetch, query.offset);
    }
    let mut undated = conditions;
    undated.push("due_date is null".into());
    if let Some(Position {
        value: SortValue::DueDate(None),
        id,
    }) = query.after
    {
        let id = builder.bind_position(SqlParam::BigInt(id));
        undated.push(format!("id {after} {id}"));
    }
    let limit = builder.branch_limit(branch_limit, query.offset);
    branches.push(format!(
        "select * from (select {TODO_COLUMNS}, 1 as part from todos{} order by id {order} limit {limit}) as undated",
        where_clause(&undated)
    ));
    finish_due_date_list(builder, branches, order, fetch, query.offset)
}

/// Puts the due-date branches together, dated first, and cuts the page.
fn finish_due_date_list(
    mut builder: Builder,
    branches: Vec<String>,
    order: &str,
    fetch: i64,
    offset: u64,
) -> Statement {
    let paging = builder.paging(fetch, offset);
    let sql = format!(
        "select {TODO_COLUMNS} from ({}) as page order by part, due_date {order}, id {order}{paging}",
        branches.join(" union all ")
    );
    builder.finish(sql)
}

/// The statement of `DELETE /api/todo?FILTERS` by `owner`.
pub fn delete_matching_statement(owner: Owner, filter: &TodoFilter, dialect: Dialect) -> Statement {
    let mut builder = Builder::new(dialect);
    let conditions = builder.filter_conditions(owner, filter);
    let sql = format!("delete from todos{}", where_clause(&conditions));
    builder.finish(sql)
}

#[cfg(test)]
mod tests {
    use todo_core::Priority;

    use super::*;

    const OWNER: Owner = Owner::from_id(7);

    #[test]
    fn the_default_listing_is_newest_first_with_its_page_size_written_in() {
        let statement = list_statement(OWNER, &ListQuery::default(), Dialect::Postgres);
        assert_eq!(
            statement.sql,
            format!(
                "select {TODO_COLUMNS} from todos where owner = $1 order by created_at desc, id desc limit 101"
            )
        );
        assert_eq!(statement.params, vec![SqlParam::BigInt(7)]);
        let offset = ListQuery {
            offset: 40,
            ..ListQuery::default()
        };
        let statement = list_statement(OWNER, &offset, Dialect::Postgres);
        assert!(
            statement.sql.ends_with("limit 101 offset $2"),
            "{}",
            statement.sql
        );
        assert_eq!(statement.params[1], SqlParam::BigInt(40));
    }

    #[test]
    fn filters_and_a_cursor_become_bound_conditions() {
        let query = ListQuery {
            filter: TodoFilter {
                priority: Priority::new(2),
                title_contains: Some("50%_off\\".into()),
                ..TodoFilter::default()
            },
            sort: Sort {
                field: SortField::Priority,
                descending: false,
            },
            after: Some(Position {
                value: SortValue::Priority(2),
                id: 9,
            }),
            ..ListQuery::default()
        };
        let statement = list_statement(OWNER, &query, Dialect::Sqlite);
        assert_eq!(
            statement.sql,
            format!(
                "select {TODO_COLUMNS} from todos where owner = ?1 and priority = ?2 \
                 and instr(title_search, ?3) > 0 and (priority, id) > (?5, ?4) \
                 order by priority asc, id asc limit 101"
            )
        );
        let statement = list_statement(OWNER, &query, Dialect::Postgres);
        // The priority is written in there, so the pattern comes second.
        assert_eq!(statement.params[1], SqlParam::Text(r"%50\%\_off\\%".into()));
    }

    #[test]
    fn a_cursor_position_is_hidden_from_postgres_planner_but_not_when_written_by_hand() {
        let query = ListQuery {
            after: Some(Position {
                value: SortValue::CreatedAt(todo_core::parse_timestamp("2026-01-15").unwrap()),
                id: 9,
            }),
            ..ListQuery::default()
        };
        let statement = list_statement(OWNER, &query, Dialect::Postgres);
        assert!(
            statement
                .sql
                .contains("(created_at, id) < ((select $3::timestamptz), (select $2::bigint))"),
            "{}",
            statement.sql
        );
        let written = list_statement_as_written(OWNER, &query, Dialect::Postgres);
        assert!(
            written.sql.contains("(created_at, id) < ($3, $2)"),
            "{}",
            written.sql
        );
        assert_eq!(written.params, statement.params);
        let sqlite = list_statement(OWNER, &query, Dialect::Sqlite);
        assert!(
            sqlite.sql.contains("(created_at, id) < (?3, ?2)"),
            "{}",
            sqlite.sql
        );
    }

    #[test]
    fn a_due_date_walk_past_the_dated_todos_reads_only_undated_ones() {
        let query = ListQuery {
            sort: Sort {
                field: SortField::DueDate,
                descending: true,
            },
            after: Some(Position {
                value: SortValue::DueDate(None),
                id: 5,
            }),
            ..ListQuery::default()
        };
        let statement = list_statement(OWNER, &query, Dialect::Postgres);
        assert!(!statement.sql.contains("is not null"), "{}", statement.sql);
        assert!(
            statement
                .sql
                .contains("owner = $1 and due_date is null and id < (select $2::bigint)"),
            "{}",
            statement.sql
        );
    }

    #[test]
    fn a_due_date_filter_leaves_out_the_undated_branch() {
        let query = ListQuery {
            filter: TodoFilter {
                due_before: todo_core::parse_timestamp("2026-01-15"),
                ..TodoFilter::default()
            },
            sort: Sort {
                field: SortField::DueDate,
                descending: false,
            },
            ..ListQuery::default()
        };
        let statement = list_statement(OWNER, &query, Dialect::Postgres);
        assert!(
            !statement.sql.contains("due_date is null"),
            "{}",
            statement.sql
        );
        assert!(statement.sql.contains("due_date < $2"), "{}", statement.sql);
    }

    #[test]
    fn postgres_gets_the_few_valued_filters_written_in_and_the_dates_when_asked() {
        let query = ListQuery {
            filter: TodoFilter {
                completed: Some(false),
                min_priority: Some(Priority::new(4).unwrap()),
                due_before: todo_core::parse_timestamp("2025-09-01T12:30:00.25+02:00"),
                due_after: todo_core::parse_timestamp("2025-06-01"),
                ..TodoFilter::default()
            },
            ..ListQuery::default()
        };
        let bound = list_statement(OWNER, &query, Dialect::Postgres);
        assert!(
            bound.sql.contains(
                "owner = $1 and completed = false and priority >= 4 and \
                 due_date < $2 and due_date >= $3"
            ),
            "{}",
            bound.sql
        );
        let written = list_statement_with_dates_written(OWNER, &query, Dialect::Postgres);
        assert!(
            written.sql.contains(
                "due_date < '2025-09-01 10:30:00.250000+00'::timestamptz and \
                 due_date >= '2025-06-01 00:00:00.000000+00'::timestamptz"
            ),
            "{}",
            written.sql
        );
        // PostgreSQL has no year 0: chrono's year 0 is its 1 BC.
        let year_zero = todo_core::parse_timestamp("0000-03-01T10:00:00Z").unwrap();
        assert_eq!(
            timestamp_literal(year_zero),
            "'0001-03-01 10:00:00.000000+00 BC'::timestamptz"
        );
        // Only the owner is left bound.
        assert_eq!(written.params, vec![SqlParam::BigInt(OWNER.id())]);
        // SQLite binds them all: its plan does not depend on the values.
        let sqlite = list_statement(OWNER, &query, Dialect::Sqlite);
        assert!(
            sqlite.sql.contains("completed = ?2 and priority >= ?3"),
            "{}",
            sqlite.sql
        );
        assert_eq!(sqlite.params.len(), 5);
    }

    #[test]
    fn the_anonymous_users_search_leaves_the_owner_out_of_the_trigram_index() {
        let query = ListQuery {
            filter: TodoFilter {
                title_contains: Some("milk".into()),
                ..TodoFilter::default()
            },
            ..ListQuery::default()
        };
        let anonymous = list_statement(Owner::ANONYMOUS, &query, Dialect::Postgres);
        assert!(
            anonymous
                .sql
                .contains("where owner = ($1::bigint)::integer and title_search like $2"),
            "{}",
            anonymous.sql
        );
        assert_eq!(anonymous.params[0], SqlParam::BigInt(1));
        let user = list_statement(OWNER, &query, Dialect::Postgres);
        assert!(user.sql.contains("where owner = $1 and"), "{}", user.sql);
        let listing = list_statement(Owner::ANONYMOUS, &ListQuery::default(), Dialect::Postgres);
        assert!(
            listing.sql.contains("where owner = $1 order"),
            "{}",
            listing.sql
        );
    }

    #[test]
    fn a_delete_by_filter_has_a_where_clause() {
        let filter = TodoFilter {
            completed: Some(true),
            ..TodoFilter::default()
        };
        let statement = delete_matching_statement(OWNER, &filter, Dialect::Postgres);
        assert_eq!(
            statement.sql,
            "delete from todos where owner = $1 and completed = true"
        );
    }
}

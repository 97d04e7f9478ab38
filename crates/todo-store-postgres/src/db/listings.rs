//! Listings: one alone (`select_listing`), or many at once
//! (`select_listings`, for the group queue of `groups.rs`), where the
//! listings of one shape share one statement.

use futures::future::join_all;
use todo_core::{ListQuery, Owner, StoreError, Todo};
use todo_listing_sql::{SqlParam, Statement};

use super::Db;
use crate::error::from_pg;
use crate::listing::{Sent, grouped_listing_sql, listing};
use crate::params::{Param, as_typed, bind, bind_column};
use crate::row::{TODO_COLUMN_COUNT, todo_from_row, todos_from_rows};
use crate::shared::Standalone;
use crate::statement_mode::StatementMode;

/// Most statements a connection keeps prepared. Each listing shape and
/// page size is a statement of its own (twice: alone and grouped), and a
/// client can ask for thousands (filters × sorts × 1,000 page sizes); past
/// this many the connection's cache is emptied and fills again with the
/// statements in use, so neither the service nor a PostgreSQL backend holds
/// an unbounded number.
const MAX_PREPARED: usize = 200;

/// A listing with its due dates written in is prepared only while the
/// connection keeps fewer statements than this, so that a client asking
/// for new dates every time fills the cache no further and never has it
/// emptied (which would make every other statement be prepared again):
/// past it, such listings are sent bound and planned for their values
/// each time.
const MAX_PREPARED_WITH_DATES: usize = 150;

/// The listings of one statement text asked for in one group: which of the
/// group's listings they are, and each one's values.
struct Shape {
    sql: String,
    mode: StatementMode,
    members: Vec<usize>,
    values: Vec<Vec<SqlParam>>,
}

/// What one statement of a group answered: for each of its listings (by
/// place in the group), its rows, or the statement's error.
pub(crate) type ShapeAnswer = (Vec<usize>, Result<Vec<Vec<Todo>>, StoreError>);

impl Db {
    /// The rows of `owner`'s listing `query`, its statement chosen and
    /// sent as `listing::listing` says (one with dates written in goes bound
    /// and unnamed once the cache holds `MAX_PREPARED_WITH_DATES`, even if
    /// it was prepared before: the cache cannot be asked what it holds).
    pub(crate) async fn select_listing(
        &self,
        owner: Owner,
        query: &ListQuery,
    ) -> Result<Vec<Todo>, StoreError> {
        let client = self.standalone().await?;
        let room_for_dates = self.room_for_dates(&client);
        let (statement, sent) = listing(owner, query, room_for_dates);
        let mode = self.mode_for(sent);
        self.make_room(&client, mode);
        run_alone(&client, mode, statement).await
    }

    /// The rows of many listings, pipelined on one connection. Those whose
    /// statement would be the same text (same filters, sort and page size;
    /// owners and cursor positions differ) share one statement that runs
    /// the listing for each one's values (`listing::grouped_listing_sql`):
    /// one message, one execution and one answer for many, as a group of
    /// reads by id shares one `id = any(…)`. A statement sent unnamed
    /// (planned for its values) or asked for once runs alone.
    pub(crate) async fn select_listings(
        &self,
        wanted: &[(Owner, ListQuery)],
    ) -> Result<Vec<ShapeAnswer>, StoreError> {
        let client = self.standalone().await?;
        let room_for_dates = self.room_for_dates(&client);
        let mut shapes: Vec<Shape> = Vec::new();
        for (index, (owner, query)) in wanted.iter().enumerate() {
            let (statement, sent) = listing(*owner, query, room_for_dates);
            let mode = self.mode_for(sent);
            let shared = (sent == Sent::Prepared)
                .then(|| shapes.iter_mut().find(|shape| shape.sql == statement.sql))
                .flatten();
            match shared {
                Some(shape) => {
                    shape.members.push(index);
                    shape.values.push(statement.params);
                }
                None => shapes.push(Shape {
                    sql: statement.sql,
                    mode,
                    members: vec![index],
                    values: vec![statement.params],
                }),
            }
        }
        if shapes
            .iter()
            .any(|shape| shape.mode == StatementMode::Cached)
        {
            self.make_room(&client, StatementMode::Cached);
        }
        let client = &client;
        Ok(join_all(shapes.into_iter().map(|shape| async move {
            let answer = run_shape(client, &shape).await;
            (shape.members, answer)
        }))
        .await)
    }

    fn room_for_dates(&self, client: &Standalone) -> bool {
        self.statements == StatementMode::Cached
            && client.statement_cache.size() < MAX_PREPARED_WITH_DATES
    }

    fn mode_for(&self, sent: Sent) -> StatementMode {
        match sent {
            Sent::Prepared => self.statements,
            Sent::Unnamed => StatementMode::Unnamed,
        }
    }

    /// Empties the connection's statement cache when a statement about to
    /// be prepared would take it past `MAX_PREPARED`. Dropped statements
    /// are closed on the server; the ones in use are prepared again at
    /// their next call.
    fn make_room(&self, client: &Standalone, mode: StatementMode) {
        if mode == StatementMode::Cached && client.statement_cache.size() >= MAX_PREPARED {
            client.statement_cache.clear();
        }
    }
}

async fn run_alone(
    client: &Standalone,
    mode: StatementMode,
    statement: Statement,
) -> Result<Vec<Todo>, StoreError> {
    let params: Vec<Param> = statement.params.into_iter().map(bind).collect();
    let rows = mode
        .query(client, &statement.sql, &as_typed(&params))
        .await
        .map_err(from_pg)?;
    todos_from_rows(&rows)
}

/// Runs one shape's listings: alone when there is one, else together.
async fn run_shape(client: &Standalone, shape: &Shape) -> Result<Vec<Vec<Todo>>, StoreError> {
    if let [values] = shape.values.as_slice() {
        let statement = Statement {
            sql: shape.sql.clone(),
            params: values.clone(),
        };
        return Ok(vec![run_alone(client, shape.mode, statement).await?]);
    }
    let count = shape.values.len();
    let mut columns = Vec::new();
    let mut types = Vec::new();
    for position in 0..shape.values[0].len() {
        let values = shape.values.iter().map(|values| values[position].clone());
        let Some((column, sql_type)) = bind_column(values) else {
            // One text binds one type at each place; should two listings of
            // a text ever differ, each runs alone.
            return run_each(client, shape).await;
        };
        columns.push(column);
        types.push(sql_type);
    }
    let sql = grouped_listing_sql(&shape.sql, &types);
    let rows = shape
        .mode
        .query(client, &sql, &as_typed(&columns))
        .await
        .map_err(from_pg)?;
    let mut pages: Vec<Vec<Todo>> = vec![Vec::new(); count];
    for row in &rows {
        // The listing's place among the shape's (1-based), after its
        // todo's columns; each listing's rows come in its own order.
        let place: i64 = row.try_get(TODO_COLUMN_COUNT).map_err(from_pg)?;
        let page = usize::try_from(place - 1)
            .ok()
            .and_then(|index| pages.get_mut(index))
            .ok_or_else(|| {
                StoreError::internal(std::io::Error::other(
                    "a grouped listing answered for no listing",
                ))
            })?;
        page.push(todo_from_row(row)?);
    }
    Ok(pages)
}

/// A shape's listings one by one, pipelined.
async fn run_each(client: &Standalone, shape: &Shape) -> Result<Vec<Vec<Todo>>, StoreError> {
    let runs = shape.values.iter().map(|values| {
        let statement = Statement {
            sql: shape.sql.clone(),
            params: values.clone(),
        };
        run_alone(client, shape.mode, statement)
    });
    join_all(runs).await.into_iter().collect()
}

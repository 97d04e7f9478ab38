//! Values bound to the store's statements: the shared crate's
//! [`SqlParam`]s, a patch as the parameters of the update statement, and
//! an `If-Match` condition as a flag and a version list.

use todo_core::{Expected, NewTodo, Owner, Timestamp, TodoPatch};
use todo_listing_sql::SqlParam;
use tokio_postgres::types::{ToSql, Type};

/// A bound value and its type; `Send` so a store future holding it stays
/// `Send`.
pub(crate) type Param = (Box<dyn ToSql + Sync + Send>, Type);

/// The driver value of a shared-SQL parameter.
pub(crate) fn bind(param: SqlParam) -> Param {
    match param {
        SqlParam::Bool(value) => (Box::new(value), Type::BOOL),
        SqlParam::SmallInt(value) => (Box::new(value), Type::INT2),
        SqlParam::BigInt(value) => (Box::new(value), Type::INT8),
        SqlParam::Time(value) => (Box::new(value), Type::TIMESTAMPTZ),
        SqlParam::Text(value) => (Box::new(value), Type::TEXT),
    }
}

/// The values of one placeholder in several listings of one shape, as one
/// array, and the array's element type as SQL names it; `None` when the
/// values are not all of one type.
pub(crate) fn bind_column(values: impl Iterator<Item = SqlParam>) -> Option<(Param, &'static str)> {
    let mut values = values.peekable();
    match values.peek()? {
        SqlParam::Bool(_) => array(values, Type::BOOL_ARRAY, "boolean", |value| match value {
            SqlParam::Bool(value) => Some(value),
            _ => None,
        }),
        SqlParam::SmallInt(_) => array(values, Type::INT2_ARRAY, "smallint", |value| match value {
            SqlParam::SmallInt(value) => Some(value),
            _ => None,
        }),
        SqlParam::BigInt(_) => array(values, Type::INT8_ARRAY, "bigint", |value| match value {
            SqlParam::BigInt(value) => Some(value),
            _ => None,
        }),
        SqlParam::Time(_) => {
            array(
                values,
                Type::TIMESTAMPTZ_ARRAY,
                "timestamptz",
                |value| match value {
                    SqlParam::Time(value) => Some(value),
                    _ => None,
                },
            )
        }
        SqlParam::Text(_) => array(values, Type::TEXT_ARRAY, "text", |value| match value {
            SqlParam::Text(value) => Some(value),
            _ => None,
        }),
    }
}

/// `values` as one array parameter, when `element` takes each of them.
fn array<T: ToSql + Sync + Send + 'static>(
    values: impl Iterator<Item = SqlParam>,
    kind: Type,
    name: &'static str,
    element: impl Fn(SqlParam) -> Option<T>,
) -> Option<(Param, &'static str)> {
    let elements: Vec<T> = values.map(element).collect::<Option<_>>()?;
    Some(((Box::new(elements), kind), name))
}

/// Borrows bound values as the driver's parameter slice wants them.
pub(crate) fn as_typed(params: &[Param]) -> Vec<(&(dyn ToSql + Sync), Type)> {
    params
        .iter()
        .map(|(value, kind)| (value.as_ref() as &(dyn ToSql + Sync), kind.clone()))
        .collect()
}

/// A version condition: whether any version will do, else which ones.
#[derive(Debug)]
pub(crate) struct VersionCheck {
    pub(crate) any: bool,
    pub(crate) versions: Vec<i64>,
}

impl VersionCheck {
    /// Exactly `version`, or any when `None`.
    pub(crate) fn exactly(version: Option<i64>) -> Self {
        VersionCheck {
            any: version.is_none(),
            versions: version.into_iter().collect(),
        }
    }

    pub(crate) fn new(expected: Option<&Expected>) -> Self {
        match expected {
            // Without `If-Match` the last write wins; `*` only needs the
            // todo to exist, which the `id` condition checks already.
            None | Some(Expected::Any) => VersionCheck {
                any: true,
                versions: Vec::new(),
            },
            Some(Expected::Versions(versions)) => VersionCheck {
                any: false,
                versions: versions.clone(),
            },
        }
    }
}

/// The values of [`crate::statements::INSERT`].
#[derive(Debug)]
pub(crate) struct InsertParams {
    title: String,
    title_search: String,
    description: Option<String>,
    priority: i16,
    due_date: Option<Timestamp>,
    completed: bool,
    owner: i64,
}

impl InsertParams {
    pub(crate) fn new(owner: Owner, todo: NewTodo) -> Self {
        InsertParams {
            owner: owner.id(),
            title_search: todo.title.search_key(),
            title: todo.title.into_inner(),
            description: todo.description.map(|text| text.into_inner()),
            priority: todo.priority.get(),
            due_date: todo.due_date,
            completed: todo.completed,
        }
    }

    pub(crate) fn as_typed(&self) -> [(&(dyn ToSql + Sync), Type); 7] {
        [
            (&self.title, Type::TEXT),
            (&self.title_search, Type::TEXT),
            (&self.description, Type::TEXT),
            (&self.priority, Type::INT2),
            (&self.due_date, Type::TIMESTAMPTZ),
            (&self.completed, Type::BOOL),
            (&self.owner, Type::INT8),
        ]
    }
}

/// The arrays of [`crate::statements::INSERT_MANY`], one element per todo.
#[derive(Debug, Default)]
pub(crate) struct InsertManyParams {
    titles: Vec<String>,
    title_searches: Vec<String>,
    descriptions: Vec<Option<String>>,
    priorities: Vec<i16>,
    due_dates: Vec<Option<Timestamp>>,
    completed: Vec<bool>,
    owners: Vec<i64>,
}

impl InsertManyParams {
    /// The arrays of `todos`, each with its owner.
    pub(crate) fn new(todos: impl IntoIterator<Item = (Owner, NewTodo)>) -> Self {
        let mut params = InsertManyParams::default();
        for (owner, todo) in todos {
            let one = InsertParams::new(owner, todo);
            params.titles.push(one.title);
            params.title_searches.push(one.title_search);
            params.descriptions.push(one.description);
            params.priorities.push(one.priority);
            params.due_dates.push(one.due_date);
            params.completed.push(one.completed);
            params.owners.push(one.owner);
        }
        params
    }

    pub(crate) fn as_typed(&self) -> [(&(dyn ToSql + Sync), Type); 7] {
        [
            (&self.titles, Type::TEXT_ARRAY),
            (&self.title_searches, Type::TEXT_ARRAY),
            (&self.descriptions, Type::TEXT_ARRAY),
            (&self.priorities, Type::INT2_ARRAY),
            (&self.due_dates, Type::TIMESTAMPTZ_ARRAY),
            (&self.completed, Type::BOOL_ARRAY),
            (&self.owners, Type::INT8_ARRAY),
        ]
    }
}

/// The arrays of [`crate::statements::UPDATE_MANY`], one element per todo, in id
/// order; `expected` is the version each must be at, `None` for any.
#[derive(Debug, Default)]
pub(crate) struct UpdateManyParams {
    ids: Vec<i64>,
    titles: Vec<Option<String>>,
    title_searches: Vec<Option<String>>,
    set_descriptions: Vec<bool>,
    descriptions: Vec<Option<String>>,
    priorities: Vec<Option<i16>>,
    set_due_dates: Vec<bool>,
    due_dates: Vec<Option<Timestamp>>,
    completed: Vec<Option<bool>>,
    expected: Vec<Option<i64>>,
    owners: Vec<i64>,
}

/// One update of [`UpdateManyParams`]: its owner, its todo, its patch and
/// the version the todo must be at (`None`: any).
pub(crate) type OneOfMany<'a> = (Owner, i64, &'a TodoPatch, Option<i64>);

impl UpdateManyParams {
    pub(crate) fn new<'a>(updates: impl IntoIterator<Item = OneOfMany<'a>>) -> Self {
        let mut updates: Vec<_> = updates.into_iter().collect();
        updates.sort_by_key(|(_, id, _, _)| *id);
        let mut params = UpdateManyParams::default();
        for (owner, id, patch, expected) in updates {
            let one = UpdateParams::new(owner, id, patch.clone(), VersionCheck::new(None));
            params.ids.push(one.id);
            params.titles.push(one.title);
            params.title_searches.push(one.title_search);
            params.set_descriptions.push(one.set_description);
            params.descriptions.push(one.description);
            params.priorities.push(one.priority);
            params.set_due_dates.push(one.set_due_date);
            params.due_dates.push(one.due_date);
            params.completed.push(one.completed);
            params.expected.push(expected);
            params.owners.push(one.owner);
        }
        params
    }

    pub(crate) fn as_typed(&self) -> [(&(dyn ToSql + Sync), Type); 11] {
        [
            (&self.ids, Type::INT8_ARRAY),
            (&self.titles, Type::TEXT_ARRAY),
            (&self.title_searches, Type::TEXT_ARRAY),
            (&self.set_descriptions, Type::BOOL_ARRAY),
            (&self.descriptions, Type::TEXT_ARRAY),
            (&self.priorities, Type::INT2_ARRAY),
            (&self.set_due_dates, Type::BOOL_ARRAY),
            (&self.due_dates, Type::TIMESTAMPTZ_ARRAY),
            (&self.completed, Type::BOOL_ARRAY),
            (&self.expected, Type::INT8_ARRAY),
            (&self.owners, Type::INT8_ARRAY),
        ]
    }
}

/// The values of [`crate::statements::UPDATE`].
#[derive(Debug)]
pub(crate) struct UpdateParams {
    id: i64,
    title: Option<String>,
    title_search: Option<String>,
    set_description: bool,
    description: Option<String>,
    priority: Option<i16>,
    set_due_date: bool,
    due_date: Option<Timestamp>,
    completed: Option<bool>,
    check: VersionCheck,
    owner: i64,
}

impl UpdateParams {
    pub(crate) fn new(owner: Owner, id: i64, patch: TodoPatch, check: VersionCheck) -> Self {
        UpdateParams {
            owner: owner.id(),
            id,
            title_search: patch.title.as_ref().map(|title| title.search_key()),
            title: patch.title.map(|title| title.into_inner()),
            set_description: patch.description.is_some(),
            description: patch.description.flatten().map(|text| text.into_inner()),
            priority: patch.priority.map(|priority| priority.get()),
            set_due_date: patch.due_date.is_some(),
            due_date: patch.due_date.flatten(),
            completed: patch.completed,
            check,
        }
    }

    pub(crate) fn as_typed(&self) -> [(&(dyn ToSql + Sync), Type); 12] {
        [
            (&self.id, Type::INT8),
            (&self.title, Type::TEXT),
            (&self.title_search, Type::TEXT),
            (&self.set_description, Type::BOOL),
            (&self.description, Type::TEXT),
            (&self.priority, Type::INT2),
            (&self.set_due_date, Type::BOOL),
            (&self.due_date, Type::TIMESTAMPTZ),
            (&self.completed, Type::BOOL),
            (&self.check.any, Type::BOOL),
            (&self.check.versions, Type::INT8_ARRAY),
            (&self.owner, Type::INT8),
        ]
    }
}

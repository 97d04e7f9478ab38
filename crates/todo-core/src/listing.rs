//! The listing's query parameters: filters, sort, limit, offset and cursor
//! (API.md, "Listing"), read into a validated [`ListQuery`]; the page a
//! store answers with (`page.rs`) and the cursor that continues it
//! (`cursor.rs`).

mod cursor;
mod page;

use std::collections::HashMap;

use cursor::{decode_cursor, encode_cursor};
pub use page::Page;

use crate::input::{priority_in_range, timestamp_fault};
use crate::owner::Owner;
use crate::todo::{Priority, Timestamp, Todo, format_timestamp, parse_timestamp, search_key};
use crate::validation::{FieldError, Loc, ValidationErrors};

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page size.
pub const MAX_LIMIT: u32 = 1000;

/// The filters shared by `GET` and `DELETE /api/todo`. Every field that is
/// set narrows the match.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TodoFilter {
    pub completed: Option<bool>,
    pub priority: Option<Priority>,
    pub min_priority: Option<Priority>,
    pub due_before: Option<Timestamp>,
    pub due_after: Option<Timestamp>,
    /// The `q` text as a search key ([`crate::search_key`]); never empty.
    pub title_contains: Option<String>,
}

impl TodoFilter {
    pub fn is_empty(&self) -> bool {
        *self == TodoFilter::default()
    }

    /// The filters as canonical query parameters, for links and cursors.
    fn to_params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        if let Some(completed) = self.completed {
            params.push(("completed", completed.to_string()));
        }
        if let Some(priority) = self.priority {
            params.push(("priority", priority.get().to_string()));
        }
        if let Some(priority) = self.min_priority {
            params.push(("min_priority", priority.get().to_string()));
        }
        if let Some(at) = self.due_before {
            params.push(("due_before", format_timestamp(&at)));
        }
        if let Some(at) = self.due_after {
            params.push(("due_after", format_timestamp(&at)));
        }
        if let Some(text) = &self.title_contains {
            params.push(("q", text.clone()));
        }
        params
    }

    /// A checksum of the filters and of whose listing it is, so a cursor
    /// cannot be used with other filters or by another user. The anonymous
    /// user's is the filters' alone, as before there were users.
    pub(crate) fn fingerprint(&self, owner: Owner) -> u32 {
        let mut hasher = crc32fast::Hasher::new();
        if !owner.is_anonymous() {
            hasher.update(b"owner\0");
            hasher.update(&owner.id().to_be_bytes());
        }
        for (name, value) in self.to_params() {
            hasher.update(name.as_bytes());
            hasher.update(&[0]);
            hasher.update(value.as_bytes());
            hasher.update(&[0]);
        }
        hasher.finalize()
    }
}

/// The fields a listing can be sorted by; ties are broken by `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    CreatedAt,
    Priority,
    DueDate,
    Id,
}

impl SortField {
    pub fn name(self) -> &'static str {
        match self {
            SortField::CreatedAt => "created_at",
            SortField::Priority => "priority",
            SortField::DueDate => "due_date",
            SortField::Id => "id",
        }
    }

    const ALL: [SortField; 4] = [
        SortField::CreatedAt,
        SortField::Priority,
        SortField::DueDate,
        SortField::Id,
    ];
}

/// A sort order: a field and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Default for Sort {
    /// Newest first, as the original service listed.
    fn default() -> Self {
        Sort {
            field: SortField::CreatedAt,
            descending: true,
        }
    }
}

impl Sort {
    fn parse(text: &str) -> Option<Sort> {
        let (descending, name) = match text.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, text),
        };
        let field = SortField::ALL
            .into_iter()
            .find(|field| field.name() == name)?;
        Some(Sort { field, descending })
    }

    fn to_param(self) -> String {
        format!(
            "{}{}",
            if self.descending { "-" } else { "" },
            self.field.name()
        )
    }

    pub(crate) fn code(self) -> u8 {
        let field = SortField::ALL
            .iter()
            .position(|field| *field == self.field)
            .unwrap_or(0) as u8;
        field * 2 + u8::from(self.descending)
    }
}

/// The sort-field value of the last todo of a page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SortValue {
    CreatedAt(Timestamp),
    Priority(i16),
    DueDate(Option<Timestamp>),
    Id,
}

/// Where a page ends: its last todo's sort value and id. The next page
/// starts strictly after it (keyset pagination).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    pub value: SortValue,
    pub id: i64,
}

impl Position {
    pub fn of(todo: &Todo, field: SortField) -> Position {
        let value = match field {
            SortField::CreatedAt => SortValue::CreatedAt(todo.created_at),
            SortField::Priority => SortValue::Priority(todo.priority),
            SortField::DueDate => SortValue::DueDate(todo.due_date),
            SortField::Id => SortValue::Id,
        };
        Position { value, id: todo.id }
    }
}

/// A validated `GET /api/todo` request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: TodoFilter,
    pub sort: Sort,
    pub limit: u32,
    pub offset: u64,
    /// Set when the request continues a walk by `cursor`.
    pub after: Option<Position>,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            filter: TodoFilter::default(),
            sort: Sort::default(),
            limit: DEFAULT_LIMIT,
            offset: 0,
            after: None,
        }
    }
}

impl ListQuery {
    /// Reads the query string of `GET /api/todo` by `owner` (whose cursors
    /// alone it accepts); unknown parameters are ignored, as FastAPI does.
    pub fn from_params(
        pairs: &[(String, String)],
        owner: Owner,
    ) -> Result<ListQuery, ValidationErrors> {
        let params = last_values(pairs);
        let mut errors = ValidationErrors::default();
        let filter = read_filter(&params, &mut errors);
        let sort = match params.get("sort") {
            None => Some(Sort::default()),
            Some(text) => Sort::parse(text).or_else(|| {
                errors.push(
                    FieldError::new(
                        Loc::query("sort"),
                        "literal_error",
                        "Input should be 'created_at', '-created_at', 'priority', '-priority', \
                         'due_date', '-due_date', 'id' or '-id'",
                    )
                    .with_input(*text),
                );
                None
            }),
        };
        let limit = read_bounded(&params, "limit", 1, i64::from(MAX_LIMIT), &mut errors);
        let offset = read_bounded(&params, "offset", 0, i64::MAX, &mut errors);
        let mut after = None;
        if let (Some(text), Some(sort)) = (params.get("cursor"), sort) {
            if params.contains_key("offset") {
                errors.push(
                    FieldError::new(
                        Loc::query("cursor"),
                        "value_error",
                        "Value error, cursor cannot be combined with offset",
                    )
                    .with_input(*text),
                );
            } else if errors.is_empty() {
                after = Some(decode_cursor(text, &filter, sort, owner).ok_or_else(|| {
                    ValidationErrors::from(
                        FieldError::new(
                            Loc::query("cursor"),
                            "value_error",
                            "Value error, invalid cursor, or one made for another sort, other filters or another user",
                        )
                        .with_input(*text),
                    )
                })?);
            }
        }
        errors.into_result(())?;
        Ok(ListQuery {
            filter,
            sort: sort.unwrap_or_default(),
            limit: limit.map_or(DEFAULT_LIMIT, |limit| limit as u32),
            offset: offset.unwrap_or(0) as u64,
            after,
        })
    }

    /// The query parameters of `owner`'s page that starts after `position`
    /// (a [`Page::next`]): the same filters, sort and limit, and a cursor.
    pub fn next_page_params(
        &self,
        owner: Owner,
        position: &Position,
    ) -> Vec<(&'static str, String)> {
        let mut params = self.filter.to_params();
        params.push(("sort", self.sort.to_param()));
        params.push(("limit", self.limit.to_string()));
        params.push((
            "cursor",
            encode_cursor(&self.filter, self.sort, owner, position),
        ));
        params
    }
}

/// Reads the query string of `DELETE /api/todo`: filters only, at least one.
pub fn delete_filter_from_params(
    pairs: &[(String, String)],
) -> Result<TodoFilter, ValidationErrors> {
    let params = last_values(pairs);
    let mut errors = ValidationErrors::default();
    for (name, value) in &params {
        if !FILTER_PARAMS.contains(name) {
            errors.push(FieldError::extra_forbidden(
                Loc::query(name),
                &serde_json::Value::from(*value),
            ));
        }
    }
    let filter = read_filter(&params, &mut errors);
    if errors.is_empty() && filter.is_empty() {
        errors.push(FieldError::new(
            Loc::query_string(),
            "missing",
            "At least one filter is required: completed, priority, min_priority, due_before, due_after or q",
        ));
    }
    errors.into_result(filter)
}

const FILTER_PARAMS: [&str; 6] = [
    "completed",
    "priority",
    "min_priority",
    "due_before",
    "due_after",
    "q",
];

/// The last value of each parameter, as FastAPI reads a repeated one.
pub(crate) fn last_values(pairs: &[(String, String)]) -> HashMap<&str, &str> {
    pairs
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

fn read_filter(params: &HashMap<&str, &str>, errors: &mut ValidationErrors) -> TodoFilter {
    let completed = params.get("completed").and_then(|text| {
        parse_query_bool(text).or_else(|| {
            errors.push(
                FieldError::new(
                    Loc::query("completed"),
                    "bool_parsing",
                    "Input should be a valid boolean, unable to interpret input",
                )
                .with_input(*text),
            );
            None
        })
    });
    let mut read_priority = |name: &str| {
        let number = read_int(params, name, errors)?;
        priority_in_range(number, &Loc::query(name))
            .map_err(|fault| errors.push(fault.with_input(params[name])))
            .ok()
    };
    let priority = read_priority("priority");
    let min_priority = read_priority("min_priority");
    let mut read_time = |name: &str| {
        let text = params.get(name)?;
        parse_timestamp(text).or_else(|| {
            errors.push(timestamp_fault(&Loc::query(name)).with_input(*text));
            None
        })
    };
    let due_before = read_time("due_before");
    let due_after = read_time("due_after");
    let title_contains = params
        .get("q")
        .filter(|text| !text.is_empty())
        .map(|text| search_key(text));
    TodoFilter {
        completed,
        priority,
        min_priority,
        due_before,
        due_after,
        title_contains,
    }
}

/// pydantic's lax booleans, which FastAPI accepts in query strings.
fn parse_query_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
        _ => None,
    }
}

/// Reads an integer parameter, recording a fault when it is not one.
fn read_int(
    params: &HashMap<&str, &str>,
    name: &str,
    errors: &mut ValidationErrors,
) -> Option<i64> {
    let text = params.get(name)?;
    text.parse::<i64>().ok().or_else(|| {
        errors.push(
            FieldError::new(
                Loc::query(name),
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
            )
            .with_input(*text),
        );
        None
    })
}

/// Reads an integer parameter within `min..=max`; values are never clamped.
pub(crate) fn read_bounded(
    params: &HashMap<&str, &str>,
    name: &str,
    min: i64,
    max: i64,
    errors: &mut ValidationErrors,
) -> Option<i64> {
    let number = read_int(params, name, errors)?;
    let fault = if number < min {
        FieldError::new(
            Loc::query(name),
            "greater_than_equal",
            format!("Input should be greater than or equal to {min}"),
        )
    } else if number > max {
        FieldError::new(
            Loc::query(name),
            "less_than_equal",
            format!("Input should be less than or equal to {max}"),
        )
    } else {
        return Some(number);
    };
    errors.push(fault.with_input(params[name]));
    None
}

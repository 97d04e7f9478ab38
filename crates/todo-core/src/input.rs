//! Request bodies read from JSON into validated domain values, collecting
//! every fault with its location as FastAPI does.

use serde_json::{Map, Value};

use crate::todo::{
    DESCRIPTION_MAX_CHARS, Description, Priority, TITLE_MAX_CHARS, Timestamp, Title, TitleError,
    parse_timestamp,
};
use crate::validation::{FieldError, Loc, ValidationErrors};

/// A todo to create (the body of `POST /api/todo`, and of `PUT`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewTodo {
    pub title: Title,
    pub description: Option<Description>,
    pub priority: Priority,
    pub due_date: Option<Timestamp>,
    pub completed: bool,
}

/// The fields a change sets; `None` leaves a field as it is. For the
/// nullable fields, `Some(None)` clears the value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TodoPatch {
    pub title: Option<Title>,
    pub description: Option<Option<Description>>,
    pub priority: Option<Priority>,
    pub due_date: Option<Option<Timestamp>>,
    pub completed: Option<bool>,
}

/// One element of a bulk `PATCH`: which todo, and its change.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentifiedPatch {
    pub id: i64,
    pub patch: TodoPatch,
}

const TODO_FIELDS: [&str; 5] = ["title", "description", "priority", "due_date", "completed"];

impl NewTodo {
    /// Reads a create (or full replacement) body found at `loc`.
    pub fn from_json(value: &Value, loc: &Loc) -> Result<NewTodo, ValidationErrors> {
        let object = expect_object(value, loc)?;
        let mut errors = ValidationErrors::default();
        reject_unknown_fields(object, loc, &TODO_FIELDS, &mut errors);
        let mut fields = FieldReader::new(object, loc, &mut errors);
        let title = fields.required("title", read_title);
        let description = fields.optional("description", read_description);
        let priority = fields.optional("priority", read_priority);
        let due_date = fields.optional("due_date", read_due_date);
        let completed = fields.optional("completed", read_bool);
        errors.into_result(())?;
        Ok(NewTodo {
            // A missing title was recorded as a fault above.
            title: title.ok_or_else(ValidationErrors::default)?,
            description: description.flatten(),
            priority: priority.unwrap_or_default(),
            due_date: due_date.flatten(),
            completed: completed.unwrap_or(false),
        })
    }

    /// The change that makes a todo equal to this one (`PUT`).
    pub fn into_replacement(self) -> TodoPatch {
        TodoPatch {
            title: Some(self.title),
            description: Some(self.description),
            priority: Some(self.priority),
            due_date: Some(self.due_date),
            completed: Some(self.completed),
        }
    }
}

impl TodoPatch {
    /// Reads a partial-update body found at `loc`.
    pub fn from_json(value: &Value, loc: &Loc) -> Result<TodoPatch, ValidationErrors> {
        let object = expect_object(value, loc)?;
        let mut errors = ValidationErrors::default();
        reject_unknown_fields(object, loc, &TODO_FIELDS, &mut errors);
        let patch = read_patch_fields(object, loc, &mut errors);
        errors.into_result(patch)
    }
}

fn read_patch_fields(
    object: &Map<String, Value>,
    loc: &Loc,
    errors: &mut ValidationErrors,
) -> TodoPatch {
    let mut fields = FieldReader::new(object, loc, errors);
    TodoPatch {
        title: fields.optional("title", read_title),
        description: fields.optional("description", read_description),
        priority: fields.optional("priority", read_priority),
        due_date: fields.optional("due_date", read_due_date),
        completed: fields.optional("completed", read_bool),
    }
}

/// Reads the array of a bulk create: 1 to `max_items` todos.
pub fn new_todos_from_json(
    value: &Value,
    max_items: usize,
) -> Result<Vec<NewTodo>, ValidationErrors> {
    let loc = Loc::body();
    let items = expect_array(value, &loc, max_items)?;
    let mut errors = ValidationErrors::default();
    let mut todos = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match NewTodo::from_json(item, &loc.join(index)) {
            Ok(todo) => todos.push(todo),
            Err(faults) => errors.extend(faults),
        }
    }
    errors.into_result(todos)
}

/// Reads the array of a bulk `PATCH`: 1 to `max_items` changes, each naming
/// its todo by `id`, no todo twice.
pub fn identified_patches_from_json(
    value: &Value,
    max_items: usize,
) -> Result<Vec<IdentifiedPatch>, ValidationErrors> {
    let loc = Loc::body();
    let items = expect_array(value, &loc, max_items)?;
    let mut errors = ValidationErrors::default();
    let mut patches = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::new();
    for (index, item) in items.iter().enumerate() {
        let item_loc = loc.join(index);
        let object = match expect_object(item, &item_loc) {
            Ok(object) => object,
            Err(faults) => {
                errors.extend(faults);
                continue;
            }
        };
        let mut item_errors = ValidationErrors::default();
        let allowed = [
            "id",
            "title",
            "description",
            "priority",
            "due_date",
            "completed",
        ];
        reject_unknown_fields(object, &item_loc, &allowed, &mut item_errors);
        let id = FieldReader::new(object, &item_loc, &mut item_errors).required("id", read_id);
        let patch = read_patch_fields(object, &item_loc, &mut item_errors);
        if let Some(id) = id {
            if !seen.insert(id) {
                item_errors.push(
                    FieldError::new(
                        item_loc.join("id"),
                        "value_error",
                        "Value error, duplicate id in bulk update",
                    )
                    .with_input(id),
                );
            }
            if item_errors.is_empty() {
                patches.push(IdentifiedPatch { id, patch });
            }
        }
        errors.extend(item_errors);
    }
    errors.into_result(patches)
}

fn expect_object<'a>(
    value: &'a Value,
    loc: &Loc,
) -> Result<&'a Map<String, Value>, ValidationErrors> {
    value.as_object().ok_or_else(|| {
        FieldError::new(
            loc.clone(),
            "model_attributes_type",
            "Input should be a valid dictionary or object to extract fields from",
        )
        .with_input(value.clone())
        .into()
    })
}

fn expect_array<'a>(
    value: &'a Value,
    loc: &Loc,
    max_items: usize,
) -> Result<&'a Vec<Value>, ValidationErrors> {
    let items = value.as_array().ok_or_else(|| {
        ValidationErrors::from(
            FieldError::new(loc.clone(), "list_type", "Input should be a valid list")
                .with_input(value.clone()),
        )
    })?;
    if items.is_empty() {
        return Err(FieldError::new(
            loc.clone(),
            "too_short",
            "List should have at least 1 item after validation, not 0",
        )
        .into());
    }
    if items.len() > max_items {
        return Err(FieldError::new(
            loc.clone(),
            "too_long",
            format!(
                "List should have at most {max_items} items after validation, not {}",
                items.len()
            ),
        )
        .into());
    }
    Ok(items)
}

fn reject_unknown_fields(
    object: &Map<String, Value>,
    loc: &Loc,
    allowed: &[&str],
    errors: &mut ValidationErrors,
) {
    for (name, value) in object {
        if !allowed.contains(&name.as_str()) {
            errors.push(FieldError::extra_forbidden(loc.join(name.as_str()), value));
        }
    }
}

/// Reads named fields of one object, recording each fault at its location.
struct FieldReader<'a> {
    object: &'a Map<String, Value>,
    loc: &'a Loc,
    errors: &'a mut ValidationErrors,
}

type ReadField<T> = fn(&Value, &Loc) -> Result<T, FieldError>;

impl<'a> FieldReader<'a> {
    fn new(object: &'a Map<String, Value>, loc: &'a Loc, errors: &'a mut ValidationErrors) -> Self {
        FieldReader {
            object,
            loc,
            errors,
        }
    }

    fn optional<T>(&mut self, name: &str, read: ReadField<T>) -> Option<T> {
        let value = self.object.get(name)?;
        match read(value, &self.loc.join(name)) {
            Ok(value) => Some(value),
            Err(fault) => {
                self.errors.push(fault);
                None
            }
        }
    }

    fn required<T>(&mut self, name: &str, read: ReadField<T>) -> Option<T> {
        if !self.object.contains_key(name) {
            self.errors.push(
                FieldError::missing(self.loc.join(name))
                    .with_input(Value::Object(self.object.clone())),
            );
            return None;
        }
        self.optional(name, read)
    }
}

fn read_string(value: &Value, loc: &Loc) -> Result<String, FieldError> {
    value.as_str().map(str::to_owned).ok_or_else(|| {
        FieldError::new(loc.clone(), "string_type", "Input should be a valid string")
            .with_input(value.clone())
    })
}

fn read_title(value: &Value, loc: &Loc) -> Result<Title, FieldError> {
    let text = read_string(value, loc)?;
    Title::parse(text).map_err(|fault| {
        let error = match fault {
            TitleError::TooShort => FieldError::new(
                loc.clone(),
                "string_too_short",
                "String should have at least 1 character",
            ),
            TitleError::TooLong => FieldError::new(
                loc.clone(),
                "string_too_long",
                format!("String should have at most {TITLE_MAX_CHARS} characters"),
            ),
            TitleError::Blank => FieldError::new(
                loc.clone(),
                "value_error",
                "Value error, title must not be blank",
            ),
        };
        error.with_input(value.clone())
    })
}

fn read_description(value: &Value, loc: &Loc) -> Result<Option<Description>, FieldError> {
    if value.is_null() {
        return Ok(None);
    }
    let text = read_string(value, loc)?;
    Description::parse(text).map(Some).ok_or_else(|| {
        FieldError::new(
            loc.clone(),
            "string_too_long",
            format!("String should have at most {DESCRIPTION_MAX_CHARS} characters"),
        )
        .with_input(value.clone())
    })
}

fn read_integer(value: &Value, loc: &Loc) -> Result<i64, FieldError> {
    value.as_i64().ok_or_else(|| {
        FieldError::new(loc.clone(), "int_type", "Input should be a valid integer")
            .with_input(value.clone())
    })
}

fn read_priority(value: &Value, loc: &Loc) -> Result<Priority, FieldError> {
    let number = read_integer(value, loc)?;
    priority_in_range(number, loc).map_err(|fault| fault.with_input(value.clone()))
}

/// Checks a number against the priority range, with pydantic's messages.
pub(crate) fn priority_in_range(number: i64, loc: &Loc) -> Result<Priority, FieldError> {
    Priority::new(number).ok_or_else(|| {
        if number < Priority::MIN {
            FieldError::new(
                loc.clone(),
                "greater_than_equal",
                format!("Input should be greater than or equal to {}", Priority::MIN),
            )
        } else {
            FieldError::new(
                loc.clone(),
                "less_than_equal",
                format!("Input should be less than or equal to {}", Priority::MAX),
            )
        }
    })
}

fn read_id(value: &Value, loc: &Loc) -> Result<i64, FieldError> {
    read_integer(value, loc)
}

fn read_bool(value: &Value, loc: &Loc) -> Result<bool, FieldError> {
    value.as_bool().ok_or_else(|| {
        FieldError::new(loc.clone(), "bool_type", "Input should be a valid boolean")
            .with_input(value.clone())
    })
}

fn read_due_date(value: &Value, loc: &Loc) -> Result<Option<Timestamp>, FieldError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => parse_timestamp(text)
            .map(Some)
            .ok_or_else(|| timestamp_fault(loc).with_input(value.clone())),
        _ => Err(FieldError::new(
            loc.clone(),
            "datetime_type",
            "Input should be a valid datetime",
        )
        .with_input(value.clone())),
    }
}

/// The fault for text that is neither an RFC 3339 timestamp nor a date.
pub(crate) fn timestamp_fault(loc: &Loc) -> FieldError {
    FieldError::new(
        loc.clone(),
        "datetime_from_date_parsing",
        "Input should be a valid datetime or date (RFC 3339, or YYYY-MM-DD)",
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn kinds(errors: &ValidationErrors) -> Vec<(String, &'static str)> {
        errors
            .errors()
            .iter()
            .map(|error| (serde_json::to_string(&error.loc).unwrap(), error.kind))
            .collect()
    }

    #[test]
    fn a_create_body_takes_defaults_for_what_it_omits() {
        let todo = NewTodo::from_json(&json!({"title": "Buy milk"}), &Loc::body()).unwrap();
        assert_eq!(todo.title.as_str(), "Buy milk");
        assert_eq!(todo.priority.get(), 3);
        assert!(todo.description.is_none() && todo.due_date.is_none() && !todo.completed);
    }

    #[test]
    fn a_create_body_reports_every_fault_at_once() {
        let body = json!({"title": null, "priority": "3", "completed": null, "colour": "red", "due_date": "soon"});
        let errors = NewTodo::from_json(&body, &Loc::body()).unwrap_err();
        let mut found = kinds(&errors);
        found.sort();
        assert_eq!(
            found,
            vec![
                (r#"["body","colour"]"#.into(), "extra_forbidden"),
                (r#"["body","completed"]"#.into(), "bool_type"),
                (
                    r#"["body","due_date"]"#.into(),
                    "datetime_from_date_parsing"
                ),
                (r#"["body","priority"]"#.into(), "int_type"),
                (r#"["body","title"]"#.into(), "string_type"),
            ]
        );
    }

    #[test]
    fn a_patch_distinguishes_clearing_from_leaving() {
        let patch = TodoPatch::from_json(&json!({"description": null}), &Loc::body()).unwrap();
        assert_eq!(patch.description, Some(None));
        assert_eq!(patch.due_date, None);
    }

    #[test]
    fn bulk_bodies_locate_faults_by_index_and_bound_their_size() {
        let errors =
            new_todos_from_json(&json!([{"title": "ok"}, {"priority": 9}]), 10).unwrap_err();
        let mut found = kinds(&errors);
        found.sort();
        assert_eq!(
            found,
            vec![
                (r#"["body",1,"priority"]"#.into(), "less_than_equal"),
                (r#"["body",1,"title"]"#.into(), "missing"),
            ]
        );
        assert_eq!(
            kinds(&new_todos_from_json(&json!([]), 10).unwrap_err())[0].1,
            "too_short"
        );
        assert_eq!(
            kinds(&new_todos_from_json(&json!([{}, {}]), 1).unwrap_err())[0].1,
            "too_long"
        );
    }

    #[test]
    fn a_bulk_patch_refuses_the_same_id_twice() {
        let errors = identified_patches_from_json(&json!([{"id": 1}, {"id": 1, "title": "x"}]), 10)
            .unwrap_err();
        assert_eq!(
            kinds(&errors),
            vec![(r#"["body",1,"id"]"#.into(), "value_error")]
        );
    }
}

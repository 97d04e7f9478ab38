//! Validation faults in the shape FastAPI (pydantic v2) reports them, so that
//! clients of the original service read our 422 bodies unchanged.

use serde::Serialize;
use serde_json::Value;

/// One step of a fault's location: a field or query-parameter name, or an
/// index into a JSON array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum LocPart {
    Name(String),
    Index(usize),
}

impl From<&str> for LocPart {
    fn from(name: &str) -> Self {
        LocPart::Name(name.to_owned())
    }
}

impl From<usize> for LocPart {
    fn from(index: usize) -> Self {
        LocPart::Index(index)
    }
}

/// Where a fault is, e.g. `["body", 3, "title"]` or `["query", "limit"]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Loc(Vec<LocPart>);

impl Loc {
    pub fn body() -> Self {
        Loc(vec!["body".into()])
    }

    pub fn query(name: &str) -> Self {
        Loc(vec!["query".into(), name.into()])
    }

    /// The query string as a whole, for faults no single parameter has.
    pub fn query_string() -> Self {
        Loc(vec!["query".into()])
    }

    pub fn path(name: &str) -> Self {
        Loc(vec!["path".into(), name.into()])
    }

    pub fn header(name: &str) -> Self {
        Loc(vec!["header".into(), name.into()])
    }

    /// This location extended by one step.
    pub fn join(&self, part: impl Into<LocPart>) -> Self {
        let mut parts = self.0.clone();
        parts.push(part.into());
        Loc(parts)
    }

    pub fn parts(&self) -> &[LocPart] {
        &self.0
    }
}

/// One validation fault: pydantic's `loc`, `msg`, `type` and `input`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub loc: Loc,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
}

impl FieldError {
    pub fn new(loc: Loc, kind: &'static str, msg: impl Into<String>) -> Self {
        FieldError {
            loc,
            msg: msg.into(),
            kind,
            input: None,
        }
    }

    /// The same fault, quoting the offending input as pydantic does.
    pub fn with_input(mut self, input: impl Into<Value>) -> Self {
        self.input = Some(input.into());
        self
    }

    pub fn missing(loc: Loc) -> Self {
        FieldError::new(loc, "missing", "Field required")
    }

    pub fn extra_forbidden(loc: Loc, input: &Value) -> Self {
        FieldError::new(loc, "extra_forbidden", "Extra inputs are not permitted")
            .with_input(input.clone())
    }
}

/// Every fault found in one request; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Default, thiserror::Error)]
#[error("{} validation error(s)", .0.len())]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn extend(&mut self, other: ValidationErrors) {
        self.0.extend(other.0);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when no fault was collected, else every fault.
    pub fn into_result<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }
}

impl From<FieldError> for ValidationErrors {
    fn from(error: FieldError) -> Self {
        ValidationErrors(vec![error])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_serialises_like_pydantic() {
        let error = FieldError::missing(Loc::body().join(2).join("title"));
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"loc": ["body", 2, "title"], "msg": "Field required", "type": "missing"})
        );
    }
}

//! Conditional requests (API.md, "Optimistic concurrency"): reading
//! `If-Match` into the versions a write may apply to, and `If-None-Match`
//! against a todo's current `ETag`.

use axum::http::HeaderMap;
use axum::http::header::{IF_MATCH, IF_NONE_MATCH};
use todo_core::{Expected, Todo};

/// The `If-Match` condition of a write to todo `id`, if the request has one.
/// Tags of other todos, weak tags and malformed ones match nothing, so a
/// write carrying only those fails with 412.
pub fn expected_version(headers: &HeaderMap, id: i64) -> Option<Expected> {
    let mut values = headers.get_all(IF_MATCH).iter().peekable();
    values.peek()?;
    let mut versions = Vec::new();
    for value in values {
        let Ok(text) = value.to_str() else { continue };
        for tag in text.split(',').map(str::trim) {
            if tag == "*" {
                return Some(Expected::Any);
            }
            if let Some(version) = parse_strong_tag(tag, id) {
                versions.push(version);
            }
        }
    }
    Some(Expected::Versions(versions))
}

/// Whether `If-None-Match` names the todo's current tag.
pub fn none_match_hits(headers: &HeaderMap, todo: &Todo) -> bool {
    none_match(headers, &todo.etag())
}

/// Whether `If-None-Match` names `current` (a tag with or without `W/`),
/// by the weak comparison RFC 9110 asks for this header: the quoted parts
/// match, `W/` or not.
pub fn none_match(headers: &HeaderMap, current: &str) -> bool {
    let current = current.strip_prefix("W/").unwrap_or(current);
    headers.get_all(IF_NONE_MATCH).iter().any(|value| {
        value.to_str().is_ok_and(|text| {
            text.split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == current)
        })
    })
}

/// The version in a strong tag `"ID-VERSION"` made for todo `id`.
fn parse_strong_tag(tag: &str, id: i64) -> Option<i64> {
    let inner = tag.strip_prefix('"')?.strip_suffix('"')?;
    let (tag_id, version) = inner.split_once('-')?;
    (tag_id.parse::<i64>().ok()? == id).then_some(())?;
    version.parse().ok()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(name: axum::http::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn if_match_reads_tags_of_this_todo_only() {
        assert_eq!(expected_version(&HeaderMap::new(), 7), None);
        assert_eq!(
            expected_version(&headers(IF_MATCH, "*"), 7),
            Some(Expected::Any)
        );
        assert_eq!(
            expected_version(&headers(IF_MATCH, r#""7-3", "8-4", W/"7-5", junk"#), 7),
            Some(Expected::Versions(vec![3]))
        );
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let todo = Todo {
            id: 7,
            title: "t".into(),
            description: None,
            priority: 3,
            due_date: None,
            completed: false,
            created_at: todo_core::now(),
            updated_at: todo_core::now(),
            version: 2,
        };
        assert!(none_match_hits(
            &headers(IF_NONE_MATCH, r#"W/"7-2""#),
            &todo
        ));
        assert!(none_match_hits(&headers(IF_NONE_MATCH, "*"), &todo));
        assert!(!none_match_hits(&headers(IF_NONE_MATCH, r#""7-1""#), &todo));
    }
}

//! The JSON of todos, written straight into a buffer: every response with
//! todos in it goes through here.
//!
//! serde's derived serializer spent about a tenth of the service's CPU on a
//! page of a hundred todos escaping strings, looking every byte up in a
//! table, keys included. Here the keys are written as they are, and a
//! string is checked eight bytes at a time and copied whole when nothing
//! in it needs escaping, as titles and descriptions almost never do. The
//! output is serde_json's, byte for byte; the tests compare the two.

use super::{TIMESTAMP_LEN, Timestamp, Todo, format_timestamp, write_timestamp};

/// Room for one todo in JSON: the field names and punctuation, three
/// timestamps, a typical title and description. Too small a guess costs
/// only a reallocation.
const TODO_JSON_BYTES: usize = 320;

/// The JSON array of `todos`, in a buffer sized for them at once rather
/// than grown (and copied) a dozen times for a page of a hundred.
pub fn todos_json(todos: &[Todo]) -> Vec<u8> {
    let mut json = Vec::with_capacity(2 + todos.len() * TODO_JSON_BYTES);
    json.push(b'[');
    for (index, todo) in todos.iter().enumerate() {
        if index > 0 {
            json.push(b',');
        }
        write_todo(&mut json, todo);
    }
    json.push(b']');
    json
}

/// The JSON object of `todo`.
pub fn todo_json(todo: &Todo) -> Vec<u8> {
    let mut json = Vec::with_capacity(TODO_JSON_BYTES);
    write_todo(&mut json, todo);
    json
}

fn write_todo(json: &mut Vec<u8>, todo: &Todo) {
    json.extend_from_slice(b"{\"id\":");
    json.extend_from_slice(itoa::Buffer::new().format(todo.id).as_bytes());
    json.extend_from_slice(b",\"title\":");
    write_string(json, &todo.title);
    json.extend_from_slice(b",\"description\":");
    match &todo.description {
        Some(description) => write_string(json, description),
        None => json.extend_from_slice(b"null"),
    }
    json.extend_from_slice(b",\"priority\":");
    json.extend_from_slice(itoa::Buffer::new().format(todo.priority).as_bytes());
    json.extend_from_slice(b",\"due_date\":");
    match &todo.due_date {
        Some(due_date) => write_time(json, due_date),
        None => json.extend_from_slice(b"null"),
    }
    json.extend_from_slice(if todo.completed {
        b",\"completed\":true"
    } else {
        b",\"completed\":false"
    });
    json.extend_from_slice(b",\"created_at\":");
    write_time(json, &todo.created_at);
    json.extend_from_slice(b",\"updated_at\":");
    write_time(json, &todo.updated_at);
    json.push(b'}');
}

/// A timestamp as a JSON string; its characters never need escaping.
fn write_time(json: &mut Vec<u8>, at: &Timestamp) {
    let mut buffer = [0; TIMESTAMP_LEN];
    json.push(b'"');
    match write_timestamp(at, &mut buffer) {
        Some(text) => json.extend_from_slice(text.as_bytes()),
        None => json.extend_from_slice(format_timestamp(at).as_bytes()),
    }
    json.push(b'"');
}

fn write_string(json: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    json.push(b'"');
    if needs_escaping(bytes) {
        write_escaped(json, bytes);
    } else {
        json.extend_from_slice(bytes);
    }
    json.push(b'"');
}

/// Whether a byte of `bytes` is a quote, a backslash or a control
/// character (below 0x20), the bytes JSON strings must escape; tested a
/// word at a time.
fn needs_escaping(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH_BITS: u64 = ONES * 0x80;
    // The classic "has a byte below n" test: it sets the high bit of some
    // byte exactly when a byte of `word` is below n (n at most 0x80).
    let has_below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH_BITS;
    // A byte equal to `b` is a zero byte once `b` is xored out.
    let has = |word: u64, b: u8| has_below(word ^ (ONES * u64::from(b)), 1);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut eight = [0; 8];
        eight.copy_from_slice(word);
        let word = u64::from_ne_bytes(eight);
        if has_below(word, 0x20) | has(word, b'"') | has(word, b'\\') != 0 {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&byte| byte < 0x20 || byte == b'"' || byte == b'\\')
}

/// Writes `bytes` escaped as serde_json escapes them: the two-character
/// escapes where JSON has one, `\u00XX` (lower-case hex) for the other
/// control characters, everything else as it is.
fn write_escaped(json: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut copied = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let short: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        json.extend_from_slice(&bytes[copied..index]);
        copied = index + 1;
        if short.is_empty() {
            json.extend_from_slice(b"\\u00");
            json.push(HEX[usize::from(byte >> 4)]);
            json.push(HEX[usize::from(byte & 0x0f)]);
        } else {
            json.extend_from_slice(short);
        }
    }
    json.extend_from_slice(&bytes[copied..]);
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;

    use super::*;

    fn todo(title: String, description: Option<String>, seconds: i64) -> Todo {
        let at = |seconds| DateTime::<Utc>::from_timestamp(seconds, 123_456_000).unwrap();
        Todo {
            id: seconds,
            title,
            description,
            priority: (seconds % 5 + 1) as i16,
            due_date: (seconds % 2 == 0).then(|| at(seconds / 2)),
            completed: seconds % 3 == 0,
            created_at: at(seconds),
            updated_at: at(seconds + 1),
            version: 1,
        }
    }

    #[test]
    fn every_character_json_escapes_is_escaped_as_serde_json_does() {
        let every_ascii: String = (0u8..0x80).map(char::from).collect();
        for text in [
            String::new(),
            every_ascii.clone(),
            format!("{every_ascii}{every_ascii}"),
            "plain title, long enough to be checked in words".to_owned(),
            "tab\tin the middle and a quote \" at byte 30".to_owned(),
            "é café 日本語 🎉 \u{7f} \u{2028}".to_owned(),
            "ends with a backslash\\".to_owned(),
        ] {
            let todo = todo(text.clone(), Some(text), 1_700_000_000);
            assert_eq!(
                String::from_utf8(todo_json(&todo)).unwrap(),
                serde_json::to_string(&todo).unwrap()
            );
        }
    }

    #[test]
    fn the_bytes_to_escape_are_found_at_every_position_of_a_word() {
        for special in (0u8..0x20).chain([b'"', b'\\']) {
            for position in 0..17 {
                let mut bytes = vec![b'a'; 17];
                bytes[position] = special;
                assert!(needs_escaping(&bytes), "{special:#x} at {position}");
            }
        }
        let harmless: Vec<u8> = (0x20u8..=0xff)
            .filter(|b| *b != b'"' && *b != b'\\')
            .collect();
        assert!(!needs_escaping(&harmless));
    }

    proptest! {
        #[test]
        fn a_list_is_what_serde_json_writes(
            todos in prop::collection::vec(
                (any::<String>(), any::<Option<String>>(), 0i64..4_000_000_000),
                0..8,
            )
        ) {
            let todos: Vec<Todo> = todos
                .into_iter()
                .map(|(title, description, seconds)| todo(title, description, seconds))
                .collect();
            prop_assert_eq!(
                String::from_utf8(todos_json(&todos)).unwrap(),
                serde_json::to_string(&todos).unwrap()
            );
        }
    }
}

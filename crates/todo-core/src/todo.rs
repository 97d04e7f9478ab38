//! The todo resource and the values it is made of, each valid by construction
//! (API.md, "The resource").

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, SecondsFormat, SubsecRound, Timelike, Utc,
};
use serde::{Serialize, Serializer};

mod json;

pub use json::{todo_json, todos_json};

/// Longest title, in Unicode scalar values.
pub const TITLE_MAX_CHARS: usize = 200;
/// Longest description, in Unicode scalar values.
pub const DESCRIPTION_MAX_CHARS: usize = 2000;

/// A point in time as stored: UTC, microsecond precision.
pub type Timestamp = DateTime<Utc>;

/// A title: 1 to 200 characters, not only whitespace, kept exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

/// Why a title was refused; the caller turns it into a located fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TitleError {
    TooShort,
    TooLong,
    Blank,
}

impl Title {
    pub fn parse(title: String) -> Result<Title, TitleError> {
        let chars = title.chars().count();
        if chars == 0 {
            Err(TitleError::TooShort)
        } else if chars > TITLE_MAX_CHARS {
            Err(TitleError::TooLong)
        } else if title.chars().all(char::is_whitespace) {
            Err(TitleError::Blank)
        } else {
            Ok(Title(title))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// The form the `q` filter matches against. Stored beside the title so
    /// that both backends compare the same lowercase text, whatever the
    /// database's own collation does with non-ASCII letters.
    pub fn search_key(&self) -> String {
        search_key(&self.0)
    }
}

/// Lowercases text the one way both backends use for `q` (Unicode-aware).
pub fn search_key(text: &str) -> String {
    text.to_lowercase()
}

/// A description of at most 2000 characters, kept exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    /// `None` when the text is too long.
    pub fn parse(text: String) -> Option<Description> {
        (text.chars().count() <= DESCRIPTION_MAX_CHARS).then_some(Description(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A priority from 1 (lowest) to 5 (highest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(i16);

impl Priority {
    pub const MIN: i64 = 1;
    pub const MAX: i64 = 5;

    /// `None` when out of range.
    pub fn new(value: i64) -> Option<Priority> {
        (Self::MIN..=Self::MAX)
            .contains(&value)
            .then_some(Priority(value as i16))
    }

    pub fn get(self) -> i16 {
        self.0
    }
}

impl Default for Priority {
    fn default() -> Self {
        Priority(3)
    }
}

/// Reads a timestamp as API.md allows: RFC 3339, a plain date (00:00 UTC),
/// or, as FastAPI also accepts, a date and time without offset (taken as
/// UTC). Precision beyond microseconds is cut, as both databases store it.
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    let parsed = if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        at.with_timezone(&Utc)
    } else if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        date.and_hms_opt(0, 0, 0)?.and_utc()
    } else {
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
            .ok()?;
        naive.and_utc()
    };
    // Four-digit years only, so every value fits both databases and formats
    // back as RFC 3339.
    (parsed.format("%Y").to_string().len() == 4 && !text.starts_with('-'))
        .then(|| parsed.trunc_subsecs(6))
}

/// Formats a timestamp as every response does: RFC 3339, UTC, `Z`.
pub fn format_timestamp(at: &Timestamp) -> String {
    let mut buffer = [0; TIMESTAMP_LEN];
    match write_timestamp(at, &mut buffer) {
        Some(text) => text.to_owned(),
        None => at.to_rfc3339_opts(SecondsFormat::Micros, true),
    }
}

/// The length of `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
const TIMESTAMP_LEN: usize = 27;

/// Writes `at` as [`format_timestamp`] does into `buffer`, digit by digit
/// rather than through the formatting machinery and a `String` each: a page
/// of 100 todos has 300 timestamps.
/// `None` for what only chrono spells (a year past four digits, a leap
/// second).
fn write_timestamp<'b>(at: &Timestamp, buffer: &'b mut [u8; TIMESTAMP_LEN]) -> Option<&'b str> {
    // The date and time once: each accessor of a `DateTime` would work
    // them out from the instant again.
    let at = at.naive_utc();
    let year = u32::try_from(at.year()).ok().filter(|year| *year <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    *buffer = *b"0000-00-00T00:00:00.000000Z";
    let fields = [
        (0, 4, year),
        (5, 2, at.month()),
        (8, 2, at.day()),
        (11, 2, at.hour()),
        (14, 2, at.minute()),
        (17, 2, at.second()),
        (20, 6, nanos / 1_000),
    ];
    for (start, width, mut value) in fields {
        for digit in buffer[start..start + width].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    std::str::from_utf8(buffer).ok()
}

/// The current time at stored precision.
pub fn now() -> Timestamp {
    Utc::now().trunc_subsecs(6)
}

/// A stored todo. `version` is not part of the resource: it counts the
/// changes of the row and makes its `ETag`. Responses are written by
/// [`todo_json`] and [`todos_json`]; the derived `Serialize` is the plain
/// serde form they are tested against, byte for byte.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Todo {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub priority: i16,
    #[serde(serialize_with = "serialize_optional_timestamp")]
    pub due_date: Option<Timestamp>,
    pub completed: bool,
    #[serde(serialize_with = "serialize_timestamp")]
    pub created_at: Timestamp,
    #[serde(serialize_with = "serialize_timestamp")]
    pub updated_at: Timestamp,
    #[serde(skip)]
    pub version: i64,
}

/// The version of a todo just created.
pub const FIRST_VERSION: i64 = 1;

impl Todo {
    /// The strong entity tag of this state of the todo. It names the row and
    /// its version, so it is the same on every instance of the service.
    pub fn etag(&self) -> String {
        Todo::etag_of(self.id, self.version)
    }

    /// The entity tag of todo `id` at `version`.
    pub fn etag_of(id: i64, version: i64) -> String {
        format!("\"{id}-{version}\"")
    }
}

fn serialize_timestamp<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_timestamp(at))
}

fn serialize_optional_timestamp<S: Serializer>(
    at: &Option<Timestamp>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize_timestamp(at, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_written_as_chrono_writes_them() {
        let chrono = |at: &Timestamp| at.to_rfc3339_opts(SecondsFormat::Micros, true);
        let first = DateTime::parse_from_rfc3339("0000-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let last = DateTime::parse_from_rfc3339("9999-12-31T23:59:59.999999Z")
            .unwrap()
            .with_timezone(&Utc);
        // Steps of a prime number of microseconds, so every field and digit
        // position takes many values.
        let step = chrono::Duration::microseconds(3_155_692_597_777);
        let mut at = first;
        let mut checked = 0;
        while at <= last {
            assert_eq!(format_timestamp(&at), chrono(&at));
            at += step;
            checked += 1;
        }
        assert!(checked > 100_000, "{checked}");
        assert_eq!(format_timestamp(&last), "9999-12-31T23:59:59.999999Z");
        assert_eq!(format_timestamp(&first), "0000-01-01T00:00:00.000000Z");
        let json = serde_json::to_string(&Todo {
            id: 1,
            title: "t".into(),
            description: None,
            priority: 3,
            due_date: Some(last),
            completed: false,
            created_at: first,
            updated_at: first,
            version: 1,
        })
        .unwrap();
        assert!(
            json.contains(r#""due_date":"9999-12-31T23:59:59.999999Z""#),
            "{json}"
        );
    }

    #[test]
    fn timestamps_chrono_alone_spells_are_left_to_chrono() {
        let past_four_digits = NaiveDate::from_ymd_opt(10_000, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        let leap_second = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_micro_opt(23, 59, 59, 1_500_000)
            .unwrap()
            .and_utc();
        for at in [past_four_digits, leap_second] {
            assert_eq!(
                format_timestamp(&at),
                at.to_rfc3339_opts(SecondsFormat::Micros, true)
            );
        }
    }

    #[test]
    fn a_title_is_one_to_two_hundred_characters_and_not_blank() {
        assert_eq!(Title::parse(String::new()), Err(TitleError::TooShort));
        assert!(Title::parse("é".repeat(200)).is_ok());
        assert_eq!(Title::parse("é".repeat(201)), Err(TitleError::TooLong));
        assert_eq!(Title::parse(" \t\n".into()), Err(TitleError::Blank));
        assert_eq!(Title::parse(" a ".into()).unwrap().as_str(), " a ");
    }

    #[test]
    fn priority_accepts_one_to_five() {
        assert!(Priority::new(0).is_none());
        assert_eq!(Priority::new(1).unwrap().get(), 1);
        assert_eq!(Priority::new(5).unwrap().get(), 5);
        assert!(Priority::new(6).is_none());
        assert_eq!(Priority::default().get(), 3);
    }

    #[test]
    fn timestamps_are_read_in_every_allowed_form() {
        let expect = |text: &str, formatted: &str| {
            assert_eq!(
                format_timestamp(&parse_timestamp(text).unwrap()),
                formatted,
                "{text}"
            );
        };
        expect("2026-12-01T09:30:00+01:00", "2026-12-01T08:30:00.000000Z");
        expect("2026-12-01", "2026-12-01T00:00:00.000000Z");
        expect(
            "2026-12-01T09:30:00.1234567Z",
            "2026-12-01T09:30:00.123456Z",
        );
        expect("2026-12-01T09:30:00", "2026-12-01T09:30:00.000000Z");
        for bad in [
            "",
            "tomorrow",
            "2026-13-01",
            "2026-02-30",
            "12026-01-01",
            "-0001-01-01",
        ] {
            assert!(parse_timestamp(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_search_key_lowercases_beyond_ascii() {
        assert_eq!(search_key("ÄrGER Über"), "ärger über");
    }
}

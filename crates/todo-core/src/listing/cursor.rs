//! Opaque keyset cursors: the last position of a page, bound to the sort
//! and filters it was made for, with a checksum so an altered cursor is
//! refused rather than misread.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;

use super::{Position, Sort, SortField, SortValue, TodoFilter};
use crate::owner::Owner;
use crate::todo::Timestamp;

const FORMAT_VERSION: u8 = 1;

/// Encodes where a page ended, for the `cursor` of the next one.
pub(super) fn encode_cursor(
    filter: &TodoFilter,
    sort: Sort,
    owner: Owner,
    position: &Position,
) -> String {
    let mut bytes = vec![FORMAT_VERSION, sort.code()];
    bytes.extend_from_slice(&filter.fingerprint(owner).to_be_bytes());
    bytes.extend_from_slice(&position.id.to_be_bytes());
    match position.value {
        SortValue::CreatedAt(at) => bytes.extend_from_slice(&at.timestamp_micros().to_be_bytes()),
        SortValue::Priority(priority) => bytes.extend_from_slice(&priority.to_be_bytes()),
        SortValue::DueDate(None) => bytes.push(0),
        SortValue::DueDate(Some(at)) => {
            bytes.push(1);
            bytes.extend_from_slice(&at.timestamp_micros().to_be_bytes());
        }
        SortValue::Id => {}
    }
    let checksum = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&checksum.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a cursor made for exactly this sort, these filters and this
/// owner; `None` for anything else.
pub(super) fn decode_cursor(
    text: &str,
    filter: &TodoFilter,
    sort: Sort,
    owner: Owner,
) -> Option<Position> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let (body, checksum) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
    if crc32fast::hash(body).to_be_bytes() != checksum {
        return None;
    }
    let mut reader = Reader(body);
    if reader.byte()? != FORMAT_VERSION || reader.byte()? != sort.code() {
        return None;
    }
    if u32::from_be_bytes(reader.take()?) != filter.fingerprint(owner) {
        return None;
    }
    let id = i64::from_be_bytes(reader.take()?);
    let value = match sort.field {
        SortField::CreatedAt => SortValue::CreatedAt(reader.timestamp()?),
        SortField::Priority => SortValue::Priority(i16::from_be_bytes(reader.take()?)),
        SortField::DueDate => match reader.byte()? {
            0 => SortValue::DueDate(None),
            1 => SortValue::DueDate(Some(reader.timestamp()?)),
            _ => return None,
        },
        SortField::Id => SortValue::Id,
    };
    reader.0.is_empty().then_some(Position { value, id })
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take::<1>().map(|[byte]| byte)
    }

    fn timestamp(&mut self) -> Option<Timestamp> {
        DateTime::from_timestamp_micros(i64::from_be_bytes(self.take()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::todo::parse_timestamp;

    const ANYONE: Owner = Owner::ANONYMOUS;

    fn sort(field: SortField) -> Sort {
        Sort {
            field,
            descending: false,
        }
    }

    #[test]
    fn a_cursor_round_trips_for_every_sort() {
        let at = parse_timestamp("2026-11-26T15:00:00.123456Z").unwrap();
        let cases = [
            (SortField::CreatedAt, SortValue::CreatedAt(at)),
            (SortField::Priority, SortValue::Priority(4)),
            (SortField::DueDate, SortValue::DueDate(Some(at))),
            (SortField::DueDate, SortValue::DueDate(None)),
            (SortField::Id, SortValue::Id),
        ];
        let filter = TodoFilter {
            completed: Some(true),
            ..TodoFilter::default()
        };
        for (field, value) in cases {
            let position = Position { value, id: 42 };
            let cursor = encode_cursor(&filter, sort(field), ANYONE, &position);
            assert_eq!(
                decode_cursor(&cursor, &filter, sort(field), ANYONE),
                Some(position)
            );
        }
    }

    #[test]
    fn a_cursor_is_refused_when_altered_or_used_elsewhere() {
        let filter = TodoFilter {
            completed: Some(true),
            ..TodoFilter::default()
        };
        let position = Position {
            value: SortValue::Priority(2),
            id: 7,
        };
        let cursor = encode_cursor(&filter, sort(SortField::Priority), ANYONE, &position);
        assert!(
            decode_cursor(
                &cursor,
                &TodoFilter::default(),
                sort(SortField::Priority),
                ANYONE
            )
            .is_none()
        );
        let descending = Sort {
            field: SortField::Priority,
            descending: true,
        };
        assert!(decode_cursor(&cursor, &filter, descending, ANYONE).is_none());
        let mut altered = cursor.into_bytes();
        altered[3] = if altered[3] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(decode_cursor(&altered, &filter, sort(SortField::Priority), ANYONE).is_none());
        assert!(decode_cursor("", &filter, sort(SortField::Priority), ANYONE).is_none());
        assert!(decode_cursor("!!", &filter, sort(SortField::Priority), ANYONE).is_none());
    }

    #[test]
    fn a_cursor_is_refused_to_any_other_user() {
        let filter = TodoFilter::default();
        let position = Position {
            value: SortValue::Id,
            id: 7,
        };
        let alice = Owner::from_id(2);
        let bob = Owner::from_id(3);
        let cursor = encode_cursor(&filter, sort(SortField::Id), alice, &position);
        assert_eq!(
            decode_cursor(&cursor, &filter, sort(SortField::Id), alice),
            Some(position)
        );
        assert!(decode_cursor(&cursor, &filter, sort(SortField::Id), bob).is_none());
        assert!(decode_cursor(&cursor, &filter, sort(SortField::Id), ANYONE).is_none());
    }
}

//! Whose todos a request acts on (API.md, "Users"). Every store operation
//! takes an [`Owner`] and every statement is scoped by it, so no request
//! can reach a todo of another user.

/// A user of the service, as the stores number them. The subject of a JWT
/// (its `sub`) becomes an owner through
/// [`TodoStore::owner_of`](crate::TodoStore::owner_of).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Owner(i64);

impl Owner {
    /// The anonymous user: the one list of open mode and of access tokens,
    /// and the owner of every todo made before there were users.
    pub const ANONYMOUS: Owner = Owner(1);

    /// The owner numbered `id` by a store.
    pub const fn from_id(id: i64) -> Owner {
        Owner(id)
    }

    /// The store's number of this owner.
    pub const fn id(self) -> i64 {
        self.0
    }

    pub fn is_anonymous(self) -> bool {
        self == Owner::ANONYMOUS
    }
}

/// Longest subject a user may have, in bytes: longer than any identity
/// provider issues, short enough to index.
pub const MAX_SUBJECT_BYTES: usize = 255;

/// Whether `subject` can name a user: not empty (the anonymous user has no
/// subject), at most [`MAX_SUBJECT_BYTES`], no control characters.
pub fn valid_subject(subject: &str) -> bool {
    !subject.is_empty()
        && subject.len() <= MAX_SUBJECT_BYTES
        && !subject.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_short_printable_nonempty_subject_names_a_user() {
        assert!(valid_subject("auth0|5f1c"));
        assert!(valid_subject("2c4b8e9a-5c1e-4a7e-9d0f-1b2c3d4e5f60"));
        assert!(!valid_subject(""));
        assert!(!valid_subject("a\nb"));
        assert!(!valid_subject(&"x".repeat(MAX_SUBJECT_BYTES + 1)));
    }
}

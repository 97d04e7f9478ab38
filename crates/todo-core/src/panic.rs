//! What a caught panic said, for the log line that reports the bug.

use std::any::Any;

/// The message a panic was raised with: `panic!` carries a `&str` or a
/// `String`; any other payload has none to show.
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kinds_of_panic_message_are_read() {
        let formatted = std::panic::catch_unwind(|| panic!("row {}", 7)).unwrap_err();
        assert_eq!(panic_message(&*formatted), "row 7");
        let literal = std::panic::catch_unwind(|| panic!("plain")).unwrap_err();
        assert_eq!(panic_message(&*literal), "plain");
        let other = std::panic::catch_unwind(|| std::panic::panic_any(7_u8)).unwrap_err();
        assert_eq!(panic_message(&*other), "(no message)");
    }
}

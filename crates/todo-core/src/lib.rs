//! The domain of todo-api: the todo resource, the validation of everything
//! a client sends, and the storage trait both backends implement. It knows
//! nothing of HTTP or of any database driver.

mod changes;
mod groups;
mod idempotency;
mod input;
mod listing;
mod owner;
mod panic;
mod store;
mod todo;
mod validation;

#[cfg(feature = "testing")]
pub mod testing;

pub use changes::{
    Change, ChangeCursor, ChangeListener, ChangePage, ChangeSignals, ChangesQuery,
    DEFAULT_CHANGES_LIMIT, MAX_CHANGES_LIMIT, NumberedChange,
};
pub use groups::{GroupKind, GroupObserver, GroupReports};
pub use idempotency::{
    Created, Creation, IDEMPOTENCY_KEY_HEADER, IdempotencyKey, KeyedOutcome, MAX_KEY_LEN,
    StoredResponse, scope_of_token,
};
pub use input::{
    IdentifiedPatch, NewTodo, TodoPatch, identified_patches_from_json, new_todos_from_json,
};
pub use listing::{
    DEFAULT_LIMIT, ListQuery, MAX_LIMIT, Page, Position, Sort, SortField, SortValue, TodoFilter,
    delete_filter_from_params,
};
pub use owner::{MAX_SUBJECT_BYTES, Owner, valid_subject};
pub use panic::panic_message;
pub use store::{Expected, PoolStatus, StoreError, TodoStore};
pub use todo::{
    DESCRIPTION_MAX_CHARS, Description, FIRST_VERSION, Priority, TITLE_MAX_CHARS, Timestamp, Title,
    TitleError, Todo, format_timestamp, now, parse_timestamp, search_key, todo_json, todos_json,
};
pub use validation::{FieldError, Loc, LocPart, ValidationErrors};

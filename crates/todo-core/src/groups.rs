//! What a store tells of the requests it serves together (one statement,
//! one commit for many callers), so the service can show in its metrics how
//! much grouping happens under its load.

use std::sync::{Arc, OnceLock};

/// The kinds of request a store serves in groups, as labelled in metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupKind {
    /// Single creates sharing one multi-row insert and one commit.
    Create,
    /// Reads by id sharing one select.
    Read,
    /// Listings of one shape (filters, sort, page size) sharing one select.
    List,
    /// Single-todo updates sharing one statement and one commit.
    Update,
    /// Writes of any kind sharing one transaction and one commit (SQLite's
    /// writer, where every write goes through one connection).
    Write,
}

impl GroupKind {
    pub const ALL: [GroupKind; 5] = [
        GroupKind::Create,
        GroupKind::Read,
        GroupKind::List,
        GroupKind::Update,
        GroupKind::Write,
    ];

    /// This kind's position in [`ALL`](GroupKind::ALL).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The `kind` label of this kind's series.
    pub fn label(self) -> &'static str {
        match self {
            GroupKind::Create => "create",
            GroupKind::Read => "read",
            GroupKind::List => "list",
            GroupKind::Update => "update",
            GroupKind::Write => "write",
        }
    }
}

/// Told of every group a store serves, a lone request being a group of one.
pub trait GroupObserver: Send + Sync {
    fn group_served(&self, kind: GroupKind, size: usize);
}

/// A store's link to its group observer, shared by the places that serve
/// groups. Until an observer is set, reports go nowhere.
#[derive(Clone, Default)]
pub struct GroupReports(Arc<OnceLock<Arc<dyn GroupObserver>>>);

impl GroupReports {
    /// Sends later reports to `observer`; only the first observer set is
    /// kept, and false says one was set already.
    pub fn observe(&self, observer: Arc<dyn GroupObserver>) -> bool {
        self.0.set(observer).is_ok()
    }

    /// Reports a group of `size` requests of `kind`.
    pub fn served(&self, kind: GroupKind, size: usize) {
        if let Some(observer) = self.0.get() {
            observer.group_served(kind, size);
        }
    }
}

impl std::fmt::Debug for GroupReports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupReports")
            .field("observed", &self.0.get().is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Recorded(Mutex<Vec<(GroupKind, usize)>>);

    impl GroupObserver for Recorded {
        fn group_served(&self, kind: GroupKind, size: usize) {
            self.0.lock().unwrap().push((kind, size));
        }
    }

    #[test]
    fn each_kind_sits_at_its_index() {
        for (index, kind) in GroupKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.index(), index);
        }
    }

    #[test]
    fn reports_reach_the_first_observer_only_once_it_is_set() {
        let reports = GroupReports::default();
        reports.served(GroupKind::Create, 3);
        let first = Arc::new(Recorded::default());
        assert!(reports.observe(first.clone()));
        assert!(!reports.observe(Arc::new(Recorded::default())));
        reports.clone().served(GroupKind::Write, 5);
        assert_eq!(*first.0.lock().unwrap(), [(GroupKind::Write, 5)]);
    }
}

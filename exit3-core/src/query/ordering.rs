//! Orderings: what a list is sorted by, ties broken by id, as the reference order every
//! store must agree with.

use std::cmp;

use crate::domain::{Lead, Subscriber};

/// The field a list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortField {
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Name, by Unicode code point (PostgreSQL's `COLLATE "C"`); a missing name sorts
    /// after every name.
    FullName,
    /// Status, by its wire name.
    Status,
}

/// A list's order: a field and a direction; ties are broken by `id` in the same
/// direction, so that pages never repeat or skip a row while the data is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ordering {
    /// What to sort by.
    pub field: SortField,
    /// Largest first.
    pub descending: bool,
}

impl Default for Ordering {
    /// Newest first (`-created_at`).
    fn default() -> Self {
        Self {
            field: SortField::CreatedAt,
            descending: true,
        }
    }
}

impl Ordering {
    /// Every ordering, ascending and descending.
    pub const ALL: [Self; 8] = {
        use SortField::*;
        [
            Self {
                field: CreatedAt,
                descending: false,
            },
            Self {
                field: CreatedAt,
                descending: true,
            },
            Self {
                field: UpdatedAt,
                descending: false,
            },
            Self {
                field: UpdatedAt,
                descending: true,
            },
            Self {
                field: FullName,
                descending: false,
            },
            Self {
                field: FullName,
                descending: true,
            },
            Self {
                field: Status,
                descending: false,
            },
            Self {
                field: Status,
                descending: true,
            },
        ]
    };

    /// The `ordering` parameter's form: `created_at`, `-full_name`, …
    pub fn as_param(self) -> &'static str {
        use SortField::*;
        match (self.field, self.descending) {
            (CreatedAt, false) => "created_at",
            (CreatedAt, true) => "-created_at",
            (UpdatedAt, false) => "updated_at",
            (UpdatedAt, true) => "-updated_at",
            (FullName, false) => "full_name",
            (FullName, true) => "-full_name",
            (Status, false) => "status",
            (Status, true) => "-status",
        }
    }

    /// Reads the `ordering` parameter as DRF's `OrderingFilter` does: the terms are
    /// comma-separated, unknown terms are ignored; the first known term is used, and with
    /// none the default (`-created_at`) applies.
    pub fn from_param(param: &str) -> Self {
        param
            .split(',')
            .map(str::trim)
            .find_map(|term| Self::ALL.into_iter().find(|o| o.as_param() == term))
            .unwrap_or_default()
    }

    /// The reference order of leads.
    pub fn compare_leads(self, a: &Lead, b: &Lead) -> cmp::Ordering {
        let by_field = match self.field {
            SortField::CreatedAt => a.created_at.cmp(&b.created_at),
            SortField::UpdatedAt => a.updated_at.cmp(&b.updated_at),
            SortField::FullName => a.full_name.cmp(&b.full_name),
            SortField::Status => a.status.as_str().cmp(b.status.as_str()),
        };
        self.direct(by_field.then(a.id.cmp(&b.id)))
    }

    /// The reference order of subscribers.
    pub fn compare_subscribers(self, a: &Subscriber, b: &Subscriber) -> cmp::Ordering {
        let by_field = match self.field {
            SortField::CreatedAt => a.created_at.cmp(&b.created_at),
            SortField::UpdatedAt => a.updated_at.cmp(&b.updated_at),
            SortField::FullName => match (&a.full_name, &b.full_name) {
                (Some(x), Some(y)) => x.cmp(y),
                (x, y) => y.is_some().cmp(&x.is_some()),
            },
            SortField::Status => a.status.as_str().cmp(b.status.as_str()),
        };
        self.direct(by_field.then(a.id.cmp(&b.id)))
    }

    fn direct(self, o: cmp::Ordering) -> cmp::Ordering {
        if self.descending { o.reverse() } else { o }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_takes_the_first_known_term() {
        assert_eq!(
            Ordering::from_param("bogus,full_name").as_param(),
            "full_name"
        );
        assert_eq!(Ordering::from_param("").as_param(), "-created_at");
        assert_eq!(Ordering::from_param("-status").as_param(), "-status");
    }
}

//! Ids given by stores: positive 64-bit integers, one type per kind of record so that a
//! subscriber's id cannot be passed where a lead's is meant. Written once, by
//! [`id_type!`](crate::id_type).

/// Defines an id type: a positive `i64` with `new` (refusing zero and negatives), `get`,
/// `Display`, ordering and hashing.
#[macro_export]
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(i64);

        impl $name {
            /// The largest id.
            pub const MAX: Self = Self(i64::MAX);

            /// The id `value`, if it is positive.
            pub fn new(value: i64) -> Option<Self> {
                (value > 0).then_some(Self(value))
            }

            /// The number.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A lead's id.
    LeadId
);

id_type!(
    /// A subscriber's id.
    SubscriberId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive() {
        assert_eq!(LeadId::new(0), None);
        assert_eq!(SubscriberId::new(-3), None);
        assert_eq!(LeadId::new(7).map(LeadId::get), Some(7));
        assert_eq!(
            SubscriberId::new(12).map(|i| i.to_string()).as_deref(),
            Some("12")
        );
    }
}

//! Choices: the fixed ones (statuses), defined once by [`choice_enum!`](crate::choice_enum)
//! with their wire and storage names, and the configurable ones — which sources and
//! categories exist, and which e-mail domains are disposable ([`Policy`]).

use std::sync::Arc;

use crate::text::DisposableDomains;

/// A fixed set of named values (a status): what frontends and stores need to show,
/// parse and store one without listing its values again.
pub trait Choice: Copy + Eq + Send + Sync + 'static {
    /// Every value, in their natural order.
    const ALL: &'static [Self];
    /// The type's name, for schemas (`LeadStatus`).
    const NAME: &'static str;

    /// The wire and storage name of `self`.
    fn as_str(self) -> &'static str;

    /// The value named `name` exactly.
    fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == name)
    }
}

/// Defines a [`Choice`] enum: each variant with its doc and its name, the first one the
/// default; `ALL`, `as_str`, `parse` and `Display` come with it.
#[macro_export]
macro_rules! choice_enum {
    (
        $(#[$meta:meta])* $name:ident {
            $(#[$first_meta:meta])* $first:ident = $first_name:literal,
            $( $(#[$vmeta:meta])* $variant:ident = $vname:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub enum $name {
            $(#[$first_meta])*
            #[default]
            $first,
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [Self] = &[Self::$first, $(Self::$variant,)*];

            /// The wire and storage name.
            pub fn as_str(self) -> &'static str {
                match self {
                    Self::$first => $first_name,
                    $(Self::$variant => $vname,)*
                }
            }

            /// The value named `name` exactly.
            pub fn parse(name: &str) -> Option<Self> {
                <Self as $crate::domain::Choice>::parse(name)
            }
        }

        impl $crate::domain::Choice for $name {
            const ALL: &'static [Self] = Self::ALL;
            const NAME: &'static str = stringify!($name);

            fn as_str(self) -> &'static str {
                Self::as_str(self)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The allow-lists for `source` and `category`, with the contract's defaults.
///
/// Values are short machine names (`web_dev`); the first entry is not special: the
/// defaults for new records are [`Policy::default_source`] and [`Policy::default_category`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    sources: Arc<[String]>,
    categories: Arc<[String]>,
    default_source: String,
    default_category: String,
    disposable: DisposableDomains,
}

/// The contract's default sources.
pub const DEFAULT_SOURCES: &[&str] = &["website", "referral", "social", "email", "event", "other"];
/// The contract's default categories.
pub const DEFAULT_CATEGORIES: &[&str] = &[
    "web_dev",
    "mobile_dev",
    "design",
    "marketing",
    "consulting",
    "other",
];

/// A policy that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A choice list is empty.
    #[error("the list of {0} is empty")]
    Empty(&'static str),
    /// A default is not in its list.
    #[error("the default {what} {value:?} is not one of the {what}s")]
    DefaultNotListed {
        /// `source` or `category`.
        what: &'static str,
        /// The default given.
        value: String,
    },
    /// A value is not a machine name: 1–20 characters of `a-z`, `0-9` and `_`.
    #[error("{0:?} is not a valid choice name (1-20 characters of a-z, 0-9 and _)")]
    BadName(String),
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            sources: DEFAULT_SOURCES.iter().map(|s| (*s).to_owned()).collect(),
            categories: DEFAULT_CATEGORIES.iter().map(|s| (*s).to_owned()).collect(),
            default_source: "website".to_owned(),
            default_category: "other".to_owned(),
            disposable: DisposableDomains::default(),
        }
    }
}

impl Policy {
    /// A policy with its own lists and defaults. Names are limited to 20 characters of
    /// `a-z`, `0-9` and `_`, so that every store can keep them in a short column.
    pub fn new(
        sources: impl IntoIterator<Item = impl Into<String>>,
        default_source: impl Into<String>,
        categories: impl IntoIterator<Item = impl Into<String>>,
        default_category: impl Into<String>,
    ) -> Result<Self, PolicyError> {
        let sources: Vec<String> = sources.into_iter().map(Into::into).collect();
        let categories: Vec<String> = categories.into_iter().map(Into::into).collect();
        let (default_source, default_category) = (default_source.into(), default_category.into());
        for (what, list, default) in [
            ("source", &sources, &default_source),
            ("category", &categories, &default_category),
        ] {
            if list.is_empty() {
                return Err(PolicyError::Empty(what));
            }
            if let Some(bad) = list.iter().find(|n| !is_choice_name(n)) {
                return Err(PolicyError::BadName(bad.clone()));
            }
            if !list.contains(default) {
                return Err(PolicyError::DefaultNotListed {
                    what,
                    value: default.clone(),
                });
            }
        }
        Ok(Self {
            sources: sources.into(),
            categories: categories.into(),
            default_source,
            default_category,
            disposable: DisposableDomains::default(),
        })
    }

    /// This policy with `disposable` as the disposable-domain rule (the built-in list
    /// plus `DISPOSABLE_DOMAINS_BLOCK`, minus `DISPOSABLE_DOMAINS_ALLOW`).
    pub fn with_disposable_domains(mut self, disposable: DisposableDomains) -> Self {
        self.disposable = disposable;
        self
    }

    /// Which e-mail domains are refused as disposable.
    pub fn disposable_domains(&self) -> &DisposableDomains {
        &self.disposable
    }

    /// The allowed sources.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// The allowed categories.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    /// The source of a record created without one.
    pub fn default_source(&self) -> &str {
        &self.default_source
    }

    /// The category of a lead created without one.
    pub fn default_category(&self) -> &str {
        &self.default_category
    }

    /// The listed source equal to `value`.
    pub fn source(&self, value: &str) -> Option<String> {
        self.sources.iter().find(|s| *s == value).cloned()
    }

    /// The listed category equal to `value`.
    pub fn category(&self, value: &str) -> Option<String> {
        self.categories.iter().find(|s| *s == value).cloned()
    }
}

fn is_choice_name(name: &str) -> bool {
    (1..=20).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_contracts() {
        let p = Policy::default();
        assert_eq!(p.sources().len(), 6);
        assert_eq!(p.default_source(), "website");
        assert_eq!(p.default_category(), "other");
        assert_eq!(p.category("web_dev").as_deref(), Some("web_dev"));
        assert_eq!(p.category("Web_dev"), None);
    }

    #[test]
    fn bad_policies_are_refused() {
        assert_eq!(
            Policy::new(["a"], "b", ["c"], "c"),
            Err(PolicyError::DefaultNotListed {
                what: "source",
                value: "b".into()
            })
        );
        assert_eq!(
            Policy::new(["a b"], "a b", ["c"], "c"),
            Err(PolicyError::BadName("a b".into()))
        );
        assert!(Policy::new(["web", "shop"], "shop", ["x"], "x").is_ok());
    }
}

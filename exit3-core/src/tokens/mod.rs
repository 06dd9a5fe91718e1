//! Tokens in links: signed ones that carry what they are about and need no storage
//! (unsubscribe links, form tokens), checked against `SECRET_KEY` and each of
//! `SECRET_KEY_FALLBACKS` so that a key can be rotated without breaking the links
//! already sent; and random ones stored only as their SHA-256 (confirmation links, staff sessions).

mod confirmation;
mod signed;

pub use self::{
    confirmation::{ConfirmationToken, RandomToken, SessionToken, TokenHash},
    signed::{Purpose, Secrets, UnsubscribeToken},
};

//! Who may do what: API keys (compared in constant time), scopes and operations, and
//! the trusted-proxy rule that says who the client is.

mod keys;
mod proxy;
mod scope;

pub use self::{
    keys::{ApiKeys, Caller, Credential},
    proxy::{ProxyError, TrustedProxies},
    scope::{Operation, Scope},
};

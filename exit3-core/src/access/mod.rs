//! Who may do what: API keys (compared in constant time), staff passwords, scopes and
//! operations, and the trusted-proxy rule that says who the client is.

mod keys;
mod password;
mod proxy;
mod scope;

pub use self::{
    keys::{ApiKeys, Caller, CheckedSession, Credential, StaffIdentity},
    password::{NewPassword, PASSWORD_MAX, PASSWORD_MIN, PasswordHash},
    proxy::{ProxyError, TrustedProxies},
    scope::{Operation, Scope},
};

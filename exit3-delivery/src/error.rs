//! [`ConfigError`]: a mailer that cannot be built from its settings.

use lettre::{address::AddressError, transport::smtp::Error as SmtpError};

/// Why a mailer could not be built from its settings. Each message names the setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `DEFAULT_FROM_EMAIL` is not a mailbox.
    #[error(
        "DEFAULT_FROM_EMAIL {value:?} is not a mailbox such as `Exit Three <hello@exit3.agency>` \
         or `hello@exit3.agency`"
    )]
    From {
        /// The value given.
        value: String,
        /// What is wrong with it.
        #[source]
        source: AddressError,
    },
    /// `EMAIL_HOST` is empty.
    #[error("EMAIL_HOST is empty")]
    EmptyHost,
    /// `EMAIL_PORT` is 0.
    #[error("EMAIL_PORT must be a port number from 1 to 65535")]
    ZeroPort,
    /// Only one of `EMAIL_HOST_USER` and `EMAIL_HOST_PASSWORD` is set.
    #[error("EMAIL_HOST_USER and EMAIL_HOST_PASSWORD go together: set both, or neither")]
    HalfCredentials,
    /// Both `EMAIL_USE_TLS` and `EMAIL_USE_SSL` are on.
    #[error(
        "EMAIL_USE_TLS (STARTTLS) and EMAIL_USE_SSL (implicit TLS) exclude each other: turn one off"
    )]
    TlsAndSsl,
    /// `EMAIL_TIMEOUT` is zero.
    #[error("EMAIL_TIMEOUT must be more than zero")]
    ZeroTimeout,
    /// The pool size is zero.
    #[error("the SMTP pool size must be at least 1")]
    ZeroPoolSize,
    /// TLS could not be set up for `EMAIL_HOST`.
    #[error("TLS for EMAIL_HOST could not be set up")]
    Tls(#[source] SmtpError),
}

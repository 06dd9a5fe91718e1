//! The SMTP settings, with Django's names and defaults.

use std::{fmt, time::Duration};

use crate::{ConfigError, FromAddress};

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP, no TLS (Django's default; the usual port is 25).
    #[default]
    None,
    /// Plain connection upgraded with `STARTTLS`, which the server must offer
    /// (`EMAIL_USE_TLS`; the usual port is 587).
    StartTls,
    /// TLS from the first byte, "implicit TLS" or SMTPS (`EMAIL_USE_SSL`; the usual port
    /// is 465).
    Tls,
}

impl SmtpSecurity {
    /// From Django's two flags, `EMAIL_USE_TLS` (STARTTLS) and `EMAIL_USE_SSL` (implicit
    /// TLS), which exclude each other as in Django.
    pub fn from_django(use_tls: bool, use_ssl: bool) -> Result<Self, ConfigError> {
        match (use_tls, use_ssl) {
            (false, false) => Ok(Self::None),
            (true, false) => Ok(Self::StartTls),
            (false, true) => Ok(Self::Tls),
            (true, true) => Err(ConfigError::TlsAndSsl),
        }
    }
}

/// Where and how [`SmtpMailer`](crate::SmtpMailer) sends, with Django's setting names.
/// [`Default`] is Django's defaults: `localhost:25`, no login, no TLS, 10 s,
/// `webmaster@localhost`, and at most 4 connections.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpOptions {
    /// `EMAIL_HOST`: the server's name or address (`localhost`).
    pub host: String,
    /// `EMAIL_PORT` (25).
    pub port: u16,
    /// `EMAIL_HOST_USER`: with [`password`](Self::password), the login (`AUTH PLAIN` or
    /// `LOGIN`, whichever the server offers); without both, no login.
    pub username: Option<String>,
    /// `EMAIL_HOST_PASSWORD`. Never shown by `Debug`.
    pub password: Option<String>,
    /// `EMAIL_USE_TLS` / `EMAIL_USE_SSL` (see [`SmtpSecurity::from_django`]).
    pub security: SmtpSecurity,
    /// `EMAIL_TIMEOUT` (10 s): the most that connecting (with TLS and login) may take, and
    /// then again the most that sending one mail on that connection may take. Past it the
    /// attempt is a temporary failure and its connection is closed, never reused.
    pub timeout: Duration,
    /// `DEFAULT_FROM_EMAIL` (`webmaster@localhost`): the `From` of every mail, such as
    /// `Exit Three <hello@exit3.agency>`.
    pub from: String,
    /// The most connections open at once, and kept open between mails (4, the core's
    /// default delivery concurrency). More sends than that at a time wait for a
    /// connection.
    pub pool_size: u32,
}

impl SmtpOptions {
    /// Django's `EMAIL_PORT` default.
    pub const DEFAULT_PORT: u16 = 25;
    /// Django's `EMAIL_TIMEOUT` as this crate defaults it (Django itself has none).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default [`pool_size`](Self::pool_size).
    pub const DEFAULT_POOL_SIZE: u32 = 4;

    /// The defaults, sending through `host`.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            ..Self::default()
        }
    }

    /// Checks every setting; the first problem found is the error.
    pub(crate) fn validate(&self) -> Result<FromAddress, ConfigError> {
        let from = FromAddress::parse(&self.from)?;
        if self.host.trim().is_empty() {
            return Err(ConfigError::EmptyHost);
        }
        if self.port == 0 {
            return Err(ConfigError::ZeroPort);
        }
        if self.username.is_some() != self.password.is_some() {
            return Err(ConfigError::HalfCredentials);
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        if self.pool_size == 0 {
            return Err(ConfigError::ZeroPoolSize);
        }
        Ok(from)
    }
}

impl Default for SmtpOptions {
    fn default() -> Self {
        Self {
            host: "localhost".to_owned(),
            port: Self::DEFAULT_PORT,
            username: None,
            password: None,
            security: SmtpSecurity::None,
            timeout: Self::DEFAULT_TIMEOUT,
            from: FromAddress::DEFAULT.to_owned(),
            pool_size: Self::DEFAULT_POOL_SIZE,
        }
    }
}

impl fmt::Debug for SmtpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("security", &self.security)
            .field("timeout", &self.timeout)
            .field("from", &self.from)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_djangos() {
        let options = SmtpOptions::default();
        assert_eq!(options.host, "localhost");
        assert_eq!(options.port, 25);
        assert_eq!(options.security, SmtpSecurity::None);
        assert_eq!(options.timeout, Duration::from_secs(10));
        assert_eq!(options.from, "webmaster@localhost");
        assert!(options.validate().is_ok());
    }

    #[test]
    fn tls_and_ssl_exclude_each_other() {
        assert_eq!(
            SmtpSecurity::from_django(false, false).unwrap(),
            SmtpSecurity::None
        );
        assert_eq!(
            SmtpSecurity::from_django(true, false).unwrap(),
            SmtpSecurity::StartTls
        );
        assert_eq!(
            SmtpSecurity::from_django(false, true).unwrap(),
            SmtpSecurity::Tls
        );
        assert!(matches!(
            SmtpSecurity::from_django(true, true),
            Err(ConfigError::TlsAndSsl)
        ));
    }

    /// A change to the defaults, and the error it must give.
    type Case = (fn(&mut SmtpOptions), fn(&ConfigError) -> bool);

    #[test]
    fn every_bad_setting_is_an_error() {
        let cases: [Case; 6] = [
            (
                |o| o.from = "nobody".into(),
                |e| matches!(e, ConfigError::From { .. }),
            ),
            (
                |o| o.host = " ".into(),
                |e| matches!(e, ConfigError::EmptyHost),
            ),
            (|o| o.port = 0, |e| matches!(e, ConfigError::ZeroPort)),
            (
                |o| o.username = Some("u".into()),
                |e| matches!(e, ConfigError::HalfCredentials),
            ),
            (
                |o| o.timeout = Duration::ZERO,
                |e| matches!(e, ConfigError::ZeroTimeout),
            ),
            (
                |o| o.pool_size = 0,
                |e| matches!(e, ConfigError::ZeroPoolSize),
            ),
        ];
        for (change, expected) in cases {
            let mut options = SmtpOptions::default();
            change(&mut options);
            let error = options.validate().unwrap_err();
            assert!(expected(&error), "{error}");
        }
    }

    #[test]
    fn debug_never_shows_the_password() {
        let options = SmtpOptions {
            username: Some("mailer".into()),
            password: Some("hunter2".into()),
            ..SmtpOptions::default()
        };
        let shown = format!("{options:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}

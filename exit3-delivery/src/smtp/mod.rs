//! [`SmtpMailer`]: the core's [`Mailer`] over SMTP (lettre on tokio, rustls), with
//! Django's `EMAIL_*` settings in [`SmtpOptions`].

mod connections;
mod options;

use std::fmt;

use async_trait::async_trait;
use exit3_core::{Mail, MailError, Mailer};
use lettre::transport::smtp::{
    Error as SmtpError, authentication::Credentials, client::TlsParameters, extension::ClientId,
};

use self::connections::{Connections, Connector, SetupError, Transport};
pub use self::options::{SmtpOptions, SmtpSecurity};
use crate::{ConfigError, FromAddress, compose};

/// Sends mail over SMTP. Cheap to share (`Arc`), safe to call concurrently: at most
/// [`pool_size`](SmtpOptions::pool_size) connections are open at once, and a connection
/// that delivered a mail is kept (up to a minute idle) for the next one.
///
/// Outcomes, as the core's delivery step reads them:
///
/// | what happened | [`MailError`] |
/// |---|---|
/// | the server accepted the mail (2xx after `DATA`) | none: `Ok(())` |
/// | a 4xx reply to `MAIL`, `RCPT` or `DATA` | `Temporary` |
/// | a 5xx reply to `MAIL`, `RCPT` or `DATA` | `Permanent` |
/// | no connection: refused, DNS, TLS, timed out; or a refusal while connecting (greeting, `EHLO`, `STARTTLS`, `AUTH`, whatever the code: that is about this server's set-up, not the mail) | `Temporary` |
/// | no answer within [`timeout`](SmtpOptions::timeout), or the connection lost mid-mail | `Temporary` |
/// | a mail that cannot be composed (see [`compose`]), or an address this server cannot take (non-ASCII, without `SMTPUTF8`) | `Permanent` |
pub struct SmtpMailer {
    from: FromAddress,
    connector: Connector,
    connections: Connections,
    security: SmtpSecurity,
    pool_size: u32,
}

impl SmtpMailer {
    /// A mailer for `options`, checked: a `from` that is not a mailbox, an empty host,
    /// port 0, a user without a password (or the reverse), a zero timeout or pool size, or
    /// a TLS set-up that fails is an error. Connects to nothing yet, and needs no runtime:
    /// the first mail opens the first connection.
    pub fn new(options: SmtpOptions) -> Result<Self, ConfigError> {
        let from = options.validate()?;
        let host = options.host.trim().to_owned();
        let transport = match options.security {
            SmtpSecurity::None => Transport::Plain,
            SmtpSecurity::StartTls => Transport::StartTls(tls_parameters(&host)?),
            SmtpSecurity::Tls => Transport::ImplicitTls(tls_parameters(&host)?),
        };
        let credentials = match (options.username, options.password) {
            (Some(username), Some(password)) => Some(Credentials::new(username, password)),
            _ => None,
        };
        Ok(Self {
            from,
            connector: Connector {
                host,
                port: options.port,
                timeout: options.timeout,
                hello: ClientId::default(),
                transport,
                credentials,
            },
            connections: Connections::new(options.pool_size),
            security: options.security,
            pool_size: options.pool_size,
        })
    }

    /// The `From` of every mail.
    pub fn from_address(&self) -> &FromAddress {
        &self.from
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, ConfigError> {
    TlsParameters::new(host.to_owned()).map_err(ConfigError::Tls)
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let composed = compose(mail, &self.from)?;
        let message = composed.formatted();
        let timeout = self.connector.timeout;

        let Some(_turn) = self.connections.turn().await else {
            return Err(MailError::Temporary("the mailer is closed".to_owned()));
        };
        let mut connection =
            match tokio::time::timeout(timeout, self.connections.get(&self.connector)).await {
                Ok(Ok(connection)) => connection,
                Ok(Err(error)) => return Err(setup_failure(&self.connector, &error)),
                Err(_) => {
                    return Err(MailError::Temporary(format!(
                        "no connection to {}:{} within {timeout:?}",
                        self.connector.host, self.connector.port
                    )));
                }
            };
        match tokio::time::timeout(timeout, connection.send(composed.envelope(), &message)).await {
            Ok(Ok(_accepted)) => {
                self.connections.put(connection);
                tracing::debug!(target: "exit3_delivery::smtp", mail_id = %mail.id, "mail accepted");
                Ok(())
            }
            // lettre has closed the connection already.
            Ok(Err(error)) => Err(transaction_failure(&error)),
            // Dropping the connection closes it: its replies may be out of step now.
            Err(_) => Err(MailError::Temporary(format!(
                "the SMTP server did not finish taking the mail within {timeout:?}"
            ))),
        }
    }
}

/// Anything that kept a connection from being ready is temporary, whatever the reply
/// code: it says nothing about the mail.
fn setup_failure(connector: &Connector, error: &SetupError) -> MailError {
    let reason = match error {
        SetupError::Connect(error) => error.to_string(),
        SetupError::Smtp(error) => chain(error),
    };
    MailError::Temporary(format!(
        "no usable SMTP connection to {}:{}: {reason}",
        connector.host, connector.port
    ))
}

/// A reply about the mail: 5xx (and an address the server cannot take) for good, the
/// rest (4xx, a lost connection) for later.
fn transaction_failure(error: &SmtpError) -> MailError {
    if error.is_permanent() || error.is_client() {
        MailError::Permanent(format!(
            "the SMTP server refused the mail: {}",
            chain(error)
        ))
    } else if error.is_transient() {
        MailError::Temporary(format!(
            "the SMTP server deferred the mail: {}",
            chain(error)
        ))
    } else {
        MailError::Temporary(format!("sending the mail failed: {}", chain(error)))
    }
}

/// The error and every source below it, for the outbox's `last_error`.
fn chain(error: &SmtpError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("host", &self.connector.host)
            .field("port", &self.connector.port)
            .field("security", &self.security)
            .field("login", &self.connector.credentials.is_some())
            .field("timeout", &self.connector.timeout)
            .field("from", &self.from.to_string())
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailer_needs_no_runtime_and_connects_to_nothing_yet() {
        let mailer = SmtpMailer::new(SmtpOptions {
            security: SmtpSecurity::StartTls,
            host: "smtp.example.com".into(),
            port: 587,
            username: Some("mailer".into()),
            password: Some("hunter2".into()),
            from: "Exit Three <hello@exit3.agency>".into(),
            ..SmtpOptions::default()
        })
        .unwrap();
        assert_eq!(mailer.connections.idle(), 0);
        let shown = format!("{mailer:?}");
        assert!(shown.contains("smtp.example.com"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        drop(mailer);
    }

    #[test]
    fn a_bad_from_is_an_error_not_a_panic() {
        let error = SmtpMailer::new(SmtpOptions {
            from: "Exit Three <hello@>".into(),
            ..SmtpOptions::default()
        })
        .unwrap_err();
        assert!(error.to_string().contains("Exit Three <hello@>"), "{error}");
    }
}

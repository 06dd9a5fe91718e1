//! [`ConsoleMailer`]: the mailer without an SMTP server (`EMAIL_BACKEND=console`, the
//! default when `EMAIL_HOST` is unset), for development.

use async_trait::async_trait;
use exit3_core::{Mail, MailError, Mailer};

use crate::{ConfigError, FromAddress, compose};

/// The `tracing` target of the mails it writes.
pub const CONSOLE_TARGET: &str = "exit3_delivery::console";

/// Writes every mail to the log instead of sending it: one `INFO` event, target
/// [`CONSOLE_TARGET`], holding the headers and the whole text part, so that a developer
/// sees the confirmation link and can open it. The mail is composed exactly as
/// [`SmtpMailer`](crate::SmtpMailer) composes it.
///
/// It never fails to deliver; its only errors are a mail that cannot be composed (see
/// [`compose`]), which [`SmtpMailer`](crate::SmtpMailer) would refuse the same way.
#[derive(Debug, Clone, Default)]
pub struct ConsoleMailer {
    from: FromAddress,
}

impl ConsoleMailer {
    /// Writes mails from `from` (`DEFAULT_FROM_EMAIL`, a mailbox such as
    /// `Exit Three <hello@exit3.agency>`). [`Default`] is `webmaster@localhost`.
    pub fn new(from: &str) -> Result<Self, ConfigError> {
        Ok(Self::with_from(FromAddress::parse(from)?))
    }

    /// Writes mails from `from`.
    pub fn with_from(from: FromAddress) -> Self {
        Self { from }
    }

    /// The `From` of every mail.
    pub fn from_address(&self) -> &FromAddress {
        &self.from
    }
}

/// What the console shows of `mail`: its headers as sent, a blank line, its text part.
pub fn console_text(mail: &Mail, from: &FromAddress) -> Result<String, MailError> {
    let composed = compose(mail, from)?;
    let headers = composed.headers().replace("\r\n", "\n");
    Ok(format!("{}\n\n{}", headers.trim_end(), composed.text()))
}

#[async_trait]
impl Mailer for ConsoleMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let shown = console_text(mail, &self.from)?;
        tracing::info!(
            target: CONSOLE_TARGET,
            mail_id = %mail.id,
            to = %mail.to,
            "mail not sent (console backend; set EMAIL_HOST to send):\n{shown}"
        );
        Ok(())
    }
}

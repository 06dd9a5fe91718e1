//! From a core [`Mail`] to the message on the wire, once for every mailer: [`compose`]
//! renders the kind's templates and sets every header, so that [`SmtpMailer`] sends and
//! [`ConsoleMailer`] logs the same mail.
//!
//! [`SmtpMailer`]: crate::SmtpMailer
//! [`ConsoleMailer`]: crate::ConsoleMailer

mod templates;

use std::{fmt, str::FromStr};

use exit3_core::{Mail, MailError};
use lettre::{
    Address, Message,
    address::{AddressError, Envelope},
    message::{
        Mailbox, MultiPart,
        header::{HeaderName, HeaderValue},
    },
};

use self::templates::Frame;
use crate::ConfigError;

/// `Auto-Submitted` (RFC 3834): no auto-responder should answer this mail.
const AUTO_SUBMITTED: HeaderName = HeaderName::new_from_ascii_str("Auto-Submitted");
/// `List-Unsubscribe` (RFC 2369).
const LIST_UNSUBSCRIBE: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe");
/// `List-Unsubscribe-Post` (RFC 8058): the link above unsubscribes with one POST.
const LIST_UNSUBSCRIBE_POST: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe-Post");
/// The longest link put in a header: a header line may hold 998 characters.
const MAX_HEADER_URL: usize = 900;

/// The `From` of every mail (`DEFAULT_FROM_EMAIL`): a mailbox such as
/// `Exit Three <hello@exit3.agency>` or a bare address. Its domain is kept in ASCII
/// (IDNA) and names the `Message-ID`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromAddress {
    mailbox: Mailbox,
}

impl FromAddress {
    /// Django's default, `webmaster@localhost`.
    pub const DEFAULT: &'static str = "webmaster@localhost";

    /// Parses a mailbox (`Name <user@domain>` or `user@domain`).
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let invalid = |source| ConfigError::From {
            value: raw.to_owned(),
            source,
        };
        let parsed = Mailbox::from_str(raw.trim()).map_err(invalid)?;
        let email = ascii_address(parsed.email.user(), parsed.email.domain()).map_err(invalid)?;
        let name = parsed.name.filter(|name| !name.trim().is_empty());
        Ok(Self {
            mailbox: Mailbox::new(name, email),
        })
    }

    /// The display name, when there is one (`Exit Three`).
    pub fn name(&self) -> Option<&str> {
        self.mailbox.name.as_deref()
    }

    /// The address (`hello@exit3.agency`), its domain in ASCII.
    pub fn address(&self) -> &str {
        self.mailbox.email.as_ref()
    }

    /// The domain of the address, in ASCII (`exit3.agency`).
    pub fn domain(&self) -> &str {
        self.mailbox.email.domain()
    }
}

impl Default for FromAddress {
    fn default() -> Self {
        Self {
            mailbox: Mailbox::new(None, Address::new_dangerous("webmaster", "localhost")),
        }
    }
}

impl FromStr for FromAddress {
    type Err = ConfigError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

impl fmt::Display for FromAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.mailbox.fmt(f)
    }
}

/// One mail ready to go: the message (headers and `multipart/alternative` body) and its
/// two parts as rendered.
#[derive(Debug, Clone)]
pub struct ComposedMail {
    message: Message,
    text: String,
    html: String,
}

impl ComposedMail {
    /// Every header of the message as sent, `Content-Type` included (folded and
    /// encoded, CRLF line ends).
    pub fn headers(&self) -> String {
        let formatted = self.message.formatted();
        let end = formatted
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .map_or(formatted.len(), |at| at + 2);
        String::from_utf8_lossy(&formatted[..end]).into_owned()
    }

    /// The `text/plain` part, before transfer encoding.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The `text/html` part, before transfer encoding.
    pub fn html(&self) -> &str {
        &self.html
    }

    /// The whole message as sent over SMTP (CRLF line ends, 7-bit).
    pub fn formatted(&self) -> Vec<u8> {
        self.message.formatted()
    }

    /// The SMTP envelope: the From address and the recipient.
    pub(crate) fn envelope(&self) -> &Envelope {
        self.message.envelope()
    }
}

/// Builds the message for `mail`, sent by `from`: `From`, `To`, `Subject`, `Date`,
/// `Message-ID` (from [`Mail::id`], the same on every attempt), `Auto-Submitted:
/// auto-generated`, `Reply-To` when the mail has one, `List-Unsubscribe` and
/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058) when it has an
/// unsubscribe link, and a `multipart/alternative` body with the kind's text and HTML
/// templates (the unsubscribe link shown in both).
///
/// Errors are [`MailError::Permanent`]: a recipient that is not an address, a mail
/// without an id, an unsubscribe link that cannot go in a header, a kind without a
/// template. Trying again would fail the same way.
pub fn compose(mail: &Mail, from: &FromAddress) -> Result<ComposedMail, MailError> {
    let to = recipient(&mail.to)
        .map_err(|_| MailError::Permanent("the recipient is not a valid address".to_owned()))?;
    let subject = one_line(&mail.subject);
    let unsubscribe_url = mail
        .unsubscribe_url
        .as_deref()
        .map(header_url)
        .transpose()?;
    let bodies = templates::render(
        &mail.content,
        Frame {
            subject: &subject,
            sender_name: from.name(),
            unsubscribe_url,
        },
    )?;

    let mut builder = Message::builder()
        .from(from.mailbox.clone())
        .to(Mailbox::new(None, to))
        .subject(subject.clone())
        .date_now()
        .message_id(Some(message_id(&mail.id, from.domain())?))
        .raw_header(HeaderValue::new(
            AUTO_SUBMITTED,
            "auto-generated".to_owned(),
        ));
    if let Some(reply_to) = &mail.reply_to {
        match recipient(reply_to) {
            Ok(address) => builder = builder.reply_to(Mailbox::new(None, address)),
            // The core validated it; a mail without its Reply-To beats no mail.
            Err(_) => {
                tracing::warn!(mail_id = %mail.id, "Reply-To is not a valid address; left out")
            }
        }
    }
    if let Some(url) = unsubscribe_url {
        let value = format!("<{url}>");
        builder = builder
            .raw_header(HeaderValue::dangerous_new_pre_encoded(
                LIST_UNSUBSCRIBE,
                value.clone(),
                value,
            ))
            .raw_header(HeaderValue::new(
                LIST_UNSUBSCRIBE_POST,
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(
            bodies.text.clone(),
            bodies.html.clone(),
        ))
        .map_err(|error| MailError::Permanent(format!("the mail could not be built: {error}")))?;
    Ok(ComposedMail {
        message,
        text: bodies.text,
        html: bodies.html,
    })
}

/// An address with its domain in ASCII (IDNA), so that the envelope needs no SMTPUTF8
/// for an international domain.
fn recipient(raw: &str) -> Result<Address, AddressError> {
    let raw = raw.trim();
    let (user, domain) = raw.rsplit_once('@').ok_or(AddressError::MissingParts)?;
    ascii_address(user, domain)
}

fn ascii_address(user: &str, domain: &str) -> Result<Address, AddressError> {
    let domain = if domain.is_ascii() {
        domain.to_owned()
    } else {
        idna::domain_to_ascii(domain).map_err(|_| AddressError::InvalidDomain)?
    };
    Address::new(user, domain)
}

/// A header line of one line: control characters (a CR or LF above all) become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A link that can go verbatim between `<` and `>` in a header.
fn header_url(url: &str) -> Result<&str, MailError> {
    let plain = !url.is_empty()
        && url.len() <= MAX_HEADER_URL
        && url
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
    if plain {
        Ok(url)
    } else {
        Err(MailError::Permanent(
            "the unsubscribe link is not a plain ASCII URL".to_owned(),
        ))
    }
}

/// `<exit3.{id}@{domain}>`: the same for every attempt at one outbox message. Bytes of
/// the id other than letters, digits, `-` and `_` are written `=XX`, so that any id makes
/// a valid (RFC 5322 dot-atom) left part and different ids stay different.
fn message_id(id: &str, domain: &str) -> Result<String, MailError> {
    if id.is_empty() {
        return Err(MailError::Permanent(
            "the mail has no id for its Message-ID".to_owned(),
        ));
    }
    let mut left = String::with_capacity(id.len() + 6);
    left.push_str("exit3.");
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            left.push(char::from(byte));
        } else {
            left.push_str(&format!("={byte:02X}"));
        }
    }
    Ok(format!("<{left}@{domain}>"))
}

#[cfg(test)]
mod tests {
    use exit3_core::MailContent;

    use super::*;

    fn mail() -> Mail {
        Mail {
            id: "42".to_owned(),
            to: "ada@example.com".to_owned(),
            subject: "Please confirm your subscription".to_owned(),
            content: MailContent::Confirmation {
                confirm_url: "https://exit3.agency/backend/newsletter/confirm/?token=T".to_owned(),
            },
            unsubscribe_url: Some(
                "https://exit3.agency/backend/newsletter/unsubscribe/?token=U".to_owned(),
            ),
            reply_to: None,
        }
    }

    fn from() -> FromAddress {
        FromAddress::parse("Exit Three <hello@exit3.agency>").unwrap()
    }

    #[test]
    fn a_from_mailbox_parses_with_or_without_a_name() {
        let from = from();
        assert_eq!(from.name(), Some("Exit Three"));
        assert_eq!(from.address(), "hello@exit3.agency");
        assert_eq!(from.domain(), "exit3.agency");
        let bare = FromAddress::parse("webmaster@localhost").unwrap();
        assert_eq!(bare.name(), None);
        assert_eq!(bare, FromAddress::default());
        assert_eq!(FromAddress::parse(FromAddress::DEFAULT).unwrap(), bare);
    }

    #[test]
    fn a_from_that_is_not_a_mailbox_is_an_error() {
        for raw in ["", "Exit Three", "hello@", "<hello@exit3.agency", "a b@c"] {
            assert!(
                matches!(FromAddress::parse(raw), Err(ConfigError::From { .. })),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn an_international_domain_goes_out_in_ascii() {
        let from = FromAddress::parse("Bücher <hallo@bücher.example>").unwrap();
        assert_eq!(from.address(), "hallo@xn--bcher-kva.example");
        assert_eq!(
            recipient("leser@bücher.example").unwrap().to_string(),
            "leser@xn--bcher-kva.example"
        );
    }

    #[test]
    fn the_message_id_is_stable_and_valid_for_any_id() {
        assert_eq!(
            message_id("42", "exit3.agency").unwrap(),
            "<exit3.42@exit3.agency>"
        );
        assert_eq!(
            message_id("msg_a-B", "x").unwrap(),
            message_id("msg_a-B", "x").unwrap()
        );
        assert_eq!(message_id("a b@c=", "x").unwrap(), "<exit3.a=20b=40c=3D@x>");
        assert_ne!(
            message_id("a=20", "x").unwrap(),
            message_id("a ", "x").unwrap()
        );
        assert!(message_id("", "x").is_err());
    }

    #[test]
    fn every_header_is_set() {
        let composed = compose(&mail(), &from()).unwrap();
        let headers = composed.headers();
        for expected in [
            "From: \"Exit Three\" <hello@exit3.agency>\r\n",
            "To: ada@example.com\r\n",
            "Subject: Please confirm your subscription\r\n",
            "Message-ID: <exit3.42@exit3.agency>\r\n",
            "Auto-Submitted: auto-generated\r\n",
            "List-Unsubscribe: <https://exit3.agency/backend/newsletter/unsubscribe/?token=U>\r\n",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
            "Content-Type: multipart/alternative;",
        ] {
            assert!(headers.contains(expected), "{expected:?} not in\n{headers}");
        }
        assert!(headers.contains("Date: "));
        assert!(!headers.contains("Reply-To"));
        assert!(composed.formatted().is_ascii());
    }

    #[test]
    fn reply_to_is_set_when_the_mail_has_one() {
        let mut mail = mail();
        mail.reply_to = Some("lead@example.org".to_owned());
        let headers = compose(&mail, &from()).unwrap().headers();
        assert!(
            headers.contains("Reply-To: lead@example.org\r\n"),
            "{headers}"
        );
    }

    #[test]
    fn without_an_unsubscribe_link_there_are_no_list_headers() {
        let mut mail = mail();
        mail.unsubscribe_url = None;
        let headers = compose(&mail, &from()).unwrap().headers();
        assert!(!headers.contains("List-Unsubscribe"), "{headers}");
    }

    #[test]
    fn a_subject_cannot_add_headers() {
        let mut mail = mail();
        mail.subject = "Hello\r\nBcc: eve@example.com".to_owned();
        let headers = compose(&mail, &from()).unwrap().headers();
        assert!(!headers.contains("\r\nBcc:"), "{headers}");
    }

    #[test]
    fn a_bad_recipient_or_link_is_permanent() {
        let mut bad_to = mail();
        bad_to.to = "not an address".to_owned();
        assert!(matches!(
            compose(&bad_to, &from()),
            Err(MailError::Permanent(_))
        ));
        let mut bad_link = mail();
        bad_link.unsubscribe_url = Some("https://x.example/u>\r\nBcc: eve@example.com".to_owned());
        assert!(matches!(
            compose(&bad_link, &from()),
            Err(MailError::Permanent(_))
        ));
    }
}

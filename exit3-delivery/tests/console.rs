//! `ConsoleMailer` writes the whole mail to the log: a developer without an SMTP server
//! sees the confirmation link there.

use std::{
    io,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use exit3_core::{Mail, MailContent, MailError, Mailer};
use exit3_delivery::{CONSOLE_TARGET, ConsoleMailer, FromAddress, console_text};
use tracing_subscriber::fmt::MakeWriter;

const CONFIRM: &str = "http://127.0.0.1:8000/backend/newsletter/confirm/?token=abc&x=1";

fn confirmation() -> Mail {
    Mail {
        id: "7".to_owned(),
        to: "ada@example.com".to_owned(),
        subject: "Please confirm your subscription".to_owned(),
        content: MailContent::Confirmation {
            confirm_url: CONFIRM.to_owned(),
        },
        unsubscribe_url: Some(
            "http://127.0.0.1:8000/backend/newsletter/unsubscribe/?token=U".to_owned(),
        ),
        reply_to: None,
    }
}

/// Collects what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn bytes(&self) -> MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn the_console_mailer_logs_the_headers_and_the_whole_text_part() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mailer = ConsoleMailer::new("Exit Three <hello@exit3.agency>").unwrap();
    mailer.send(&confirmation()).await.unwrap();

    let logged = captured.text();
    assert!(logged.contains(" INFO "), "{logged}");
    assert!(logged.contains(CONSOLE_TARGET), "{logged}");
    assert!(logged.contains(CONFIRM), "the link, unescaped:\n{logged}");
    for header in [
        "From: \"Exit Three\" <hello@exit3.agency>",
        "To: ada@example.com",
        "Subject: Please confirm your subscription",
        "Message-ID: <exit3.7@exit3.agency>",
        "List-Unsubscribe: <http://127.0.0.1:8000/backend/newsletter/unsubscribe/?token=U>",
    ] {
        assert!(logged.contains(header), "{header:?} not in\n{logged}");
    }
    assert!(logged.contains("nothing happens"), "{logged}");
}

#[test]
fn the_console_shows_what_smtp_would_send() {
    let shown = console_text(&confirmation(), &FromAddress::default()).unwrap();
    let (headers, text) = shown.split_once("\n\n").unwrap();
    assert!(headers.contains("From: webmaster@localhost"), "{headers}");
    assert!(
        headers.contains("Content-Type: multipart/alternative"),
        "{headers}"
    );
    assert!(!headers.contains('\r'));
    assert!(
        text.starts_with("Please confirm your subscription."),
        "{text}"
    );
    assert!(text.contains(&format!("\n{CONFIRM}\n")), "{text}");
}

#[tokio::test]
async fn the_console_mailer_refuses_only_what_smtp_would_refuse() {
    let mut mail = confirmation();
    mail.to = "not an address".to_owned();
    let refused = ConsoleMailer::default().send(&mail).await;
    assert!(
        matches!(refused, Err(MailError::Permanent(_))),
        "{refused:?}"
    );
    assert!(ConsoleMailer::new("not a mailbox").is_err());
}

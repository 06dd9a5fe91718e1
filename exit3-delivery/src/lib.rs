//! # exit3-delivery
//!
//! Adapters for the ports of `exit3-core`: mail over SMTP and to the console, and the
//! worker loop that runs the core's delivery step. Usable without poem.
//!
//! - [`SmtpMailer`] sends over SMTP (lettre on tokio, rustls with the Mozilla roots),
//!   configured by [`SmtpOptions`] with Django's `EMAIL_*` settings.
//! - [`ConsoleMailer`] writes every mail to the log instead (the default without
//!   `EMAIL_HOST`).
//! - Both build each mail with [`compose`]: `multipart/alternative` with a text and an
//!   HTML part from askama templates (`templates/`), `Message-ID` from the outbox id,
//!   `Auto-Submitted`, and `List-Unsubscribe` with RFC 8058 one-click when the mail has
//!   an unsubscribe link.
//! - [`run_worker`] loops over [`Exit3::deliver_once`](exit3_core::Exit3::deliver_once)
//!   until shutdown.
//! - `testing` (feature `testing`): [`SmtpSink`](testing::SmtpSink), a real SMTP server
//!   on `127.0.0.1` for tests.
//!
//! ## Example
//!
//! A mailer for a provider on port 587 with STARTTLS, and the worker, stopped with the
//! process:
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//!
//! use exit3_core::{Exit3, Ports};
//! use exit3_delivery::{SmtpMailer, SmtpOptions, SmtpSecurity, WorkerOptions, run_worker};
//! use exit3_store_memory::MemoryStore;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mailer = SmtpMailer::new(SmtpOptions {
//!     host: "smtp.example.com".into(),
//!     port: 587,
//!     username: Some("apikey".into()),
//!     password: Some("secret".into()),
//!     security: SmtpSecurity::StartTls,
//!     from: "Exit Three <hello@exit3.agency>".into(),
//!     ..SmtpOptions::default()
//! })?; // a bad `from` or setting is an error here; nothing connects yet
//!
//! let exit3 = Exit3::builder(Arc::new(MemoryStore::new())).build();
//! let ports = Ports::new(Arc::new(mailer));
//! let (stop, shutdown) = tokio::sync::watch::channel(false);
//! let worker = tokio::spawn(run_worker(exit3, ports, WorkerOptions::default(), shutdown));
//!
//! // … serve requests; then, at shutdown:
//! stop.send(true)?;
//! // The step in flight finishes; bound the wait.
//! tokio::time::timeout(Duration::from_secs(30), worker).await??;
//! # Ok(())
//! # }
//! ```

mod compose;
mod console;
mod error;
mod smtp;
#[cfg(feature = "testing")]
pub mod testing;
mod webhook;
mod worker;

pub use self::{
    compose::{ComposedMail, FromAddress, compose},
    console::{CONSOLE_TARGET, ConsoleMailer, console_text},
    error::ConfigError,
    smtp::{SmtpMailer, SmtpOptions, SmtpSecurity},
    webhook::{HttpWebhookSender, WEBHOOK_TIMEOUT},
    worker::{WORKER_TARGET, WorkerOptions, run_worker},
};

//! A server that delivers: the app on 127.0.0.1 with its delivery worker sending over
//! real SMTP to a [`SmtpSink`] on 127.0.0.1, links in mails pointing back at the app.

use std::{sync::Arc, time::Duration};

use exit3_core::{DynStore, store::OutboxStore};
use exit3_delivery::{WorkerOptions, run_worker, testing::SmtpSink};
use exit3_server::{Metrics, app::wiring};
use mail_parser::MessageParser;
use tokio::sync::watch;

use super::{SwitchStore, TestApp, bind, serve_on, settings, switch};

/// The `SECRET_KEY` of every delivering app: two apps on one database verify each
/// other's links.
pub const SECRET: &str = "test-secret-key-with-more-than-fifty-characters-0123456789";

/// How long a test waits for mail.
pub const MAIL_WAIT: Duration = Duration::from_secs(15);

/// The app, its sink, its metrics, and its worker (stopped on drop).
pub struct Delivering {
    pub app: TestApp,
    pub sink: Arc<SmtpSink>,
    pub metrics: Metrics,
    stop: watch::Sender<bool>,
}

impl Drop for Delivering {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A delivering app over `store` with extra settings, sending to a sink of its own.
pub async fn spawn_delivering(store: DynStore, vars: &[(&str, &str)]) -> Delivering {
    let sink = Arc::new(
        SmtpSink::start()
            .await
            .unwrap_or_else(|e| panic!("the SMTP sink did not start: {e}")),
    );
    spawn_delivering_to(switch(store), sink, vars).await
}

/// A delivering app over `store`, sending to `sink` (several apps may share one).
pub async fn spawn_delivering_to(
    store: Arc<SwitchStore>,
    sink: Arc<SmtpSink>,
    vars: &[(&str, &str)],
) -> Delivering {
    let probe = settings(&[]);
    let bound = bind(&probe).await;
    let base = format!("http://{}", bound.local_addr());
    let port = sink.port().to_string();
    let mut all: Vec<(&str, &str)> = vec![
        ("PUBLIC_BASE_URL", &base),
        ("EMAIL_HOST", "127.0.0.1"),
        ("EMAIL_PORT", &port),
        ("EMAIL_TIMEOUT", "2s"),
        ("SECRET_KEY", SECRET),
        ("DEFAULT_FROM_EMAIL", "Exit Three <hello@exit3.example>"),
        ("THROTTLE_SUBSCRIBE", "off"),
        ("THROTTLE_GENERAL", "off"),
    ];
    all.extend_from_slice(vars);
    let settings = settings(&all);
    let metrics = Metrics::default();
    let (app, exit3) = serve_on(bound, &settings, store, metrics.clone());
    let ports = wiring::ports(&settings).unwrap_or_else(|e| panic!("{e}"));
    let (stop, stopped) = watch::channel(false);
    let options = WorkerOptions {
        poll_interval: Duration::from_millis(20),
        ..WorkerOptions::default()
    };
    tokio::spawn(run_worker(exit3, ports, options, stopped));
    Delivering {
        app,
        sink,
        metrics,
        stop,
    }
}

/// One received mail, parsed: what a reader (and a mail client) sees of it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub list_unsubscribe: String,
    pub list_unsubscribe_post: String,
    pub content_type: String,
}

impl Seen {
    /// The first link in the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let start = self
            .text
            .find(prefix)
            .unwrap_or_else(|| panic!("no {prefix} link in:\n{}", self.text));
        self.text[start..]
            .split(|c: char| c.is_whitespace() || c == '>')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// The URL of `List-Unsubscribe` (without its angle brackets).
    pub fn unsubscribe_url(&self) -> String {
        self.list_unsubscribe
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned()
    }
}

/// Parses every mail the sink received.
pub fn seen(sink: &SmtpSink) -> Vec<Seen> {
    sink.messages()
        .iter()
        .map(|m| {
            let message = MessageParser::default()
                .parse(m.data.as_bytes())
                .unwrap_or_else(|| panic!("not a MIME message:\n{}", m.data));
            let header = |name: &str| {
                message
                    .header_raw(name)
                    .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
                    .unwrap_or_default()
            };
            Seen {
                to: m.recipients.join(","),
                subject: message.subject().unwrap_or_default().to_owned(),
                text: message.body_text(0).unwrap_or_default().into_owned(),
                html: message.body_html(0).unwrap_or_default().into_owned(),
                list_unsubscribe: header("List-Unsubscribe"),
                list_unsubscribe_post: header("List-Unsubscribe-Post"),
                content_type: header("Content-Type"),
            }
        })
        .collect()
}

/// Waits until the sink holds `count` mails, and parses them.
pub async fn wait_for_mail(sink: &SmtpSink, count: usize) -> Vec<Seen> {
    sink.wait_for(count, MAIL_WAIT)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    seen(sink)
}

/// Waits until the outbox of `store` has nothing pending.
pub async fn wait_for_empty_outbox<S: OutboxStore + ?Sized>(store: &S) {
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
    loop {
        let stats = store.outbox_stats().await.unwrap_or_else(|e| panic!("{e}"));
        if stats.iter().all(|s| s.pending == 0) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the outbox still holds {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

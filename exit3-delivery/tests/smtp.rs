//! `SmtpMailer` against a real SMTP server over TCP (`testing::SmtpSink` on 127.0.0.1),
//! the received mail read back with a real MIME parser.

use std::{sync::Arc, time::Duration};

use exit3_core::{Mail, MailContent, MailError, Mailer};
use exit3_delivery::{SmtpMailer, SmtpOptions, testing::SmtpSink};
use mail_parser::MessageParser;

const WAIT: Duration = Duration::from_secs(10);
const CONFIRM: &str = "https://exit3.agency/backend/newsletter/confirm/?token=T0k3n";
const UNSUBSCRIBE: &str = "https://exit3.agency/backend/newsletter/unsubscribe/?token=U";

fn options(sink: &SmtpSink) -> SmtpOptions {
    SmtpOptions {
        host: sink.host(),
        port: sink.port(),
        from: "Exit Three <hello@exit3.agency>".into(),
        timeout: Duration::from_secs(5),
        pool_size: 4,
        ..SmtpOptions::default()
    }
}

fn confirmation(id: &str, to: &str) -> Mail {
    Mail {
        id: id.to_owned(),
        to: to.to_owned(),
        subject: "Please confirm your subscription".to_owned(),
        content: MailContent::Confirmation {
            confirm_url: CONFIRM.to_owned(),
        },
        unsubscribe_url: Some(UNSUBSCRIBE.to_owned()),
        reply_to: None,
    }
}

async fn sink_and_mailer() -> (SmtpSink, SmtpMailer) {
    let sink = SmtpSink::start()
        .await
        .unwrap_or_else(|e| panic!("the sink did not start: {e}"));
    let mailer = SmtpMailer::new(options(&sink)).unwrap_or_else(|e| panic!("{e}"));
    (sink, mailer)
}

#[tokio::test]
async fn a_confirmation_mail_arrives_with_every_header_and_both_parts() {
    let (sink, mailer) = sink_and_mailer().await;
    let mut mail = confirmation("41", "ada@example.com");
    mail.reply_to = Some("team@exit3.agency".to_owned());

    mailer.send(&mail).await.unwrap();

    let received = sink.wait_for(1, WAIT).await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].from, "hello@exit3.agency");
    assert_eq!(received[0].recipients, ["ada@example.com"]);

    let message = MessageParser::default()
        .parse(received[0].data.as_bytes())
        .expect("a MIME message");
    let from = message.from().and_then(|from| from.first()).unwrap();
    assert_eq!(from.name(), Some("Exit Three"));
    assert_eq!(from.address(), Some("hello@exit3.agency"));
    let to = message.to().and_then(|to| to.first()).unwrap();
    assert_eq!(to.address(), Some("ada@example.com"));
    let reply_to = message.reply_to().and_then(|r| r.first()).unwrap();
    assert_eq!(reply_to.address(), Some("team@exit3.agency"));
    assert_eq!(message.subject(), Some("Please confirm your subscription"));
    assert_eq!(message.message_id(), Some("exit3.41@exit3.agency"));
    let date = message.date().expect("a Date header").to_timestamp();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - date).abs() < 300, "Date is {date}, now is {now}");
    assert_eq!(
        message.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-generated")
    );
    let unsubscribe = message
        .list_unsubscribe()
        .as_address()
        .and_then(|list| list.first())
        .and_then(|addr| addr.address());
    assert_eq!(unsubscribe, Some(UNSUBSCRIBE));
    assert_eq!(
        message.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
    let content_type = message
        .header("Content-Type")
        .and_then(|value| value.as_content_type())
        .unwrap();
    assert_eq!(content_type.ctype(), "multipart");
    assert_eq!(content_type.subtype(), Some("alternative"));

    assert_eq!(message.text_body_count(), 1);
    assert_eq!(message.html_body_count(), 1);
    let text = message.body_text(0).unwrap();
    let html = message.body_html(0).unwrap();
    for (part, body) in [("text", &text), ("html", &html)] {
        assert!(
            body.contains(CONFIRM),
            "{part} part lacks the confirm link:\n{body}"
        );
        assert!(
            body.contains(UNSUBSCRIBE),
            "{part} part lacks the unsubscribe link:\n{body}"
        );
        assert!(body.contains("nothing happens"), "{part} part:\n{body}");
    }
    assert!(html.contains(&format!("href=\"{CONFIRM}\"")), "{html}");
}

#[tokio::test]
async fn links_are_escaped_in_the_html_part_only() {
    let (sink, mailer) = sink_and_mailer().await;
    let confirm = "https://exit3.agency/c/?token=a&next=<b>\"x\"";
    let unsubscribe = "https://exit3.agency/u/?token=U&list=news";
    let mut mail = confirmation("42", "ada@example.com");
    mail.content = MailContent::Confirmation {
        confirm_url: confirm.to_owned(),
    };
    mail.unsubscribe_url = Some(unsubscribe.to_owned());

    mailer.send(&mail).await.unwrap();

    let received = sink.wait_for(1, WAIT).await.unwrap();
    let message = MessageParser::default()
        .parse(received[0].data.as_bytes())
        .unwrap();
    let text = message.body_text(0).unwrap();
    let html = message.body_html(0).unwrap();
    assert!(text.contains(confirm), "{text}");
    assert!(text.contains(unsubscribe), "{text}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(!html.contains("&next"), "{html}");
    assert!(
        html.contains("token=a&#38;next=&#60;b&#62;&#34;x&#34;"),
        "{html}"
    );
    assert!(html.contains("token=U&#38;list=news"), "{html}");
}

#[tokio::test]
async fn a_4xx_reply_is_temporary() {
    let (sink, mailer) = sink_and_mailer().await;

    sink.refuse_rcpt(451);
    let rcpt = mailer.send(&confirmation("1", "ada@example.com")).await;
    assert!(matches!(rcpt, Err(MailError::Temporary(_))), "{rcpt:?}");

    sink.accept_all();
    sink.refuse_data(451);
    let data = mailer.send(&confirmation("2", "ada@example.com")).await;
    assert!(matches!(data, Err(MailError::Temporary(_))), "{data:?}");

    sink.accept_all();
    mailer
        .send(&confirmation("3", "ada@example.com"))
        .await
        .unwrap();
    let received = sink.wait_for(1, WAIT).await.unwrap();
    assert_eq!(received.len(), 1, "only the accepted mail is kept");
}

#[tokio::test]
async fn a_5xx_reply_is_permanent() {
    let (sink, mailer) = sink_and_mailer().await;

    sink.refuse_rcpt(550);
    let rcpt = mailer.send(&confirmation("1", "nobody@example.com")).await;
    match &rcpt {
        Err(MailError::Permanent(reason)) => assert!(reason.contains("550"), "{reason}"),
        other => panic!("expected a permanent failure, got {other:?}"),
    }

    sink.accept_all();
    sink.refuse_data(554);
    let data = mailer.send(&confirmation("2", "ada@example.com")).await;
    assert!(matches!(data, Err(MailError::Permanent(_))), "{data:?}");
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_stopped_server_is_temporary_and_a_restarted_one_gets_the_mail() {
    let (sink, mailer) = sink_and_mailer().await;
    // A first mail leaves a connection open for reuse; stopping closes it too.
    mailer
        .send(&confirmation("1", "ada@example.com"))
        .await
        .unwrap();
    sink.wait_for(1, WAIT).await.unwrap();

    sink.stop().await;
    for id in ["2", "3"] {
        let stopped = mailer.send(&confirmation(id, "ada@example.com")).await;
        assert!(
            matches!(stopped, Err(MailError::Temporary(_))),
            "{stopped:?}"
        );
    }

    sink.restart().await.unwrap();
    mailer
        .send(&confirmation("4", "ada@example.com"))
        .await
        .unwrap();
    let received = sink.wait_for(2, WAIT).await.unwrap();
    assert_eq!(received.len(), 2);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_as_temporary() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and keeps the connection, saying nothing (not even the greeting).
    let silent = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            kept.push(stream);
        }
    });
    let mailer = SmtpMailer::new(SmtpOptions {
        host: "127.0.0.1".into(),
        port,
        timeout: Duration::from_millis(300),
        ..SmtpOptions::default()
    })
    .unwrap();

    let started = std::time::Instant::now();
    let result = mailer.send(&confirmation("1", "ada@example.com")).await;
    assert!(matches!(result, Err(MailError::Temporary(_))), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    silent.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_all_arrive_over_at_most_pool_size_connections() {
    let (sink, mailer) = sink_and_mailer().await;
    let mailer = Arc::new(mailer);
    let permits = Arc::new(tokio::sync::Semaphore::new(4));
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..40 {
        let mailer = Arc::clone(&mailer);
        let permits = Arc::clone(&permits);
        sends.spawn(async move {
            let _four_at_a_time = permits.acquire().await.unwrap();
            let mail = confirmation(&format!("m{n}"), &format!("reader{n}@example.com"));
            mailer.send(&mail).await
        });
    }
    while let Some(sent) = sends.join_next().await {
        sent.unwrap().unwrap();
    }

    let received = sink.wait_for(40, WAIT).await.unwrap();
    assert_eq!(received.len(), 40);
    let mut ids: Vec<String> = received
        .iter()
        .map(|mail| {
            let message = MessageParser::default()
                .parse(mail.data.as_bytes())
                .unwrap();
            assert_eq!(
                message
                    .to()
                    .and_then(|to| to.first())
                    .and_then(|a| a.address()),
                Some(mail.recipients[0].as_str())
            );
            message.message_id().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40, "every mail has its own Message-ID");
    assert!(
        sink.connections_accepted() <= 4,
        "{} connections for a pool of 4",
        sink.connections_accepted()
    );
}

#[tokio::test]
async fn more_sends_than_the_pool_wait_for_a_connection() {
    let sink = SmtpSink::start().await.unwrap();
    let mailer = Arc::new(
        SmtpMailer::new(SmtpOptions {
            pool_size: 1,
            ..options(&sink)
        })
        .unwrap(),
    );
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..5 {
        let mailer = Arc::clone(&mailer);
        sends.spawn(async move {
            mailer
                .send(&confirmation(&format!("{n}"), "ada@example.com"))
                .await
        });
    }
    while let Some(sent) = sends.join_next().await {
        sent.unwrap().unwrap();
    }
    sink.wait_for(5, WAIT).await.unwrap();
    assert_eq!(sink.connections_accepted(), 1, "one connection, reused");
}

#[tokio::test]
async fn a_retry_carries_the_same_message_id() {
    let (sink, mailer) = sink_and_mailer().await;
    let mail = confirmation("outbox-7", "ada@example.com");
    mailer.send(&mail).await.unwrap();
    mailer.send(&mail).await.unwrap();
    let received = sink.wait_for(2, WAIT).await.unwrap();
    let ids: Vec<String> = received
        .iter()
        .map(|mail| {
            MessageParser::default()
                .parse(mail.data.as_bytes())
                .unwrap()
                .message_id()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        ["exit3.outbox-7@exit3.agency", "exit3.outbox-7@exit3.agency"]
    );
}

#[tokio::test]
async fn the_sink_can_be_cleared_and_times_out_waiting() {
    let (sink, mailer) = sink_and_mailer().await;
    mailer
        .send(&confirmation("1", "ada@example.com"))
        .await
        .unwrap();
    sink.wait_for(1, WAIT).await.unwrap();
    sink.clear();
    assert!(sink.messages().is_empty());
    let error = sink
        .wait_for(1, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_eq!((error.wanted, error.arrived), (1, 0));
}

#[tokio::test]
async fn a_server_without_starttls_tls_or_auth_is_a_temporary_set_up_failure() {
    let sink = SmtpSink::start().await.unwrap();
    let cases = [
        (
            "STARTTLS",
            SmtpOptions {
                security: exit3_delivery::SmtpSecurity::StartTls,
                ..options(&sink)
            },
        ),
        (
            "implicit TLS",
            SmtpOptions {
                security: exit3_delivery::SmtpSecurity::Tls,
                ..options(&sink)
            },
        ),
        (
            "AUTH",
            SmtpOptions {
                username: Some("mailer".into()),
                password: Some("secret".into()),
                ..options(&sink)
            },
        ),
    ];
    for (what, options) in cases {
        let mailer = SmtpMailer::new(options).unwrap();
        let result = mailer.send(&confirmation("1", "ada@example.com")).await;
        assert!(
            matches!(result, Err(MailError::Temporary(_))),
            "{what}: {result:?}"
        );
    }
    assert!(sink.messages().is_empty());
}

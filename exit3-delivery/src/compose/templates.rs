//! The bodies of each kind of mail: one askama template pair (text and HTML) per
//! [`MailContent`] kind, in `templates/`, on a shared layout that carries the
//! unsubscribe link. HTML is autoescaped; text is not escaped (it is not markup).

use askama::Template;
use exit3_core::{MailContent, MailError};

/// What every template sees besides its kind's own fields.
#[derive(Debug, Clone, Copy)]
pub(super) struct Frame<'a> {
    /// The subject line (the HTML `<title>`).
    pub subject: &'a str,
    /// The sender's display name (`Exit Three` of `Exit Three <hello@exit3.agency>`).
    pub sender_name: Option<&'a str>,
    /// The one-click unsubscribe link, shown in the footer of both parts.
    pub unsubscribe_url: Option<&'a str>,
}

/// The two parts of a mail, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Bodies {
    /// `text/plain`.
    pub text: String,
    /// `text/html`.
    pub html: String,
}

#[derive(Template)]
#[template(path = "confirmation.txt")]
struct ConfirmationText<'a> {
    frame: Frame<'a>,
    confirm_url: &'a str,
}

#[derive(Template)]
#[template(path = "confirmation.html")]
struct ConfirmationHtml<'a> {
    frame: Frame<'a>,
    confirm_url: &'a str,
}

#[derive(Template)]
#[template(path = "lead_notification.txt")]
struct LeadNotificationText<'a> {
    frame: Frame<'a>,
    fields: &'a [(String, String)],
    admin_url: &'a str,
}

#[derive(Template)]
#[template(path = "lead_notification.html")]
struct LeadNotificationHtml<'a> {
    frame: Frame<'a>,
    fields: &'a [(String, String)],
    admin_url: &'a str,
}

/// Renders both parts of `content`. A kind without templates (one the core added after
/// this crate) is a permanent failure: trying again would not find a template either.
pub(super) fn render(content: &MailContent, frame: Frame<'_>) -> Result<Bodies, MailError> {
    match content {
        MailContent::Confirmation { confirm_url } => Ok(Bodies {
            text: finish(ConfirmationText { frame, confirm_url }.render())?,
            html: finish(ConfirmationHtml { frame, confirm_url }.render())?,
        }),
        MailContent::LeadNotification { fields, admin_url } => Ok(Bodies {
            text: finish(
                LeadNotificationText {
                    frame,
                    fields,
                    admin_url,
                }
                .render(),
            )?,
            html: finish(
                LeadNotificationHtml {
                    frame,
                    fields,
                    admin_url,
                }
                .render(),
            )?,
        }),
        _ => Err(MailError::Permanent("no template for this mail".to_owned())),
    }
}

fn finish(rendered: askama::Result<String>) -> Result<String, MailError> {
    rendered
        .map_err(|error| MailError::Permanent(format!("the mail could not be rendered: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame<'a>(unsubscribe_url: Option<&'a str>) -> Frame<'a> {
        Frame {
            subject: "Please confirm your subscription",
            sender_name: Some("Exit Three"),
            unsubscribe_url,
        }
    }

    fn confirmation(url: &str) -> MailContent {
        MailContent::Confirmation {
            confirm_url: url.to_owned(),
        }
    }

    #[test]
    fn the_confirmation_text_carries_the_link_and_says_nothing_happens_without_it() {
        let bodies = render(
            &confirmation("https://exit3.agency/backend/newsletter/confirm/?token=T"),
            frame(Some(
                "https://exit3.agency/backend/newsletter/unsubscribe/?token=U",
            )),
        )
        .unwrap();
        assert!(
            bodies
                .text
                .contains("\nhttps://exit3.agency/backend/newsletter/confirm/?token=T\n")
        );
        assert!(bodies.text.contains("nothing happens"));
        assert!(bodies.text.contains("not subscribed unless"));
        assert!(bodies.text.contains("the Exit Three newsletter"));
        assert!(
            bodies
                .text
                .contains("https://exit3.agency/backend/newsletter/unsubscribe/?token=U")
        );
        assert!(bodies.html.contains("Confirm my subscription"));
        assert!(bodies.html.contains("nothing happens"));
    }

    #[test]
    fn without_an_unsubscribe_link_no_footer_mentions_one() {
        let bodies = render(&confirmation("https://x.example/c?token=T"), frame(None)).unwrap();
        assert!(!bodies.text.contains("unsubscribe"));
        assert!(!bodies.html.contains("unsubscribe"));
    }

    #[test]
    fn the_html_part_escapes_and_the_text_part_does_not() {
        let bodies = render(
            &confirmation("https://x.example/c?a=1&token=<T>\"'"),
            frame(Some("https://x.example/u?a=1&b=2")),
        )
        .unwrap();
        assert!(bodies.text.contains("https://x.example/c?a=1&token=<T>\"'"));
        assert!(!bodies.html.contains("<T>"));
        // askama writes numeric character references.
        assert!(bodies.html.contains("a=1&#38;token=&#60;T&#62;&#34;&#39;"));
        assert!(bodies.html.contains("https://x.example/u?a=1&#38;b=2"));
    }

    #[test]
    fn the_lead_notification_lists_every_field_and_escapes_them_in_html() {
        let content = MailContent::LeadNotification {
            fields: vec![
                ("Name".to_owned(), "Ada <b>Lovelace</b>".to_owned()),
                ("Message".to_owned(), "Call me\nsoon".to_owned()),
            ],
            admin_url: "https://x.example/backend/admin/leads/7/".to_owned(),
        };
        let bodies = render(&content, frame(None)).unwrap();
        assert!(bodies.text.contains("Name: Ada <b>Lovelace</b>\n"));
        assert!(bodies.text.contains("Message: Call me\nsoon\n"));
        assert!(
            bodies
                .text
                .contains("\nhttps://x.example/backend/admin/leads/7/\n")
        );
        assert!(!bodies.html.contains("<b>Lovelace"));
        assert!(bodies.html.contains("Ada &#60;b&#62;Lovelace"));
        assert!(
            bodies
                .html
                .contains("href=\"https://x.example/backend/admin/leads/7/\"")
        );
    }

    #[test]
    fn text_lines_stay_short_enough_to_read() {
        let bodies = render(
            &confirmation("https://x.example/c?token=T"),
            frame(Some("u")),
        )
        .unwrap();
        for line in bodies.text.lines() {
            assert!(line.chars().count() <= 78, "{line:?} is too long");
        }
    }
}

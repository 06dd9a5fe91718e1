//! The newsletter's settings (consent.md §1): double opt-in, the links in mails, the
//! signing keys, and how mail goes out (Django's `EMAIL_*` names).

use std::{net::SocketAddr, time::Duration};

use exit3_core::{service::NewsletterSettings, tokens::Secrets};
use exit3_delivery::{FromAddress, SmtpOptions, SmtpSecurity};

use super::reader::Reader;

/// `EMAIL_BACKEND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailBackend {
    /// Every mail is written to the log (the default without `EMAIL_HOST`).
    Console,
    /// Every mail is sent over SMTP.
    Smtp,
}

/// How mail goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// `EMAIL_BACKEND`.
    pub backend: EmailBackend,
    /// `EMAIL_*` and `DEFAULT_FROM_EMAIL` (the `from` is used by both backends).
    pub smtp: SmtpOptions,
    /// Whether `PUBLIC_BASE_URL` was set (the default, made of `BIND`, rarely reaches a
    /// reader of the mail).
    pub public_base_url_set: bool,
}

/// An absolute `http`/`https` URL without a query or fragment, or why not.
fn check_url(value: &str, query_allowed: bool) -> Result<(), String> {
    let Some(rest) = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
    else {
        return Err("it must start with https:// (or http://)".into());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err("it has no host".into());
    }
    if value.contains('#') || (!query_allowed && value.contains('?')) {
        return Err("it must not have a query or a fragment".into());
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it holds white space".into());
    }
    Ok(())
}

/// Reads the newsletter's settings; `bind` makes the default `PUBLIC_BASE_URL`.
pub(super) fn read_newsletter(r: &mut Reader<'_>, bind: SocketAddr) -> NewsletterSettings {
    let double_opt_in = r.bool("NEWSLETTER_DOUBLE_OPT_IN");
    let confirm_ttl = r.duration("NEWSLETTER_CONFIRM_TTL", Duration::from_secs(60));
    let consent_text = r.get("NEWSLETTER_CONSENT_TEXT");
    if let Some(text) = &consent_text
        && text.chars().count() > exit3_core::domain::CONSENT_TEXT_MAX
    {
        r.problem(format!(
            "NEWSLETTER_CONSENT_TEXT is longer than {} characters",
            exit3_core::domain::CONSENT_TEXT_MAX
        ));
    }
    let public_base_url = match r.get("PUBLIC_BASE_URL") {
        Some(url) => {
            if let Err(why) = check_url(&url, false) {
                r.problem(format!(
                    "PUBLIC_BASE_URL={url:?} is not a base URL such as https://exit3.agency ({why})"
                ));
            }
            url.trim_end_matches('/').to_owned()
        }
        None => format!("http://{bind}"),
    };
    let confirm_url = r.get("NEWSLETTER_CONFIRM_URL");
    if let Some(url) = &confirm_url
        && let Err(why) = check_url(url, true)
    {
        r.problem(format!(
            "NEWSLETTER_CONFIRM_URL={url:?} is not a page URL such as \
             https://exit3.agency/newsletter/confirm ({why})"
        ));
    }
    NewsletterSettings {
        double_opt_in,
        confirm_ttl,
        consent_text,
        public_base_url,
        confirm_url,
    }
}

/// Reads `EMAIL_*` and `DEFAULT_FROM_EMAIL`.
pub(super) fn read_mail(r: &mut Reader<'_>) -> MailSettings {
    let host = r.get("EMAIL_HOST");
    let backend = match r.get("EMAIL_BACKEND").map(|b| b.to_ascii_lowercase()) {
        None if host.is_some() => EmailBackend::Smtp,
        None => EmailBackend::Console,
        Some(b) if b == "smtp" || b == "django.core.mail.backends.smtp.emailbackend" => {
            EmailBackend::Smtp
        }
        Some(b) if b == "console" || b == "django.core.mail.backends.console.emailbackend" => {
            EmailBackend::Console
        }
        Some(b) => {
            r.problem(format!("EMAIL_BACKEND={b:?} is neither console nor smtp"));
            EmailBackend::Console
        }
    };
    if backend == EmailBackend::Smtp && host.is_none() {
        r.problem("EMAIL_BACKEND=smtp needs EMAIL_HOST");
    }
    let port = r.number("EMAIL_PORT", 1..=u16::MAX, "a port number");
    let username = r.get("EMAIL_HOST_USER");
    let password = r.get("EMAIL_HOST_PASSWORD");
    if username.is_some() != password.is_some() {
        r.problem("EMAIL_HOST_USER and EMAIL_HOST_PASSWORD go together: set both, or neither");
    }
    let (use_tls, use_ssl) = (r.bool("EMAIL_USE_TLS"), r.bool("EMAIL_USE_SSL"));
    let security = SmtpSecurity::from_django(use_tls, use_ssl).unwrap_or_else(|e| {
        r.problem(e.to_string());
        SmtpSecurity::None
    });
    let timeout = r.duration("EMAIL_TIMEOUT", Duration::from_secs(1));
    let from = r.text("DEFAULT_FROM_EMAIL").unwrap_or_default();
    if let Err(e) = FromAddress::parse(&from) {
        r.problem(e.to_string());
    }
    let public_base_url_set = r.get("PUBLIC_BASE_URL").is_some();
    MailSettings {
        backend,
        smtp: SmtpOptions {
            host: host.unwrap_or_else(|| "localhost".to_owned()),
            port,
            username,
            password,
            security,
            timeout,
            from,
            ..SmtpOptions::default()
        },
        public_base_url_set,
    }
}

/// The signing keys: `SECRET_KEY` with `SECRET_KEY_FALLBACKS`; without a `SECRET_KEY`, a
/// random key for this process only (its links stop working at the next start).
pub(super) fn secrets(secret_key: Option<&str>, fallbacks: &[String]) -> Secrets {
    match secret_key {
        Some(key) => Secrets::new(key, fallbacks),
        None => Secrets::random(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(check_url("https://exit3.agency", false).is_ok());
        assert!(check_url("http://127.0.0.1:8000/", false).is_ok());
        assert!(check_url("exit3.agency", false).is_err());
        assert!(check_url("https://", false).is_err());
        assert!(check_url("https://a.b/?x=1", false).is_err());
        assert!(check_url("https://a.b/confirm?x=1", true).is_ok());
        assert!(check_url("https://a.b/#x", true).is_err());
    }
}

//! `check --deploy`: every setting unfit for production — the checks of Django's
//! `check --deploy` that apply, and exit3's own.

use std::collections::HashSet;

use exit3_core::ThrottleScope;

use exit3_delivery::SmtpSecurity;

use super::{Database, EmailBackend, HostPattern, MIN_KEY_LEN, Settings};

/// The shortest `SECRET_KEY` Django's check accepts (security.W009); the contract's
/// floor is [`MIN_KEY_LEN`].
const SECRET_KEY_MIN: usize = 50;

/// Words that mark a value as copied from an example rather than made for this
/// deployment (the example file carries no usable keys, but documentation and old
/// copies of it do).
const PLACEHOLDER_MARKS: &[&str] = &[
    "change-me",
    "changeme",
    "change_me",
    "replace-me",
    "replace_me",
    "replaceme",
    "placeholder",
    "example",
    "your-",
    "your_",
    "insecure",
    "secret-key",
    "xxxxxxxx",
    "todo",
];

/// Whether `value` looks like a placeholder: a marker word, or so few different
/// characters that nobody generated it.
pub fn is_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let distinct: HashSet<char> = lower.chars().collect();
    PLACEHOLDER_MARKS.iter().any(|m| lower.contains(m)) || distinct.len() < 5
}

impl Settings {
    /// Every setting unfit for production.
    pub fn deploy_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.webhook_allow_private {
            out.push(
                "WEBHOOK_ALLOW_PRIVATE is on: webhooks may reach this network's private \
                 addresses (development only)"
                    .into(),
            );
        }
        if self.debug {
            out.push("DEBUG is on: turn it off in production (security.W018)".into());
        }
        match &self.secret_key {
            None => out
                .push("SECRET_KEY is not set: it signs links and sessions (security.W009)".into()),
            Some(k) if is_placeholder(k) => out.push(
                "SECRET_KEY is a placeholder: generate one, e.g. `openssl rand -base64 48` \
                 (security.W009)"
                    .into(),
            ),
            Some(k) if k.chars().count() < MIN_KEY_LEN => out.push(format!(
                "SECRET_KEY is shorter than {MIN_KEY_LEN} characters: it signs links and \
                 sessions (security.W009)"
            )),
            Some(k) if k.chars().count() < SECRET_KEY_MIN || k.starts_with("django-insecure-") => {
                out.push(format!(
                    "SECRET_KEY is weak: use at least {SECRET_KEY_MIN} characters (security.W009)"
                ));
            }
            Some(_) => {}
        }
        if self.generated_admin_key.is_some() {
            out.push("BASIC_API_KEY is not set: a random key is generated at every start".into());
        }
        for (name, keys) in [
            ("BASIC_API_KEY", &self.admin_keys),
            ("PUBLIC_API_KEY", &self.public_keys),
        ] {
            if keys.iter().any(|k| k.chars().count() < MIN_KEY_LEN) {
                out.push(format!(
                    "{name} has a key shorter than {MIN_KEY_LEN} characters"
                ));
            }
            if self.generated_admin_key.is_none() && keys.iter().any(|k| is_placeholder(k)) {
                out.push(format!(
                    "{name} has a placeholder key: generate one, e.g. `openssl rand -hex 32`"
                ));
            }
        }
        if self.allowed_hosts.contains(&HostPattern::Any) {
            out.push("ALLOWED_HOSTS contains '*': any Host header is accepted".into());
        }
        if self.trusted_proxies.trusts_everyone() {
            out.push(
                "TRUSTED_PROXIES contains 0.0.0.0/0 or ::/0: every client can choose its own \
                 address (and throttle key) with X-Forwarded-For"
                    .into(),
            );
        }
        let off: Vec<&str> = ThrottleScope::ALL
            .into_iter()
            .filter(|s| self.rates.get(*s).is_none())
            .map(|s| s.spec().setting)
            .collect();
        if !off.is_empty() {
            out.push(format!(
                "throttling is off for {}: the public key is in the website's JavaScript",
                off.join(", ")
            ));
        }
        if !self.secure_ssl_redirect {
            out.push(
                "SECURE_SSL_REDIRECT is not true: plain HTTP is served (security.W008)".into(),
            );
        }
        if self.hsts_seconds == 0 {
            out.push("SECURE_HSTS_SECONDS is not set: no HSTS (security.W004)".into());
        }
        if self.database == Database::Memory {
            out.push(
                "no DATABASE_URL / DB_NAME: data is kept in memory and lost at every restart"
                    .into(),
            );
        }
        self.mail_problems(&mut out);
        out
    }

    /// What keeps mail from reaching people, or from being trusted when it does.
    fn mail_problems(&self, out: &mut Vec<String>) {
        if self.secret_key_fallbacks.iter().any(|k| is_placeholder(k)) {
            out.push("SECRET_KEY_FALLBACKS has a placeholder key".into());
        }
        let mail = &self.mail;
        if self.newsletter.double_opt_in && mail.backend == EmailBackend::Console {
            out.push(
                "EMAIL_BACKEND is console (no EMAIL_HOST) with NEWSLETTER_DOUBLE_OPT_IN on: \
                 confirmation mails are only written to the log, so nobody can confirm"
                    .into(),
            );
        }
        if !mail.public_base_url_set {
            out.push(format!(
                "PUBLIC_BASE_URL is not set: links in mails point at {}, which readers \
                 cannot reach",
                self.newsletter.public_base_url
            ));
        } else if self.newsletter.public_base_url.starts_with("http://") {
            out.push("PUBLIC_BASE_URL is not https: links in mails are sent in clear".into());
        }
        if mail.smtp.from.trim() == exit3_delivery::FromAddress::DEFAULT {
            out.push(
                "DEFAULT_FROM_EMAIL is webmaster@localhost: providers refuse or bin mail from it"
                    .into(),
            );
        }
        let local = ["localhost", "127.0.0.1", "::1"].contains(&mail.smtp.host.as_str());
        if mail.backend == EmailBackend::Smtp && mail.smtp.security == SmtpSecurity::None && !local
        {
            out.push(format!(
                "EMAIL_HOST {} without EMAIL_USE_TLS or EMAIL_USE_SSL: mail (and the \
                 password) crosses the network in clear",
                mail.smtp.host
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_told_from_generated_values() {
        for p in [
            "change-me-to-at-least-32-random-characters",
            "REPLACE_ME_WITH_A_REAL_KEY_0123456789",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "django-insecure-example-key-0123456789abcdef",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for real in [
            "3f9a1c0e7b2d4f6a8c1e3b5d7f9a2c4e6b8d0f1a3c5e7b9d",
            "Kq7vN2pXw9sL4tR8mZ1cB6yH3jF5gD0a",
        ] {
            assert!(!is_placeholder(real), "{real}");
        }
    }
}

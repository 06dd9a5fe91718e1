//! Every setting's name and default, written once: `.env.example` and the README's
//! configuration table list exactly these (a test checks).

use exit3_core::ThrottleScope;

/// A setting the server reads: its name and its default as written in configuration
/// (empty: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The variable's name.
    pub name: &'static str,
    /// The default, in the variable's own syntax; empty when there is none.
    pub default: &'static str,
}

const fn setting(name: &'static str, default: &'static str) -> Setting {
    Setting { name, default }
}

/// Every setting the server reads besides the throttle rates (`THROTTLE_*`, in the
/// core's [`ThrottleScope::spec`] table): `.env.example` and the README's configuration
/// table list exactly these (a test checks).
pub const SETTINGS: &[Setting] = &[
    setting("SECRET_KEY", ""),
    setting("SECRET_KEY_FALLBACKS", ""),
    setting("DEBUG", "false"),
    setting("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]"),
    setting("BASIC_API_KEY", ""),
    setting("PUBLIC_API_KEY", ""),
    setting("DATABASE_URL", ""),
    setting("DB_NAME", ""),
    setting("DB_USER", "postgres"),
    setting("DB_PASSWORD", ""),
    setting("DB_HOST", "localhost"),
    setting("DB_PORT", "5432"),
    setting("DB_POOL_SIZE", "10"),
    setting("DB_STATEMENT_TIMEOUT", "5s"),
    setting("DB_ACQUIRE_TIMEOUT", "2s"),
    setting("CORS_ALLOWED_ORIGINS", ""),
    setting("SENTRY_DSN", ""),
    setting("SENTRY_ENVIRONMENT", ""),
    setting("BIND", "127.0.0.1:8000"),
    setting("TRUSTED_PROXIES", ""),
    setting("THROTTLE_IPV6_PREFIX", "64"),
    setting("DISPOSABLE_DOMAINS_BLOCK", ""),
    setting("DISPOSABLE_DOMAINS_ALLOW", ""),
    setting("SECURE_SSL_REDIRECT", "false"),
    setting("SECURE_HSTS_SECONDS", "0"),
    setting("SECURE_HSTS_PRELOAD", "false"),
    setting("REQUEST_TIMEOUT", "15s"),
    setting("MAX_CONNECTIONS", "10000"),
    setting("API_DOCS", "true"),
    setting("MAINTENANCE_INTERVAL", "5s"),
    setting("WORKER", "on"),
    setting("WEBHOOK_ALLOW_PRIVATE", "false"),
    setting("LEAD_NOTIFY_EMAILS", ""),
    setting("IDEMPOTENCY_TTL", "24h"),
    setting("SESSION_COOKIE_AGE", "12h"),
    setting("RETENTION_QUARANTINE_DAYS", "30"),
    setting("RETENTION_PENDING_DAYS", "30"),
    setting("RETENTION_CLIENT_INFO_DAYS", "off"),
    setting("RETENTION_LEAD_DAYS", "off"),
    setting("RETENTION_DELIVERIES_DAYS", "30"),
    setting("SPAM_HONEYPOT_FIELD", "website"),
    setting("FORM_TOKEN", "optional"),
    setting("FORM_TOKEN_MIN_AGE", "3s"),
    setting("FORM_TOKEN_MAX_AGE", "24h"),
    setting("SPAM_MAX_LINKS", "3"),
    setting("PUBLIC_BASE_URL", ""),
    setting("NEWSLETTER_DOUBLE_OPT_IN", "true"),
    setting("NEWSLETTER_CONFIRM_URL", ""),
    setting("NEWSLETTER_CONFIRM_TTL", "72h"),
    setting("NEWSLETTER_CONSENT_TEXT", ""),
    setting("EMAIL_BACKEND", ""),
    setting("EMAIL_HOST", ""),
    setting("EMAIL_PORT", "25"),
    setting("EMAIL_HOST_USER", ""),
    setting("EMAIL_HOST_PASSWORD", ""),
    setting("EMAIL_USE_TLS", "false"),
    setting("EMAIL_USE_SSL", "false"),
    setting("EMAIL_TIMEOUT", "10s"),
    setting("DEFAULT_FROM_EMAIL", "webmaster@localhost"),
    setting("LOG_FORMAT", "json"),
    setting("LOG_LEVEL", "info"),
    setting("LOG_FILE", ""),
    setting("SHUTDOWN_TIMEOUT", "10"),
];

/// Every setting's name, the throttle rates included.
pub fn setting_names() -> impl Iterator<Item = &'static str> {
    SETTINGS
        .iter()
        .map(|s| s.name)
        .chain(ThrottleScope::ALL.into_iter().map(|s| s.spec().setting))
}

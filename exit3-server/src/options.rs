//! What the mounted API needs to know about its deployment — and nothing about the
//! process: no environment variables, no store, no logging. The binary builds these from
//! its settings; an embedder from its own configuration.

use std::time::Duration;

use exit3_core::TrustedProxies;

use crate::{metrics::Metrics, middleware::hosts::HostPattern};

/// The options of [`endpoint`](crate::endpoint). `Default` is the contract's defaults:
/// hosts `localhost`, `127.0.0.1` and `[::1]`, no trusted proxy, no HTTPS redirect or
/// HSTS, no CORS, a 15 s request timeout, docs on, a fresh metrics registry, pages
/// signed "Exit Three".
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// 500 bodies carry the error chain (`DEBUG=true`).
    pub debug: bool,
    /// `ALLOWED_HOSTS`: the `Host` values answered; others get 400.
    pub allowed_hosts: Vec<HostPattern>,
    /// `TRUSTED_PROXIES`: whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: TrustedProxies,
    /// `SECURE_SSL_REDIRECT`: plain HTTP is answered 301 to `https://`.
    pub secure_ssl_redirect: bool,
    /// `SECURE_HSTS_SECONDS` (0: no `Strict-Transport-Security`).
    pub hsts_seconds: u64,
    /// `SECURE_HSTS_PRELOAD`.
    pub hsts_preload: bool,
    /// `CORS_ALLOWED_ORIGINS`: exact origins that get CORS headers.
    pub cors_allowed_origins: Vec<String>,
    /// `REQUEST_TIMEOUT`: a request not answered by then answers 503.
    pub request_timeout: Duration,
    /// `API_DOCS`: serve `/backend/api/docs/` and `/backend/api/schema/`.
    pub api_docs: bool,
    /// The registry `/backend/metrics` serves and requests are counted in.
    pub metrics: Metrics,
    /// The name the newsletter's confirm and unsubscribe pages show (the binary takes the
    /// display name of `DEFAULT_FROM_EMAIL`, so pages and mails name the same sender).
    pub site_name: String,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            debug: false,
            allowed_hosts: ["localhost", "127.0.0.1", "[::1]"]
                .map(HostPattern::parse)
                .into(),
            trusted_proxies: TrustedProxies::none(),
            secure_ssl_redirect: false,
            hsts_seconds: 0,
            hsts_preload: false,
            cors_allowed_origins: Vec::new(),
            request_timeout: Duration::from_secs(15),
            api_docs: true,
            metrics: Metrics::default(),
            site_name: "Exit Three".to_owned(),
        }
    }
}

impl HttpOptions {
    /// These options with every `Host` allowed (`*`): for tests and for an application
    /// that checks hosts itself.
    pub fn any_host(mut self) -> Self {
        self.allowed_hosts = vec![HostPattern::Any];
        self
    }

    /// Whether `host` (lower-case, without port) is allowed.
    pub fn host_allowed(&self, host: &str) -> bool {
        self.allowed_hosts.iter().any(|p| p.matches(host))
    }
}

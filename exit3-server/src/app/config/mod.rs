//! Configuration (§8 of the contract): environment variables, optionally from `.env`,
//! with the Django backend's names. Every problem is reported at once, in one message.
//! Each setting's name and default are written once, in [`SETTINGS`] (throttle rates in
//! the core's scope table), and read through one `Reader`.

mod capture;
mod database;
mod deploy;
mod keys;
mod newsletter;
mod reader;
mod retention;
mod staff_site;
mod table;

use std::{collections::HashMap, fmt, net::SocketAddr, path::PathBuf, time::Duration};

use exit3_core::{
    ApiKeys, DisposableDomains, DynStore, Exit3, Exit3Builder, Policy, RateSetting, ThrottleRates,
    ThrottleScope, TrustedProxies, service::NewsletterSettings,
};

use self::reader::Reader;
pub use self::{
    capture::CaptureSettings,
    database::Database,
    keys::{MIN_KEY_LEN, generate_key},
    newsletter::{EmailBackend, MailSettings},
    reader::{comma_list, parse_duration},
    staff_site::StaffSiteSettings,
    table::{SETTINGS, Setting, setting_names},
};
pub use crate::middleware::HostPattern;
use crate::{HttpOptions, Metrics, server::Limits};

/// `LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (the default).
    Json,
    /// Human-readable lines (`pretty`, or its older name `text`).
    Pretty,
}

/// The server's settings.
#[derive(Clone)]
pub struct Settings {
    /// `SECRET_KEY` (checked by `check --deploy`): signs unsubscribe links (and sessions).
    pub secret_key: Option<String>,
    /// `SECRET_KEY_FALLBACKS`: earlier keys whose signatures still hold, as in Django.
    pub secret_key_fallbacks: Vec<String>,
    /// `DEBUG`: 500 bodies carry the error chain; short keys allowed.
    pub debug: bool,
    /// `ALLOWED_HOSTS`.
    pub allowed_hosts: Vec<HostPattern>,
    /// `BASIC_API_KEY` (or the generated key): the admin keys.
    pub admin_keys: Vec<String>,
    /// `PUBLIC_API_KEY`: the public keys.
    pub public_keys: Vec<String>,
    /// The key generated because `BASIC_API_KEY` was unset; print it once.
    pub generated_admin_key: Option<String>,
    /// The store.
    pub database: Database,
    /// `DB_POOL_SIZE`: the most PostgreSQL connections this instance opens (default
    /// 10). Each instance has its own pool; keep the sum of all instances below the
    /// database's `max_connections`.
    pub db_pool_size: u32,
    /// `DB_STATEMENT_TIMEOUT`: PostgreSQL's `statement_timeout`, `lock_timeout` and
    /// `idle_in_transaction_session_timeout` on every connection.
    pub db_statement_timeout: Duration,
    /// `DB_ACQUIRE_TIMEOUT`: the longest wait for a pooled connection (then 503).
    pub db_acquire_timeout: Duration,
    /// `CORS_ALLOWED_ORIGINS`: exact origins.
    pub cors_allowed_origins: Vec<String>,
    /// `SENTRY_DSN`: error reports go to Sentry when set.
    pub sentry_dsn: Option<String>,
    /// `SENTRY_ENVIRONMENT`: the environment name on error reports.
    pub sentry_environment: Option<String>,
    /// `BIND`.
    pub bind: SocketAddr,
    /// `TRUSTED_PROXIES`.
    pub trusted_proxies: TrustedProxies,
    /// `THROTTLE_*`.
    pub rates: ThrottleRates,
    /// `THROTTLE_IPV6_PREFIX`: IPv6 clients are throttled per network of this many bits.
    pub ipv6_prefix: u8,
    /// `DISPOSABLE_DOMAINS_BLOCK` / `DISPOSABLE_DOMAINS_ALLOW` over the built-in list.
    pub disposable_domains: DisposableDomains,
    /// `SECURE_SSL_REDIRECT`.
    pub secure_ssl_redirect: bool,
    /// `SECURE_HSTS_SECONDS` (0: no HSTS).
    pub hsts_seconds: u64,
    /// `SECURE_HSTS_PRELOAD`.
    pub hsts_preload: bool,
    /// `REQUEST_TIMEOUT`: a request not answered by then answers 503.
    pub request_timeout: Duration,
    /// `MAX_CONNECTIONS`: the most connections open at once; more wait to be accepted.
    pub max_connections: usize,
    /// `API_DOCS`: serve `/backend/api/docs/` and `/backend/api/schema/`.
    pub api_docs: bool,
    /// `MAINTENANCE_INTERVAL`: how often the maintenance task runs (purging expired
    /// throttle state, compacting counts).
    pub maintenance_interval: Duration,
    /// `WORKER`: whether `serve` runs the delivery worker (`off`: another process does,
    /// e.g. `exit3-server worker`).
    pub worker: bool,
    /// `WEBHOOK_ALLOW_PRIVATE` (development only): webhook URLs may be `http://` and
    /// reach loopback and private addresses.
    pub webhook_allow_private: bool,
    /// `LEAD_NOTIFY_EMAILS`, `IDEMPOTENCY_TTL`, the spam defence.
    pub capture: CaptureSettings,
    /// The staff site (`SESSION_COOKIE_AGE`).
    pub staff_site: StaffSiteSettings,
    /// `RETENTION_*` (privacy.md §2).
    pub retention: exit3_core::privacy::RetentionPolicy,
    /// `PUBLIC_BASE_URL` and `NEWSLETTER_*`.
    pub newsletter: NewsletterSettings,
    /// `EMAIL_*` and `DEFAULT_FROM_EMAIL`.
    pub mail: MailSettings,
    /// `LOG_FORMAT` (`json`, or `pretty` alias `text`).
    pub log_format: LogFormat,
    /// `LOG_LEVEL`: a `tracing` filter (`info`, `warn,exit3_server=debug`); `RUST_LOG`
    /// wins when set.
    pub log_level: String,
    /// `LOG_FILE`: also log to this file, rotated at 10 MB, 5 old files kept.
    pub log_file: Option<PathBuf>,
    /// `SHUTDOWN_TIMEOUT` in seconds: how long in-flight requests may take after SIGTERM.
    pub shutdown_timeout: u64,
}

impl fmt::Debug for Settings {
    /// Never shows a key or a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("debug", &self.debug)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("database", &self.database)
            .field("db_pool_size", &self.db_pool_size)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("bind", &self.bind)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("rates", &self.rates)
            .field("secure_ssl_redirect", &self.secure_ssl_redirect)
            .field("hsts_seconds", &self.hsts_seconds)
            .finish_non_exhaustive()
    }
}

/// Every problem of a configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub Vec<String>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the configuration cannot work:")?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Settings {
    /// Reads the process environment, after loading `.env` from the working directory
    /// if there is one (variables already set win).
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        let vars: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self::from_vars(&vars)
    }

    /// Reads settings from variables; every problem is collected.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut r = Reader::new(vars);
        let debug = r.bool("DEBUG");
        let allowed_hosts = r
            .list("ALLOWED_HOSTS")
            .iter()
            .map(|h| HostPattern::parse(h))
            .collect();
        let (admin_keys, public_keys, generated_admin_key) = keys::read_keys(&mut r, debug);
        let database = database::read_database(&mut r);
        let db_pool_size = r.number("DB_POOL_SIZE", 1..=1000, "a number of connections");
        let db_statement_timeout = r.duration("DB_STATEMENT_TIMEOUT", Duration::from_millis(100));
        let db_acquire_timeout = r.duration("DB_ACQUIRE_TIMEOUT", Duration::from_millis(100));
        let bind = r
            .parsed::<SocketAddr>("BIND", "an address:port such as 127.0.0.1:8000")
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8000)));
        let trusted_proxies = r
            .parsed::<TrustedProxies>("TRUSTED_PROXIES", "a list of IPs and CIDRs")
            .unwrap_or_default();
        let mut rates = ThrottleRates::default();
        for scope in ThrottleScope::ALL {
            let rate = r.parsed::<RateSetting>(scope.spec().setting, "a rate");
            rates.set(scope, rate.and_then(|r| r.0));
        }
        let ipv6_prefix = r.number("THROTTLE_IPV6_PREFIX", 32..=128, "a prefix length");
        let (block, allow) = (
            r.list("DISPOSABLE_DOMAINS_BLOCK"),
            r.list("DISPOSABLE_DOMAINS_ALLOW"),
        );
        let disposable_domains = DisposableDomains::new(&block, &allow).unwrap_or_else(|e| {
            r.problem(format!("DISPOSABLE_DOMAINS_BLOCK/ALLOW: {e}"));
            DisposableDomains::default()
        });
        let secure_ssl_redirect = r.bool("SECURE_SSL_REDIRECT");
        let hsts_seconds = r.number("SECURE_HSTS_SECONDS", 0..=u64::MAX, "a number of seconds");
        let hsts_preload = r.bool("SECURE_HSTS_PRELOAD");
        let request_timeout = r.duration("REQUEST_TIMEOUT", Duration::from_millis(100));
        let max_connections = r.number("MAX_CONNECTIONS", 1..=1_000_000, "a number of connections");
        let api_docs = r.bool("API_DOCS");
        let maintenance_interval = r.duration("MAINTENANCE_INTERVAL", Duration::from_millis(100));
        let shutdown_timeout = r.number("SHUTDOWN_TIMEOUT", 0..=u64::MAX, "a number of seconds");
        let log_format = match r
            .text("LOG_FORMAT")
            .map(|f| f.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("json") => LogFormat::Json,
            Some("pretty" | "text") => LogFormat::Pretty,
            Some(f) => {
                r.problem(format!("LOG_FORMAT={f:?} is neither json nor pretty"));
                LogFormat::Json
            }
        };
        let log_level = r.text("LOG_LEVEL").unwrap_or_default();
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log_level) {
            r.problem(format!(
                "LOG_LEVEL={log_level:?} is not a level or filter such as info ({e})"
            ));
        }
        let log_file = r.get("LOG_FILE").map(PathBuf::from);
        let sentry_dsn = r.get("SENTRY_DSN");
        if let Some(dsn) = &sentry_dsn
            && let Err(e) = dsn.parse::<sentry::types::Dsn>()
        {
            r.problem(format!(
                "SENTRY_DSN is not a DSN such as https://key@o1.ingest.sentry.io/1 ({e})"
            ));
        }
        let cors_allowed_origins = r.list("CORS_ALLOWED_ORIGINS");
        for origin in &cors_allowed_origins {
            let ok = (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin.ends_with('/');
            if !ok {
                r.problem(format!(
                    "CORS_ALLOWED_ORIGINS: {origin:?} is not an origin such as https://example.com"
                ));
            }
        }
        let secret_key = r.get("SECRET_KEY");
        let secret_key_fallbacks = r.list("SECRET_KEY_FALLBACKS");
        let sentry_environment = r.get("SENTRY_ENVIRONMENT");
        let worker = r.bool("WORKER");
        let webhook_allow_private = r.bool("WEBHOOK_ALLOW_PRIVATE");
        let capture = capture::read_capture(&mut r);
        let staff_site = staff_site::read(&mut r);
        let retention = retention::read(&mut r);
        let newsletter = newsletter::read_newsletter(&mut r, bind);
        let mail = newsletter::read_mail(&mut r);

        if !r.problems.is_empty() {
            return Err(ConfigError(r.problems));
        }
        Ok(Self {
            secret_key,
            secret_key_fallbacks,
            debug,
            allowed_hosts,
            admin_keys,
            public_keys,
            generated_admin_key,
            database,
            db_pool_size,
            db_statement_timeout,
            db_acquire_timeout,
            cors_allowed_origins,
            sentry_dsn,
            sentry_environment,
            bind,
            trusted_proxies,
            rates,
            ipv6_prefix,
            disposable_domains,
            secure_ssl_redirect,
            hsts_seconds,
            hsts_preload,
            request_timeout,
            max_connections,
            api_docs,
            maintenance_interval,
            worker,
            webhook_allow_private,
            capture,
            staff_site,
            retention,
            newsletter,
            mail,
            log_format,
            log_level,
            log_file,
            shutdown_timeout,
        })
    }

    /// The HTTP options these settings stand for, counting into `metrics`.
    pub fn http_options(&self, metrics: Metrics) -> HttpOptions {
        HttpOptions {
            debug: self.debug,
            allowed_hosts: self.allowed_hosts.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            secure_ssl_redirect: self.secure_ssl_redirect,
            hsts_seconds: self.hsts_seconds,
            hsts_preload: self.hsts_preload,
            cors_allowed_origins: self.cors_allowed_origins.clone(),
            request_timeout: self.request_timeout,
            api_docs: self.api_docs,
            metrics,
            site_name: self.site_name(),
        }
    }

    /// The name pages show: the display name of `DEFAULT_FROM_EMAIL`, else `Exit Three`.
    pub fn site_name(&self) -> String {
        exit3_delivery::FromAddress::parse(&self.mail.smtp.from)
            .ok()
            .and_then(|f| f.name().map(str::to_owned))
            .unwrap_or_else(|| "Exit Three".to_owned())
    }

    /// A service over `store` with these settings' keys, rates, IPv6 keying, disposable
    /// domains, newsletter rules and signing keys (add the clock and the observer as
    /// needed).
    pub fn service_builder(&self, store: DynStore) -> Exit3Builder {
        Exit3::builder(store)
            .keys(self.api_keys())
            .rates(self.rates)
            .ipv6_prefix(self.ipv6_prefix)
            .policy(Policy::default().with_disposable_domains(self.disposable_domains.clone()))
            .newsletter(self.newsletter.clone())
            .secrets(newsletter::secrets(
                self.secret_key.as_deref(),
                &self.secret_key_fallbacks,
            ))
            .webhook_allow_private(self.webhook_allow_private)
            .notify(self.capture.notify.clone())
            .idempotency_ttl(self.capture.idempotency_ttl)
            .spam(self.capture.spam.clone())
            .session_age(self.staff_site.session_age)
            .retention(self.retention)
    }

    /// The retention policy in words, for the start-up log.
    pub fn retention_summary(&self) -> String {
        retention::describe(&self.retention)
    }

    /// What the listener allows its clients (`MAX_CONNECTIONS`, the 15 s head timeout).
    pub fn limits(&self) -> Limits {
        Limits {
            max_connections: self.max_connections,
            ..Limits::default()
        }
    }

    /// The configured keys.
    pub fn api_keys(&self) -> ApiKeys {
        ApiKeys::new(&self.admin_keys, &self.public_keys)
    }

    /// Whether `host` (lower-case, without port) is allowed.
    pub fn host_allowed(&self, host: &str) -> bool {
        self.allowed_hosts.iter().any(|p| p.matches(host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = Settings::from_vars(&vars(&[
            ("BASIC_API_KEY", "short"),
            ("THROTTLE_GENERAL", "10/week"),
            ("TRUSTED_PROXIES", "nope"),
            ("BIND", "here"),
            ("DEBUG", "maybe"),
            ("DB_POOL_SIZE", "0"),
        ]))
        .err()
        .unwrap_or_else(|| panic!("should fail"));
        assert_eq!(err.0.len(), 6, "{err}");
    }

    #[test]
    fn defaults_are_the_contracts() {
        let s = Settings::from_vars(&vars(&[])).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.generated_admin_key.is_some());
        assert_eq!(s.bind.to_string(), "127.0.0.1:8000");
        assert!(s.host_allowed("localhost") && s.host_allowed("[::1]"));
        assert!(!s.host_allowed("example.com"));
        assert_eq!(s.database, Database::Memory);
        assert_eq!(s.db_pool_size, 10);
        assert!(!s.deploy_problems().is_empty());
    }

    #[test]
    fn db_variables_make_a_url() {
        let s = Settings::from_vars(&vars(&[
            ("DB_NAME", "exit3"),
            ("DB_USER", "app"),
            ("DB_PASSWORD", "p@ss word"),
            ("DB_HOST", "db"),
            ("DB_POOL_SIZE", "32"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.db_pool_size, 32);
        assert_eq!(
            s.database,
            Database::Postgres("postgres://app:p%40ss%20word@db:5432/exit3".into())
        );
    }
}

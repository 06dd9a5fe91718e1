//! Configuration (§8 of the contract): environment variables, optionally from `.env`,
//! with the Django backend's names. Every problem is reported at once, in one message.

use std::{collections::HashMap, fmt, net::SocketAddr, path::PathBuf};

use exit3_core::{ApiKeys, RateSetting, ThrottleRates, TrustedProxies};
use rand::{Rng, distr::Alphanumeric};

/// The shortest key accepted with `DEBUG=false`.
pub const MIN_KEY_LEN: usize = 32;

/// An `ALLOWED_HOSTS` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// `*`: every host.
    Any,
    /// `.example.com`: the domain and its subdomains (held without the dot).
    Domain(String),
    /// An exact host name.
    Exact(String),
}

impl HostPattern {
    fn parse(entry: &str) -> Self {
        let entry = entry.trim().to_ascii_lowercase();
        if entry == "*" {
            Self::Any
        } else if let Some(domain) = entry.strip_prefix('.') {
            Self::Domain(domain.to_owned())
        } else {
            Self::Exact(entry)
        }
    }

    /// Whether `host` (lower-case, without port) matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(h) => h == host,
            Self::Domain(d) => {
                host == d
                    || host
                        .strip_suffix(d.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            }
        }
    }

    /// A concrete host name for this entry (for the `healthcheck` command).
    pub fn example(&self) -> &str {
        match self {
            Self::Any => "localhost",
            Self::Domain(d) | Self::Exact(d) => d,
        }
    }
}

/// Where the data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// In memory: lost at exit.
    Memory,
    /// A PostgreSQL URL (from `DATABASE_URL` or `DB_*`).
    Postgres(String),
}

impl fmt::Debug for Database {
    /// Never shows the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("Memory"),
            Self::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

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
    /// `SECRET_KEY` (unused by the API itself; checked by `check --deploy`).
    pub secret_key: Option<String>,
    /// `DEBUG`: 500 bodies carry the error chain; short keys allowed.
    pub debug: bool,
    /// `ALLOWED_HOSTS`.
    pub allowed_hosts: Vec<HostPattern>,
    /// `BASIC_API_KEY`, comma-separated (or the generated key).
    pub admin_keys: String,
    /// `PUBLIC_API_KEY`, comma-separated.
    pub public_keys: Option<String>,
    /// The key generated because `BASIC_API_KEY` was unset; print it once.
    pub generated_admin_key: Option<String>,
    /// The store.
    pub database: Database,
    /// `DB_POOL_SIZE`: the most PostgreSQL connections this instance opens (default
    /// 10). Each instance has its own pool; keep the sum of all instances below the
    /// database's `max_connections`.
    pub db_pool_size: u32,
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
    /// `SECURE_SSL_REDIRECT`.
    pub secure_ssl_redirect: bool,
    /// `SECURE_HSTS_SECONDS` (0: no HSTS).
    pub hsts_seconds: u64,
    /// `SECURE_HSTS_PRELOAD`.
    pub hsts_preload: bool,
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

fn truthy(name: &str, value: &str, problems: &mut Vec<String>) -> bool {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => true,
        "0" | "false" | "no" | "off" | "" => false,
        other => {
            problems.push(format!("{name}={other:?} is not a boolean (true/false)"));
            false
        }
    }
}

/// The non-empty, trimmed entries of a comma-separated list.
pub fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Percent-encodes a URL userinfo or path part.
fn encode(part: &str) -> String {
    part.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A fresh admin key: 48 random alphanumeric characters.
pub fn generate_key() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(48)
        .map(char::from)
        .collect()
}

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
        let get = |name: &str| {
            vars.get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();

        let debug = get("DEBUG").is_some_and(|v| truthy("DEBUG", &v, &mut problems));
        let allowed_hosts = get("ALLOWED_HOSTS")
            .map(|v| comma_list(&v))
            .unwrap_or_else(|| vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()])
            .iter()
            .map(|h| HostPattern::parse(h))
            .collect();

        let (admin_keys, generated_admin_key) = match get("BASIC_API_KEY") {
            Some(keys) => (keys, None),
            None => {
                let key = generate_key();
                (key.clone(), Some(key))
            }
        };
        if comma_list(&admin_keys).is_empty() {
            problems.push("BASIC_API_KEY holds no key".into());
        }
        let public_keys = get("PUBLIC_API_KEY");
        if !debug {
            for (name, list) in [
                ("BASIC_API_KEY", Some(&admin_keys)),
                ("PUBLIC_API_KEY", public_keys.as_ref()),
            ] {
                let short = list
                    .map(|l| comma_list(l))
                    .unwrap_or_default()
                    .iter()
                    .filter(|k| k.chars().count() < MIN_KEY_LEN)
                    .count();
                if short > 0 {
                    problems.push(format!(
                        "{name} has {short} key(s) shorter than {MIN_KEY_LEN} characters \
                         (allowed only with DEBUG=true)"
                    ));
                }
            }
        }
        if let (Some(public), false) = (&public_keys, admin_keys.is_empty()) {
            let admin = comma_list(&admin_keys);
            if comma_list(public).iter().any(|k| admin.contains(k)) {
                problems.push("PUBLIC_API_KEY repeats a key of BASIC_API_KEY".into());
            }
        }

        let database = match get("DATABASE_URL") {
            Some(url) => Database::Postgres(url),
            None => match get("DB_NAME") {
                Some(name) => {
                    let user = get("DB_USER").unwrap_or_else(|| "postgres".into());
                    let password = get("DB_PASSWORD");
                    let host = get("DB_HOST").unwrap_or_else(|| "localhost".into());
                    let port = get("DB_PORT").unwrap_or_else(|| "5432".into());
                    if port.parse::<u16>().is_err() {
                        problems.push(format!("DB_PORT={port:?} is not a port number"));
                    }
                    let auth = match password {
                        Some(p) => format!("{}:{}", encode(&user), encode(&p)),
                        None => encode(&user),
                    };
                    Database::Postgres(format!("postgres://{auth}@{host}:{port}/{}", encode(&name)))
                }
                None => Database::Memory,
            },
        };

        let bind = get("BIND").unwrap_or_else(|| "127.0.0.1:8000".into());
        let bind = bind.parse::<SocketAddr>().unwrap_or_else(|_| {
            problems.push(format!(
                "BIND={bind:?} is not an address:port such as 127.0.0.1:8000"
            ));
            SocketAddr::from(([127, 0, 0, 1], 8000))
        });

        let trusted_proxies = get("TRUSTED_PROXIES")
            .map(|v| {
                v.parse::<TrustedProxies>().unwrap_or_else(|e| {
                    problems.push(format!("TRUSTED_PROXIES: {e}"));
                    TrustedProxies::none()
                })
            })
            .unwrap_or_default();

        let defaults = ThrottleRates::default();
        let mut rate = |name: &str, default| match get(name) {
            None => default,
            Some(v) => v.parse::<RateSetting>().map(|r| r.0).unwrap_or_else(|e| {
                problems.push(format!("{name}: {e}"));
                default
            }),
        };
        let rates = ThrottleRates {
            general: rate("THROTTLE_GENERAL", defaults.general),
            lead_create: rate("THROTTLE_LEAD_CREATE", defaults.lead_create),
            subscribe: rate("THROTTLE_SUBSCRIBE", defaults.subscribe),
            admin: rate("THROTTLE_ADMIN", defaults.admin),
        };

        let secure_ssl_redirect = get("SECURE_SSL_REDIRECT")
            .is_some_and(|v| truthy("SECURE_SSL_REDIRECT", &v, &mut problems));
        let hsts_preload = get("SECURE_HSTS_PRELOAD")
            .is_some_and(|v| truthy("SECURE_HSTS_PRELOAD", &v, &mut problems));
        let mut number = |name: &str, default: u64| match get(name) {
            None => default,
            Some(v) => v.parse::<u64>().unwrap_or_else(|_| {
                problems.push(format!("{name}={v:?} is not a whole number of seconds"));
                default
            }),
        };
        let hsts_seconds = number("SECURE_HSTS_SECONDS", 0);
        let shutdown_timeout = number("SHUTDOWN_TIMEOUT", 10);
        let db_pool_size = match get("DB_POOL_SIZE") {
            None => 10,
            Some(v) => match v.parse::<u32>() {
                Ok(n @ 1..=1000) => n,
                _ => {
                    problems.push(format!(
                        "DB_POOL_SIZE={v:?} is not a number of connections from 1 to 1000"
                    ));
                    10
                }
            },
        };

        let log_format = match get("LOG_FORMAT").as_deref().map(str::to_ascii_lowercase) {
            None => LogFormat::Json,
            Some(f) if f == "json" => LogFormat::Json,
            Some(f) if f == "pretty" || f == "text" => LogFormat::Pretty,
            Some(f) => {
                problems.push(format!("LOG_FORMAT={f:?} is neither json nor pretty"));
                LogFormat::Json
            }
        };
        let log_level = get("LOG_LEVEL").unwrap_or_else(|| "info".into());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log_level) {
            problems.push(format!(
                "LOG_LEVEL={log_level:?} is not a level or filter such as info ({e})"
            ));
        }
        let log_file = get("LOG_FILE").map(PathBuf::from);
        let sentry_dsn = get("SENTRY_DSN");
        if let Some(dsn) = &sentry_dsn
            && let Err(e) = dsn.parse::<sentry::types::Dsn>()
        {
            problems.push(format!(
                "SENTRY_DSN is not a DSN such as https://key@o1.ingest.sentry.io/1 ({e})"
            ));
        }

        let cors_allowed_origins = get("CORS_ALLOWED_ORIGINS")
            .map(|v| comma_list(&v))
            .unwrap_or_default();
        for origin in &cors_allowed_origins {
            let ok = (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin.ends_with('/');
            if !ok {
                problems.push(format!(
                    "CORS_ALLOWED_ORIGINS: {origin:?} is not an origin such as https://example.com"
                ));
            }
        }

        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        Ok(Self {
            secret_key: get("SECRET_KEY"),
            debug,
            allowed_hosts,
            admin_keys,
            public_keys,
            generated_admin_key,
            database,
            db_pool_size,
            cors_allowed_origins,
            sentry_dsn,
            sentry_environment: get("SENTRY_ENVIRONMENT"),
            bind,
            trusted_proxies,
            rates,
            secure_ssl_redirect,
            hsts_seconds,
            hsts_preload,
            log_format,
            log_level,
            log_file,
            shutdown_timeout,
        })
    }

    /// Settings for tests and embedding: the defaults, with `admin_key` as the only key,
    /// in-memory, every host allowed.
    pub fn for_tests(admin_key: &str) -> Self {
        let vars = HashMap::from([
            ("BASIC_API_KEY".to_owned(), admin_key.to_owned()),
            ("DEBUG".to_owned(), "true".to_owned()),
        ]);
        let mut s = Self::from_vars(&vars).unwrap_or_else(|_| Self::fallback());
        s.allowed_hosts = vec![HostPattern::Any];
        s
    }

    fn fallback() -> Self {
        Self {
            secret_key: None,
            debug: false,
            allowed_hosts: vec![HostPattern::Exact("localhost".into())],
            admin_keys: generate_key(),
            public_keys: None,
            generated_admin_key: None,
            database: Database::Memory,
            db_pool_size: 10,
            cors_allowed_origins: Vec::new(),
            sentry_dsn: None,
            sentry_environment: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            trusted_proxies: TrustedProxies::none(),
            rates: ThrottleRates::default(),
            secure_ssl_redirect: false,
            hsts_seconds: 0,
            hsts_preload: false,
            log_format: LogFormat::Json,
            log_level: "info".into(),
            log_file: None,
            shutdown_timeout: 10,
        }
    }

    /// The configured keys.
    pub fn api_keys(&self) -> ApiKeys {
        ApiKeys::from_comma_lists(&self.admin_keys, self.public_keys.as_deref())
    }

    /// Whether `host` (lower-case, without port) is allowed.
    pub fn host_allowed(&self, host: &str) -> bool {
        self.allowed_hosts.iter().any(|p| p.matches(host))
    }

    /// Every setting unfit for production (the checks of Django's `check --deploy` that
    /// apply, and exit3's own).
    pub fn deploy_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.debug {
            out.push("DEBUG is on: turn it off in production (security.W018)".into());
        }
        match &self.secret_key {
            None => out.push("SECRET_KEY is not set (security.W009)".into()),
            Some(k) => {
                let unique: std::collections::HashSet<char> = k.chars().collect();
                if k.chars().count() < 50 || unique.len() < 5 || k.starts_with("django-insecure-") {
                    out.push(
                        "SECRET_KEY is weak: use at least 50 characters with at least 5 \
                         different ones (security.W009)"
                            .into(),
                    );
                }
            }
        }
        if self.generated_admin_key.is_some() {
            out.push("BASIC_API_KEY is not set: a random key is generated at every start".into());
        }
        for (name, list) in [
            ("BASIC_API_KEY", Some(&self.admin_keys)),
            ("PUBLIC_API_KEY", self.public_keys.as_ref()),
        ] {
            if list.is_some_and(|l| {
                comma_list(l)
                    .iter()
                    .any(|k| k.chars().count() < MIN_KEY_LEN)
            }) {
                out.push(format!(
                    "{name} has a key shorter than {MIN_KEY_LEN} characters"
                ));
            }
        }
        if self.allowed_hosts.contains(&HostPattern::Any) {
            out.push("ALLOWED_HOSTS contains '*': any Host header is accepted".into());
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
        out
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
    fn hosts_match_like_django() {
        let p = HostPattern::parse(".Example.com");
        assert!(p.matches("example.com") && p.matches("a.b.example.com"));
        assert!(!p.matches("badexample.com"));
        assert!(HostPattern::parse("*").matches("anything"));
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

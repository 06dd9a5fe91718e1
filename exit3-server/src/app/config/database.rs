//! Where the data lives: `DATABASE_URL`, or the URL Django's `DB_*` settings make.

use std::fmt;

use super::reader::Reader;

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

/// `DATABASE_URL`, else a URL made of `DB_*`, else memory.
pub(super) fn read_database(r: &mut Reader<'_>) -> Database {
    if let Some(url) = r.get("DATABASE_URL") {
        return Database::Postgres(url);
    }
    let Some(name) = r.get("DB_NAME") else {
        return Database::Memory;
    };
    let user = r.text("DB_USER").unwrap_or_default();
    let password = r.get("DB_PASSWORD");
    let host = r.text("DB_HOST").unwrap_or_default();
    let port: u16 = r.number("DB_PORT", 1..=u16::MAX, "a port number");
    let auth = match password {
        Some(p) => format!("{}:{}", encode(&user), encode(&p)),
        None => encode(&user),
    };
    Database::Postgres(format!("postgres://{auth}@{host}:{port}/{}", encode(&name)))
}

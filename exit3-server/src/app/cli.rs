//! The command line: the commands, and the ones that are done without serving (`check`,
//! `healthcheck`, `openapi`).

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    process::ExitCode,
    sync::Arc,
    time::Duration,
};

use clap::{Parser, Subcommand};
use exit3_core::{DynStore, Exit3};
use exit3_store_memory::MemoryStore;

use super::config::Settings;
use crate::openapi_json;

/// exit3's HTTP API: lead capture and newsletter subscriptions.
#[derive(Debug, Parser)]
#[command(name = "exit3-server", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

impl Cli {
    /// The command asked for; `serve` when none was.
    pub fn command(self) -> Command {
        self.command.unwrap_or(Command::Serve { no_migrate: false })
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API on BIND (the default).
    Serve {
        /// Do not apply database migrations at start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Run one maintenance step (purge expired throttle state and idempotency records,
    /// compact counts), print what it did, and exit.
    Maintenance,
    /// Run the delivery worker alone (no HTTP) until SIGTERM or Ctrl-C: sends what the
    /// outbox holds, sharing the work with every other worker on the database.
    Worker,
    /// Check the configuration; with --deploy, report every setting unfit for production
    /// and exit non-zero when there is one.
    Check {
        /// Run the production checks.
        #[arg(long)]
        deploy: bool,
    },
    /// One person's data (privacy.md §1): export it as JSON, or erase it.
    Privacy {
        /// Export or erase.
        #[command(subcommand)]
        action: PrivacyCommand,
    },
    /// Create a staff superuser (the first one signs in at /backend/admin/ and adds the
    /// others there). The password is asked twice, or read from stdin.
    Createsuperuser {
        /// The username (letters, digits and @ . + - _).
        #[arg(long)]
        username: String,
        /// The user's address.
        #[arg(long)]
        email: String,
        /// Read the password from the first line of stdin instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a staff user's password (their sessions end).
    Changepassword {
        /// The username.
        username: String,
        /// Read the password from the first line of stdin instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print the OpenAPI document (JSON).
    Openapi,
    /// Exit 0 when GET /backend/health/ on BIND answers 200, else 1 (for containers).
    Healthcheck,
}

/// The `privacy` commands.
#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Print everything stored about the address (the JSON of `GET privacy/export/`).
    Export {
        /// The person's address.
        #[arg(long)]
        email: String,
    },
    /// Erase everything stored about the address (as `POST privacy/erase/`), after
    /// asking for confirmation on the terminal.
    Erase {
        /// The person's address.
        #[arg(long)]
        email: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
}

/// `openapi`: the document, needing no settings.
pub fn openapi() -> ExitCode {
    let store: DynStore = Arc::new(MemoryStore::new());
    println!("{}", openapi_json(Exit3::builder(store).build()));
    ExitCode::SUCCESS
}

/// `check [--deploy]`.
pub fn check(settings: &Settings, deploy: bool) -> ExitCode {
    if !deploy {
        println!("The configuration is valid. Run `check --deploy` for the production checks.");
        return ExitCode::SUCCESS;
    }
    let problems = settings.deploy_problems();
    if problems.is_empty() {
        println!("check --deploy: no problems found.");
        return ExitCode::SUCCESS;
    }
    println!("check --deploy found {} problem(s):", problems.len());
    for p in &problems {
        println!("  - {p}");
    }
    ExitCode::FAILURE
}

/// `healthcheck`: `GET /backend/health/` on `BIND`.
pub fn healthcheck(settings: &Settings) -> ExitCode {
    let mut addr = settings.bind;
    if addr.ip().is_unspecified() {
        addr = match addr {
            SocketAddr::V4(a) => SocketAddr::from(([127, 0, 0, 1], a.port())),
            SocketAddr::V6(a) => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, a.port())),
        };
    }
    let host = settings
        .allowed_hosts
        .first()
        .map_or("localhost", |h| h.example())
        .to_owned();
    match probe(addr, &host) {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("healthcheck: /backend/health/ answered {status}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("healthcheck: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `GET /backend/health/` over a plain HTTP/1.1 connection; the status code.
fn probe(addr: SocketAddr, host: &str) -> std::io::Result<u16> {
    let timeout = Duration::from_secs(5);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET /backend/health/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: exit3-healthcheck\r\n\r\n"
    )?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head)?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {line:?}")))
}

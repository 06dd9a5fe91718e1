//! `createsuperuser` and `changepassword`: the first staff user and a forgotten password,
//! from an operator's shell (Django's commands of the same names). The password is asked
//! twice on the terminal without echo, or read from the first line of stdin with
//! `--password-stdin` (scripts, containers).

use std::io::BufRead;

use exit3_core::{Error, StaffInput, StaffRole};

use super::{config::Settings, wiring};

/// How the password is given.
#[derive(Debug, Clone, Copy)]
pub enum PasswordSource {
    /// Asked twice on the terminal.
    Terminal,
    /// The first line of stdin.
    Stdin,
}

impl PasswordSource {
    /// `--password-stdin` or not.
    pub fn from_flag(stdin: bool) -> Self {
        if stdin { Self::Stdin } else { Self::Terminal }
    }

    fn read(self) -> Result<String, String> {
        match self {
            Self::Stdin => {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| format!("cannot read the password: {e}"))?;
                Ok(line.trim_end_matches(['\r', '\n']).to_owned())
            }
            Self::Terminal => {
                let first = rpassword::prompt_password("Password: ")
                    .map_err(|e| format!("cannot read the password: {e}"))?;
                let again = rpassword::prompt_password("Password (again): ")
                    .map_err(|e| format!("cannot read the password: {e}"))?;
                if first != again {
                    return Err("the two passwords differ".into());
                }
                Ok(first)
            }
        }
    }
}

/// What a refused command prints: each field's messages.
fn explain(e: &Error) -> String {
    match e {
        Error::Validation(fields) => fields
            .iter()
            .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// `createsuperuser --username U --email E [--password-stdin]`.
pub async fn create_superuser(
    settings: &Settings,
    username: &str,
    email: &str,
    password: PasswordSource,
) -> Result<(), String> {
    let password = password.read()?;
    let wired = wiring::wire(settings, false).await?;
    let user = wired
        .exit3
        .add_staff(StaffInput {
            username,
            email,
            role: StaffRole::Superuser,
            password: &password,
        })
        .await
        .map_err(|e| explain(&e))?;
    eprintln!("Superuser {} created.", user.username);
    Ok(())
}

/// `changepassword U [--password-stdin]`: ends the user's sessions.
pub async fn change_password(
    settings: &Settings,
    username: &str,
    password: PasswordSource,
) -> Result<(), String> {
    let password = password.read()?;
    let wired = wiring::wire(settings, false).await?;
    let user = wired
        .exit3
        .set_staff_password(username, &password)
        .await
        .map_err(|e| match e {
            Error::NotFound => format!("there is no staff user {username:?}"),
            other => explain(&other),
        })?;
    eprintln!("Password changed for {}.", user.username);
    Ok(())
}

/// On the in-memory store (the quick start), a superuser `admin` with a random password
/// for this run, so that the staff site can be tried at once; printed with where to sign
/// in. A persistent store gets its first user from `createsuperuser`.
pub async fn demo_superuser(exit3: &exit3_core::Exit3, bind: std::net::SocketAddr) {
    let password = exit3_core::tokens::SessionToken::generate()
        .as_str()
        .to_owned();
    let added = exit3
        .add_staff(StaffInput {
            username: "admin",
            email: "admin@example.com",
            role: StaffRole::Superuser,
            password: &password,
        })
        .await;
    match added {
        Ok(_) => println!(
            "\nThe staff site is at http://{bind}/backend/admin/ — sign in as `admin` with the \
             password of this run:\n\n    {password}\n\n(The in-memory store forgets it at exit; \
             with DATABASE_URL, make users with `exit3-server createsuperuser`.)\n"
        ),
        Err(e) => tracing::warn!(error = %e, "could not add the demo superuser"),
    }
}

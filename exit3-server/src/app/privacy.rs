//! `privacy export --email E` and `privacy erase --email E [--yes]`: the privacy.md §1
//! requests from an operator's shell, with the API's JSON shapes.

use std::io::{BufRead, Write};

use exit3_core::{Payload, privacy::Person};
use poem_openapi::types::ToJSON;
use serde_json::json;

use super::{cli::PrivacyCommand, config::Settings, wiring};
use crate::api::privacy::{erased_body, export_body};

/// Runs one privacy command; the JSON goes to stdout.
pub async fn run(settings: &Settings, command: PrivacyCommand) -> Result<(), String> {
    let (email, yes) = match &command {
        PrivacyCommand::Export { email } => (email, true),
        PrivacyCommand::Erase { email, yes } => (email, *yes),
    };
    let person = Person::parse(&Payload::from(
        json!({ "email": email })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    ))
    .map_err(|e| format!("--email: {e}"))?;
    let wired = wiring::wire(settings, false).await?;
    let out = match command {
        PrivacyCommand::Export { .. } => {
            let data = wired
                .exit3
                .person_data(&person)
                .await
                .map_err(|e| format!("export failed: {e}"))?;
            export_body(&person, data).to_json()
        }
        PrivacyCommand::Erase { .. } => {
            if !yes && !confirmed(person.email())? {
                return Err("not erased: the answer was not `yes`".into());
            }
            let erased = wired
                .exit3
                .erase(&person)
                .await
                .map_err(|e| format!("erasure failed: {e}"))?;
            erased_body(erased).to_json()
        }
    };
    println!("{}", out.unwrap_or_default());
    Ok(())
}

/// Asks on stderr, reads the answer from stdin.
fn confirmed(email: &str) -> Result<bool, String> {
    let mut err = std::io::stderr();
    write!(
        err,
        "Erase every lead, the subscriber and the mails of {email}? This cannot be undone. \
         Type yes: "
    )
    .and_then(|()| err.flush())
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    Ok(answer.trim() == "yes")
}

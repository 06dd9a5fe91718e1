//! The API keys: `BASIC_API_KEY` (or a generated one) and `PUBLIC_API_KEY`, and their rules.

use rand::{Rng, distr::Alphanumeric};

use super::reader::Reader;

/// The shortest key accepted with `DEBUG=false`.
pub const MIN_KEY_LEN: usize = 32;

/// A fresh admin key: 48 random alphanumeric characters.
pub fn generate_key() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(48)
        .map(char::from)
        .collect()
}

/// `BASIC_API_KEY` (or a generated one) and `PUBLIC_API_KEY`, with their rules: at
/// least one admin key, no key shorter than [`MIN_KEY_LEN`] unless `DEBUG`, no key in
/// both lists.
pub(super) fn read_keys(
    r: &mut Reader<'_>,
    debug: bool,
) -> (Vec<String>, Vec<String>, Option<String>) {
    let set = r.get("BASIC_API_KEY").is_some();
    let (admin, generated) = if set {
        let keys = r.list("BASIC_API_KEY");
        if keys.is_empty() {
            r.problem("BASIC_API_KEY holds no key");
        }
        (keys, None)
    } else {
        let key = generate_key();
        (vec![key.clone()], Some(key))
    };
    let public = r.list("PUBLIC_API_KEY");
    if !debug {
        for (name, list) in [("BASIC_API_KEY", &admin), ("PUBLIC_API_KEY", &public)] {
            let short = list
                .iter()
                .filter(|k| k.chars().count() < MIN_KEY_LEN)
                .count();
            if short > 0 {
                r.problem(format!(
                    "{name} has {short} key(s) shorter than {MIN_KEY_LEN} characters \
                     (allowed only with DEBUG=true)"
                ));
            }
        }
    }
    if public.iter().any(|k| admin.contains(k)) {
        r.problem("PUBLIC_API_KEY repeats a key of BASIC_API_KEY");
    }
    (admin, public, generated)
}

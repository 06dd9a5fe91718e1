//! The migrations are safe to apply while the previous version serves: from
//! `CONCURRENT_FROM` on, an index is built (or dropped) `CONCURRENTLY`, which PostgreSQL
//! allows only outside a transaction, so in a migration of its own marked
//! `-- no-transaction` that holds that one statement. (Earlier migrations were applied
//! as they are; sqlx checks their checksums, so they are never edited.)

use std::path::PathBuf;

/// The first migration under the rule.
const CONCURRENT_FROM: &str = "20261201000200";

/// The SQL of a migration without its comments, upper-cased, in one line.
fn statements(sql: &str) -> String {
    sql.lines()
        .map(|l| l.split("--").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

#[test]
fn indexes_of_new_migrations_are_built_concurrently_outside_a_transaction() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let mut checked = 0;
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.as_str() < CONCURRENT_FROM {
            continue;
        }
        checked += 1;
        let sql = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let code = statements(&sql);
        let words: Vec<&str> = code.split_whitespace().collect();
        let touches_index = words.windows(2).any(|w| {
            matches!(
                w,
                ["CREATE", "INDEX"] | ["CREATE", "UNIQUE"] | ["DROP", "INDEX"]
            )
        }) || code.contains("REINDEX");
        if !touches_index {
            continue;
        }
        assert!(
            sql.starts_with("-- no-transaction"),
            "{name} builds an index: it must start with `-- no-transaction`"
        );
        assert!(
            code.contains("INDEX CONCURRENTLY"),
            "{name} must build or drop its index CONCURRENTLY"
        );
        let statements = code.split(';').filter(|s| !s.trim().is_empty()).count();
        assert_eq!(
            statements, 1,
            "{name}: a concurrent index build is the migration's only statement"
        );
    }
    assert!(
        checked > 0,
        "no migration under the rule: is CONCURRENT_FROM right?"
    );
}

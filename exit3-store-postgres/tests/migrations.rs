//! The migrations are safe to apply while the previous version serves: from
//! `CONCURRENT_FROM` on, an index on an existing table is built (or dropped)
//! `CONCURRENTLY`, which PostgreSQL allows only outside a transaction, so in a migration
//! of its own marked `-- no-transaction` that holds that one statement. An index on a
//! table the same migration creates blocks nobody and may be built with it. (Earlier
//! migrations were applied as they are; sqlx checks their checksums, so they are never
//! edited.)

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

/// The table a `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] name ON [ONLY] table`
/// statement builds on.
fn index_table(words: &[&str]) -> Option<String> {
    let on = words.iter().position(|w| *w == "ON")?;
    let table = words.get(on + 1..)?.iter().find(|w| **w != "ONLY")?;
    Some(table.split('(').next().unwrap_or_default().to_owned())
}

/// What is wrong with the migration `name` holding `sql`, by the rule above.
fn violations(name: &str, sql: &str) -> Vec<String> {
    let code = statements(sql);
    let statements: Vec<Vec<&str>> = code
        .split(';')
        .map(|s| s.split_whitespace().collect::<Vec<_>>())
        .filter(|s| !s.is_empty())
        .collect();
    let created: Vec<String> = statements
        .iter()
        .filter(|w| w.starts_with(&["CREATE", "TABLE"]))
        .filter_map(|w| {
            w.get(2)
                .map(|t| t.split('(').next().unwrap_or_default().to_owned())
        })
        .collect();
    let mut problems = Vec::new();
    let mut concurrent = 0;
    for words in &statements {
        let builds = words.starts_with(&["CREATE", "INDEX"])
            || words.starts_with(&["CREATE", "UNIQUE", "INDEX"]);
        let drops = words.starts_with(&["DROP", "INDEX"]) || words.contains(&"REINDEX");
        if builds && index_table(words).is_some_and(|t| created.contains(&t)) {
            continue;
        }
        if !(builds || drops) {
            continue;
        }
        concurrent += 1;
        if !words.contains(&"CONCURRENTLY") {
            problems.push(format!("{name} must build or drop its index CONCURRENTLY"));
        }
    }
    if concurrent > 0 {
        if !sql.starts_with("-- no-transaction") {
            problems.push(format!(
                "{name} builds an index on an existing table: it must start with \
                 `-- no-transaction`"
            ));
        }
        if statements.len() != 1 {
            problems.push(format!(
                "{name}: a concurrent index build is the migration's only statement"
            ));
        }
    }
    problems
}

#[test]
fn the_rule_catches_blocking_index_builds_and_allows_new_tables() {
    let ok = "-- no-transaction\nCREATE INDEX CONCURRENTLY x ON leads (a);";
    assert!(violations("ok", ok).is_empty());
    let new_table = "CREATE TABLE t (a int);\nCREATE INDEX t_a ON t (a);";
    assert!(violations("new", new_table).is_empty());
    let blocking = "CREATE TABLE t (a int);\nCREATE UNIQUE INDEX l_a ON leads (a);";
    assert_eq!(violations("blocking", blocking).len(), 3);
    let crowded = "-- no-transaction\nCREATE INDEX CONCURRENTLY x ON leads (a);\nSELECT 1;";
    assert_eq!(violations("crowded", crowded).len(), 1);
    assert_eq!(violations("drop", "DROP INDEX leads_a;").len(), 2);
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
    let mut problems = Vec::new();
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
        problems.extend(violations(&name, &sql));
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        checked > 0,
        "no migration under the rule: is CONCURRENT_FROM right?"
    );
}

//! proptest strategies for request bodies that hit the contract's rules — markup,
//! control and bidi characters, e-mail shapes that IDNA maps or refuses, long text —
//! shared by the property tests of the core and of every store (a store must accept
//! whatever the core accepts).

use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// The field names bodies are made of: every lead field, read-only and unknown ones.
pub const FIELDS: &[&str] = &[
    "full_name",
    "position",
    "company_name",
    "email",
    "phone",
    "message",
    "status",
    "source",
    "category",
    "notes",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "id",
    "unknown",
];

/// Strings that hit the rules: markup, control characters, e-mail shapes, long text.
pub fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[ \t\n]{0,2}[A-Za-z<>/!?:() +.-]{0,20}[ \n]{0,2}",
        "[a-zA-Z0-9._%+-]{1,12}@[a-zA-Z0-9.-]{1,12}\\.[a-zA-Z]{2,4}",
        "[a-z]{1,8}@(mailinator\\.com|x\\.yopmail\\.com|example\\.com)",
        "[0-9 +().-]{1,40}",
        "(new|lost|website|web_dev|other|bogus)",
        "\\PC{250,260}",
        "(javascript|JaVaScRiPt)[ \t]?:[a-z]{0,5}",
        "[a-z]{0,3}\u{0}[a-z]{0,3}",
        "e\u{301}[a-z]{0,5}",
        "[a-z]{0,3}[\u{202A}-\u{202E}\u{2066}-\u{2069}\u{200B}\u{200C}\u{200D}\u{FEFF}][a-z]{0,3}",
        "[a-z]{1,5}@(<img/src/onerror=alert\\(1\\)>)?\\[127\\.0\\.0\\.1\\]",
        "[a-zA-Z]{1,5}@[ｍａｉｌｉｎａｔｏｒＥＸ]{1,10}[.。]com",
        "[a-z]{1,3}@[İıßä]{1,130}\\.(com|de)",
        "[a-z]{1,60}@([a-z]{1,60}\\.){1,4}com",
    ]
}

/// E-mail-shaped strings: at the length limits (local parts up to 64, domains of several
/// long labels: totals on both sides of 254), IDNA mappings that grow or fold, literals,
/// markup.
pub fn email_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{50,64}@([a-z]{40,63}\\.){4}[a-z]{2,6}",
        "[A-Za-z]{1,64}@([a-zäßİ]{1,62}\\.){1,4}(com|de)",
        "[a-zA-Z]{1,5}@[ｍａｉｌｉｎａｔｏｒＥＸ]{1,10}[.。]com",
        "[a-z]{1,3}@[İıßä]{1,130}\\.(com|de)",
        "[a-z]{1,5}@(<img/src/onerror=alert\\(1\\)>)?\\[127\\.0\\.0\\.1\\]",
        "[a-zA-Z0-9._%+-]{1,12}@[a-zA-Z0-9.-]{1,12}\\.[a-zA-Z]{2,4}",
    ]
}

/// Any JSON value a client might send for a field, strings weighted up.
pub fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => tricky_string().prop_map(Value::String),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(|n| json!(n)),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        1 => prop::collection::vec(".{0,3}", 0..3).prop_map(|v| json!(v)),
        1 => Just(json!({"nested": 1})),
    ]
}

/// Random bodies; most carry a plausible name and position so that many are accepted
/// and the accepted side of the property is exercised too.
pub fn payload() -> impl Strategy<Value = Map<String, Value>> {
    let plausible = prop::option::weighted(
        0.8,
        ("[A-Za-z][A-Za-z .'-]{0,30}", "[A-Za-z][A-Za-z ]{0,20}"),
    );
    let fields = prop::collection::btree_map(prop::sample::select(FIELDS), json_value(), 0..6);
    (plausible, fields).prop_map(|(plausible, fields)| {
        let mut map = Map::new();
        if let Some((name, position)) = plausible {
            map.insert("full_name".into(), json!(name));
            map.insert("position".into(), json!(position));
        }
        // Random fields are fewer in accepted bodies: each may replace a plausible one.
        for (k, v) in fields.into_iter().take(3) {
            map.insert(k.to_owned(), v);
        }
        map
    })
}

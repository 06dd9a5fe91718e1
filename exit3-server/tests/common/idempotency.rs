//! Idempotency records held as another instance holds them.

use exit3_core::{
    ApiKeys, Credential,
    clock::Clock,
    idempotency::{Fingerprint, IdempotencyKey, RecordKey},
    store::IdempotencyStore,
};
use serde_json::{Value, json};

use super::{ADMIN, PUBLIC};

/// Holds `key` for the admin key's `POST path` with `body`, as a request that is still
/// running on another instance does.
pub async fn hold(app: &super::TestApp, path: &str, body: &Value, key: &str) {
    let caller = ApiKeys::new([ADMIN], [PUBLIC])
        .authenticate(&Credential::Key(ADMIN.to_owned()))
        .unwrap_or_else(|e| panic!("{e}"));
    let key = IdempotencyKey::parse(key).unwrap_or_else(|| panic!("a valid key"));
    let record = RecordKey::new(&caller, None, &key);
    let fingerprint = Fingerprint::of("POST", path, body.to_string().as_bytes());
    let now = app.clock.now();
    let hour = time::Duration::HOUR;
    app.store
        .begin_idempotent(record, fingerprint, now, now + hour, now + hour * 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Makes `POST leads/` and `POST newsletter/` answer their 422 (a key used with another
/// body) and 409 (a key whose first request still runs).
pub async fn mismatch_and_running(app: &super::TestApp) {
    const V1: &str = "/backend/api/v1";
    for path in [format!("{V1}/leads/"), format!("{V1}/newsletter/")] {
        let key = format!("tour-{path}");
        let first = json!({"full_name": "Idem", "position": "P", "email": "idem@example.com"});
        let headers = [("idempotency-key", key.as_str())];
        let made = app
            .call("POST", &path, Some(ADMIN), Some(first), &headers)
            .await;
        assert!(made.status < 300, "{}", made.text);
        let other = json!({"full_name": "Other", "position": "P", "email": "o@example.com"});
        let mismatch = app
            .call("POST", &path, Some(ADMIN), Some(other), &headers)
            .await;
        assert_eq!(mismatch.status, 422, "{}", mismatch.text);
        // A first request still running (held as another instance would hold it).
        let body = json!({"email": "running@example.com"});
        let running_key = format!("running-{path}");
        hold(app, &path, &body, &running_key).await;
        let running = app
            .call(
                "POST",
                &path,
                Some(ADMIN),
                Some(body),
                &[("idempotency-key", &running_key)],
            )
            .await;
        assert_eq!(running.status, 409, "{}", running.text);
    }
}

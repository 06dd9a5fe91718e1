//! The conformance of [`StaffStore`](crate::store::StaffStore) and
//! [`SessionStore`](crate::store::SessionStore): unique usernames whatever their case,
//! patches that end sessions, sessions that expire when idle and end for real.

use super::at;
use crate::{
    access::PasswordHash,
    clock::truncate_to_micros,
    domain::{NewStaffUser, StaffPatch, StaffRole, Username},
    store::{Conflict, DynStore, StoreError},
    text::EmailAddress,
    tokens::TokenHash,
};

/// A fixed hash (stores keep it as given; hashing is the core's).
pub const SOME_HASH: &str = "$argon2id$v=19$m=7168,t=5,p=1$c29tZXNhbHRzb21lc2FsdA$ZfyxzqEYCvH9ZT1LmI3TZbFPzEw3ZqW8t5GSdDEfTn8";

fn new_user(name: &str, role: StaffRole) -> NewStaffUser {
    NewStaffUser {
        username: Username::parse(name).expect("a username"),
        email: EmailAddress::parse(&format!("{name}@example.com")).expect("an address"),
        role,
        password: PasswordHash::from_stored(SOME_HASH).expect("a PHC string"),
    }
}

/// Users round-trip; a username differing only in case conflicts; the login look-up
/// ignores case and answers the hash; patches change only their fields; lists are by
/// username.
pub async fn staff_users_round_trip(store: DynStore) {
    let ada = store
        .create_staff(&new_user("Ada", StaffRole::Superuser), at(0))
        .await
        .expect("create");
    assert_eq!(ada.username.as_str(), "Ada");
    assert!(ada.active);
    assert_eq!(ada.last_login, None);
    assert_eq!(ada.created_at, truncate_to_micros(at(0)));
    let bob = store
        .create_staff(&new_user("bob", StaffRole::Viewer), at(1))
        .await
        .expect("create");
    assert!(bob.id > ada.id);
    assert!(matches!(
        store
            .create_staff(&new_user("ADA", StaffRole::Staff), at(2))
            .await,
        Err(StoreError::Conflict {
            what: Conflict::StaffUsername
        })
    ));

    let (found, hash) = store
        .staff_for_login(&Username::parse("aDa").expect("name"))
        .await
        .expect("look-up")
        .expect("found");
    assert_eq!(found, ada);
    assert_eq!(hash.as_str(), SOME_HASH);
    assert_eq!(
        store
            .staff_for_login(&Username::parse("nobody").expect("name"))
            .await
            .expect("look-up"),
        None
    );
    assert_eq!(
        store.get_staff(bob.id).await.expect("get"),
        Some(bob.clone())
    );

    let changed = store
        .update_staff(
            bob.id,
            &StaffPatch {
                role: Some(StaffRole::Staff),
                ..StaffPatch::default()
            },
        )
        .await
        .expect("update")
        .expect("found");
    assert_eq!(changed.role, StaffRole::Staff);
    assert_eq!(changed.email, bob.email);
    let names: Vec<String> = store
        .list_staff()
        .await
        .expect("list")
        .into_iter()
        .map(|u| u.username.to_string())
        .collect();
    assert_eq!(names, ["Ada", "bob"]);
    let missing = crate::domain::StaffId::new(9_999).expect("id");
    assert_eq!(
        store
            .update_staff(missing, &StaffPatch::default())
            .await
            .expect("update"),
        None
    );
    assert_eq!(store.get_staff(missing).await.expect("get"), None);
}

/// A session answers its user until it has been idle past its expiry (each use moves
/// the expiry), records the sign-in, ends on sign-out, and ends with a new password or
/// deactivation; inactive users cannot start one; expired sessions are purged.
pub async fn staff_sessions_expire_and_end(store: DynStore) {
    let ada = store
        .create_staff(&new_user("ada", StaffRole::Staff), at(0))
        .await
        .expect("create");
    let (t1, t2, t3) = (TokenHash([1; 32]), TokenHash([2; 32]), TokenHash([3; 32]));
    let signed_in = store
        .start_session(ada.id, t1, at(10), at(110))
        .await
        .expect("start")
        .expect("active");
    assert_eq!(signed_in.last_login, Some(truncate_to_micros(at(10))));
    let user = |t, now: i64| {
        let store = store.clone();
        async move {
            store
                .session_user(t, at(now), at(now + 100))
                .await
                .expect("session")
        }
    };
    assert_eq!(user(t1, 100).await.map(|u| u.id), Some(ada.id));
    // Each use renews: to 200, then to 290; at 290 it has been idle too long.
    assert!(user(t1, 190).await.is_some());
    assert!(user(t1, 290).await.is_none(), "idle past its expiry");
    assert!(user(TokenHash([9; 32]), 10).await.is_none(), "unknown");

    store
        .start_session(ada.id, t2, at(300), at(400))
        .await
        .expect("start");
    assert!(store.end_session(t2).await.expect("end"));
    assert!(!store.end_session(t2).await.expect("end"));
    assert!(user(t2, 301).await.is_none(), "signed out");

    store
        .start_session(ada.id, t3, at(300), at(400))
        .await
        .expect("start");
    let password = StaffPatch {
        password: PasswordHash::from_stored(SOME_HASH),
        ..StaffPatch::default()
    };
    store.update_staff(ada.id, &password).await.expect("update");
    assert!(
        user(t3, 301).await.is_none(),
        "a new password ends sessions"
    );

    store
        .start_session(ada.id, t3, at(300), at(400))
        .await
        .expect("start");
    let off = StaffPatch {
        active: Some(false),
        ..StaffPatch::default()
    };
    store.update_staff(ada.id, &off).await.expect("update");
    assert!(user(t3, 301).await.is_none(), "deactivation ends sessions");
    assert_eq!(
        store
            .start_session(ada.id, t1, at(302), at(402))
            .await
            .expect("start"),
        None,
        "an inactive user cannot sign in"
    );

    let on = StaffPatch {
        active: Some(true),
        ..StaffPatch::default()
    };
    store.update_staff(ada.id, &on).await.expect("update");
    for (n, until) in [(4u8, 500), (5, 600), (6, 700)] {
        store
            .start_session(ada.id, TokenHash([n; 32]), at(400), at(until))
            .await
            .expect("start");
    }
    // Two of these three (the earlier sessions ended with the new password).
    assert_eq!(store.purge_sessions(at(650), 10).await.expect("purge"), 2);
    assert!(user(TokenHash([6; 32]), 650).await.is_some());
    assert_eq!(store.purge_sessions(at(650), 10).await.expect("purge"), 0);
}

//! Staff users through the `Exit3` service over the memory store: the password rule,
//! sign-in and its throttle, sessions that expire and end, roles enforced on every
//! operation, CSRF tokens bound to a session.

use std::{net::IpAddr, sync::Arc, time::Duration};

use exit3::{
    ApiKeys, Credential, Denial, Error, Exit3, ManualClock, MemoryStore, Payload, QueryParams,
    RequestContext, StaffInput, StaffPatch, StaffRole, ThrottleRates, ThrottleScope, testing::at,
};
use serde_json::json;

const ADMIN: &str = "admin-key-for-tests-0123456789abcdef";
const PASSWORD: &str = "correct horse battery";

fn service(rates: ThrottleRates) -> (Exit3, ManualClock) {
    let clock = ManualClock::new(at(0));
    let exit3 = Exit3::builder(Arc::new(MemoryStore::new()))
        .keys(ApiKeys::new([ADMIN], [""; 0]))
        .rates(rates)
        .clock(clock.clone())
        .session_age(Duration::from_secs(3600))
        .build();
    (exit3, clock)
}

fn from(ip: &str) -> RequestContext {
    RequestContext::new(Credential::Missing, ip.parse::<IpAddr>().ok())
}

fn session(token: &str) -> RequestContext {
    RequestContext::new(Credential::Session(token.to_owned()), None)
}

async fn add(exit3: &Exit3, username: &str, role: StaffRole) {
    exit3
        .add_staff(StaffInput {
            username,
            email: &format!("{username}@example.com"),
            role,
            password: PASSWORD,
        })
        .await
        .expect("added");
}

#[tokio::test]
async fn adding_staff_checks_every_field_and_usernames_are_unique_in_any_case() {
    let (exit3, _) = service(ThrottleRates::off());
    let refused = exit3
        .add_staff(StaffInput {
            username: "a b",
            email: "nope",
            role: StaffRole::Staff,
            password: "short",
        })
        .await;
    let Err(Error::Validation(errors)) = refused else {
        panic!("{refused:?}");
    };
    assert!(errors.get("username").is_some());
    assert!(errors.get("email").is_some());
    let like_name = exit3
        .add_staff(StaffInput {
            username: "ada",
            email: "ada@example.com",
            role: StaffRole::Staff,
            password: "ada-ada-ada-ada",
        })
        .await;
    assert!(matches!(like_name, Err(Error::Validation(e)) if e.get("password").is_some()));
    add(&exit3, "Ada", StaffRole::Superuser).await;
    let taken = exit3
        .add_staff(StaffInput {
            username: "ADA",
            email: "other@example.com",
            role: StaffRole::Staff,
            password: PASSWORD,
        })
        .await;
    let Err(Error::Validation(errors)) = taken else {
        panic!("{taken:?}");
    };
    assert_eq!(
        errors.get("username"),
        Some(&["A user with that username already exists.".to_owned()][..])
    );
}

#[tokio::test]
async fn sign_in_starts_a_session_that_expires_when_idle_and_ends_at_sign_out() {
    let (exit3, clock) = service(ThrottleRates::off());
    add(&exit3, "ada", StaffRole::Staff).await;
    for (name, password) in [("ada", "wrong password!"), ("nobody", PASSWORD), ("", "")] {
        let e = exit3.login(&from("192.0.2.1"), name, password).await;
        assert!(matches!(e, Err(Error::BadLogin)), "{name}: {e:?}");
    }
    let signed_in = exit3
        .login(&from("192.0.2.1"), "ADA", PASSWORD)
        .await
        .expect("signed in");
    assert_eq!(signed_in.user.username.as_str(), "ada");
    assert_eq!(signed_in.user.last_login, Some(at(0)));
    let token = signed_in.token.as_str().to_owned();

    clock.advance(Duration::from_secs(3000));
    let user = exit3.session_user(&token).await.expect("looked up");
    assert_eq!(user.map(|u| u.id), Some(signed_in.user.id));
    clock.advance(Duration::from_secs(3000));
    assert!(
        exit3
            .session_user(&token)
            .await
            .expect("looked up")
            .is_some(),
        "each use renews the idle expiry"
    );
    clock.advance(Duration::from_secs(3601));
    assert!(
        exit3
            .session_user(&token)
            .await
            .expect("looked up")
            .is_none()
    );

    let again = exit3
        .login(&from("192.0.2.1"), "ada", PASSWORD)
        .await
        .expect("signed in");
    let token = again.token.as_str().to_owned();
    let (user, checked) = exit3
        .session(&token)
        .await
        .expect("looked up")
        .expect("live");
    assert_eq!(user.username.as_str(), "ada");
    let page = RequestContext::new(checked, None);
    assert!(
        exit3
            .list_leads(&page, &QueryParams::default())
            .await
            .is_ok(),
        "a checked session needs no second look-up"
    );
    exit3.logout(&token).await.expect("signed out");
    assert!(exit3.session(&token).await.expect("looked up").is_none());
    assert!(
        exit3
            .session_user(&token)
            .await
            .expect("looked up")
            .is_none()
    );
    assert!(matches!(
        exit3
            .list_leads(&session(&token), &QueryParams::default())
            .await,
        Err(Error::Forbidden(Denial::NoCredentials))
    ));
    for junk in ["", "not a token", "%%%"] {
        assert!(exit3.session_user(junk).await.expect("looked up").is_none());
        exit3.logout(junk).await.expect("ignored");
    }
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_username_and_per_address() {
    let (exit3, clock) = service(ThrottleRates::default());
    add(&exit3, "ada", StaffRole::Staff).await;
    for i in 0..5 {
        let ip = format!("192.0.2.{}", i + 1);
        let e = exit3.login(&from(&ip), "ada", "wrong password!").await;
        assert!(matches!(e, Err(Error::BadLogin)), "{i}: {e:?}");
    }
    // The sixth try, even with the right password and from a fresh address, waits.
    let e = exit3.login(&from("198.51.100.1"), "ada", PASSWORD).await;
    let Err(Error::Throttled { scope, retry_after }) = e else {
        panic!("{e:?}");
    };
    assert_eq!(scope, ThrottleScope::LoginUser);
    assert!(retry_after <= Duration::from_secs(900), "{retry_after:?}");
    assert_eq!(
        exit3::messages::too_many_logins(retry_after.as_secs()),
        "Too many failed login attempts. Try again in 15 minutes."
    );
    clock.advance(Duration::from_secs(901));
    exit3
        .login(&from("198.51.100.1"), "ada", PASSWORD)
        .await
        .expect("the window freed");

    // Per address: 20 failures an hour over any usernames.
    for i in 0..20 {
        let _ = exit3
            .login(
                &from("203.0.113.9"),
                &format!("guess{i}"),
                "wrong password!",
            )
            .await;
    }
    let e = exit3.login(&from("203.0.113.9"), "ada", PASSWORD).await;
    assert!(
        matches!(
            e,
            Err(Error::Throttled {
                scope: ThrottleScope::LoginClient,
                ..
            })
        ),
        "{e:?}"
    );
    // A success does not reset the count.
    let ok = exit3.login(&from("203.0.113.10"), "ada", PASSWORD).await;
    assert!(ok.is_ok());
}

#[tokio::test]
async fn roles_are_enforced_on_every_operation() {
    let (exit3, _) = service(ThrottleRates::off());
    add(&exit3, "root", StaffRole::Superuser).await;
    add(&exit3, "sam", StaffRole::Staff).await;
    add(&exit3, "vera", StaffRole::Viewer).await;
    let token = |name: &'static str| {
        let exit3 = exit3.clone();
        async move {
            let s = exit3
                .login(&from("192.0.2.1"), name, PASSWORD)
                .await
                .expect("signed in");
            session(s.token.as_str())
        }
    };
    let (root, sam, vera) = (token("root").await, token("sam").await, token("vera").await);
    let lead = exit3
        .create_lead(
            &sam,
            &Payload::from_json(json!({"full_name": "Ada", "position": "CTO"})).expect("object"),
        )
        .await
        .expect("staff may create");
    let id = lead.id.get();
    assert!(exit3.get_lead(&vera, id).await.is_ok(), "viewers read");
    let change = Payload::from_json(json!({"status": "contacted"})).expect("object");
    assert!(matches!(
        exit3.patch_lead(&vera, id, &change).await,
        Err(Error::Forbidden(Denial::PermissionDenied))
    ));
    assert!(matches!(
        exit3.delete_lead(&vera, id).await,
        Err(Error::Forbidden(Denial::PermissionDenied))
    ));
    exit3
        .patch_lead(&sam, id, &change)
        .await
        .expect("staff edit");
    assert!(matches!(
        exit3.list_staff(&sam).await,
        Err(Error::Forbidden(Denial::PermissionDenied))
    ));
    let users = exit3
        .list_staff(&root)
        .await
        .expect("superusers manage staff");
    assert_eq!(users.len(), 3);
    let root_id = users[0].id;
    let demote_self = StaffPatch {
        role: Some(StaffRole::Staff),
        ..StaffPatch::default()
    };
    assert!(
        exit3
            .update_staff_as(&root, root_id, demote_self)
            .await
            .is_err(),
        "a superuser cannot demote themselves"
    );
    let vera_id = users[2].id;
    let off = StaffPatch {
        active: Some(false),
        ..StaffPatch::default()
    };
    exit3
        .update_staff_as(&root, vera_id, off)
        .await
        .expect("deactivated");
    assert!(matches!(
        exit3.get_lead(&vera, id).await,
        Err(Error::Forbidden(Denial::NoCredentials))
    ));
    assert!(matches!(
        exit3.login(&from("192.0.2.1"), "vera", PASSWORD).await,
        Err(Error::BadLogin)
    ));
    exit3.delete_lead(&sam, id).await.expect("staff delete");
    // The admin key manages staff too (for scripts).
    assert!(
        exit3
            .list_staff(&RequestContext::with_key(ADMIN))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_new_password_ends_the_sessions_and_signs_in() {
    let (exit3, _) = service(ThrottleRates::off());
    add(&exit3, "ada", StaffRole::Staff).await;
    let s = exit3
        .login(&from("192.0.2.1"), "ada", PASSWORD)
        .await
        .expect("signed in");
    assert!(exit3.set_staff_password("ada", "short").await.is_err());
    assert!(matches!(
        exit3
            .set_staff_password("nobody", "a long new password")
            .await,
        Err(Error::NotFound)
    ));
    exit3
        .set_staff_password("ADA", "a long new password")
        .await
        .expect("changed");
    assert!(
        exit3
            .session_user(s.token.as_str())
            .await
            .expect("ok")
            .is_none()
    );
    assert!(
        exit3
            .login(&from("192.0.2.1"), "ada", PASSWORD)
            .await
            .is_err()
    );
    exit3
        .login(&from("192.0.2.1"), "ada", "a long new password")
        .await
        .expect("the new password");
}

#[tokio::test]
async fn csrf_tokens_belong_to_one_session() {
    let (exit3, _) = service(ThrottleRates::off());
    add(&exit3, "ada", StaffRole::Staff).await;
    let one = exit3
        .login(&from("192.0.2.1"), "ada", PASSWORD)
        .await
        .expect("signed in");
    let two = exit3
        .login(&from("192.0.2.1"), "ada", PASSWORD)
        .await
        .expect("signed in");
    let (one, two) = (one.token.as_str(), two.token.as_str());
    let csrf = exit3.csrf_token(one);
    assert!(exit3.check_csrf(one, &csrf));
    assert!(!exit3.check_csrf(two, &csrf), "another session's token");
    assert!(!exit3.check_csrf(one, ""));
    assert!(!exit3.check_csrf(one, "AAAA"));
    assert!(!exit3.check_csrf("junk", &exit3.csrf_token("junk")));
    let other_key = Exit3::builder(Arc::new(MemoryStore::new())).build();
    assert!(
        !other_key.check_csrf(one, &csrf),
        "made with another SECRET_KEY"
    );
}

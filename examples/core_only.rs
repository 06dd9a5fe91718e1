//! exit3 as a library, with no HTTP: create leads, list them, subscribe, and watch the
//! throttle refuse a visitor who sends too many forms.
//!
//! Run with `cargo run --example core_only`.

use std::{net::IpAddr, sync::Arc};

use exit3::{
    ApiKeys, Credential, Error, Exit3, MemoryStore, Payload, QueryParams, RequestContext,
    SubscriberView,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let exit3 = Exit3::builder(Arc::new(MemoryStore::new()))
        .keys(ApiKeys::new(["demo-admin-key"], ["demo-public-key"]))
        .build();

    let visitor_ip: IpAddr = [203, 0, 113, 7].into();
    let visitor = RequestContext::new(Credential::Key("demo-public-key".into()), Some(visitor_ip));
    let admin = RequestContext::with_key("demo-admin-key");

    // The contact form, as the website sends it.
    let form = Payload::empty()
        .with("full_name", "Ada Lovelace")
        .with("position", "Analyst")
        .with("company_name", "Analytical Engines")
        .with("email", "ada@example.com")
        .with("category", "consulting");
    let lead = exit3.create_lead(&visitor, &form).await?;
    println!("created lead {}: {lead}", lead.id);

    // Bad input: every failing field at once.
    let bad = Payload::empty()
        .with("email", "ada@mailinator.com")
        .with("message", "<script>alert(1)</script>");
    if let Err(Error::Validation(errors)) = exit3.create_lead(&visitor, &bad).await {
        for (field, messages) in errors.iter() {
            println!("  {field}: {}", messages.join(" "));
        }
    }

    // Subscribing is idempotent; the public key only sees the address and status.
    let sub = Payload::empty().with("email", "Reader@Example.com");
    for _ in 0..2 {
        let subscribed = exit3.subscribe(&visitor, &sub).await?;
        if let SubscriberView::Receipt { email, status } = &subscribed.view {
            println!("subscribe {email}: {:?} ({status})", subscribed.outcome);
        }
    }

    // The admin lists new leads.
    let params = QueryParams::new([("status", "new"), ("ordering", "full_name")]);
    let page = exit3.list_leads(&admin, &params).await?;
    println!("{} new lead(s):", page.count);
    for lead in &page.items {
        println!(
            "  #{} {lead} <{}>",
            lead.id,
            lead.email.as_deref().unwrap_or("-")
        );
    }

    // The visitor keeps sending the form: `lead_create` allows 10 an hour per address
    // (one of the three forms above was refused by validation, after being counted).
    let mut sent = 2;
    loop {
        sent += 1;
        match exit3.create_lead(&visitor, &form).await {
            Ok(_) => continue,
            Err(refusal @ Error::Throttled { retry_after, scope }) => {
                println!(
                    "form #{sent} refused by {}: {refusal} (Retry-After: {})",
                    scope.as_str(),
                    retry_after.as_secs()
                );
                break;
            }
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

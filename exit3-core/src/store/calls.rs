//! [`StoreCall`]: every call of every store capability, by name — what a
//! [`StoreHook`](super::StoreHook) is told, and the label of the store metrics.

/// Defines [`StoreCall`] from its variants and their names.
macro_rules! store_calls {
    ($($(#[$meta:meta])* $variant:ident = $name:literal,)*) => {
        /// Every store call, by name: what a hook is told (and metrics label).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum StoreCall {
            $($(#[$meta])* $variant,)*
        }

        impl StoreCall {
            /// Every call.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The method's name, e.g. `insert_lead`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }
        }
    };
}

store_calls! {
    /// [`LeadStore::insert_lead`](super::LeadStore::insert_lead).
    InsertLead = "insert_lead",
    /// [`LeadStore::insert_lead_admitted`](super::LeadStore::insert_lead_admitted).
    InsertLeadAdmitted = "insert_lead_admitted",
    /// [`LeadStore::get_lead`](super::LeadStore::get_lead).
    GetLead = "get_lead",
    /// [`LeadStore::update_lead`](super::LeadStore::update_lead).
    UpdateLead = "update_lead",
    /// [`LeadStore::delete_lead`](super::LeadStore::delete_lead).
    DeleteLead = "delete_lead",
    /// [`LeadStore::release_lead`](super::LeadStore::release_lead).
    ReleaseLead = "release_lead",
    /// [`LeadStore::list_leads`](super::LeadStore::list_leads).
    ListLeads = "list_leads",
    /// [`LeadStore::list_leads_after`](super::LeadStore::list_leads_after).
    ListLeadsAfter = "list_leads_after",
    /// [`LeadStore::count_leads_by_day`](super::LeadStore::count_leads_by_day).
    CountLeadsByDay = "count_leads_by_day",
    /// [`HistoryStore::list_history`](super::HistoryStore::list_history).
    ListHistory = "list_history",
    /// [`SubscriberStore::subscribe`](super::SubscriberStore::subscribe).
    Subscribe = "subscribe",
    /// [`SubscriberStore::get_subscriber`](super::SubscriberStore::get_subscriber).
    GetSubscriber = "get_subscriber",
    /// [`SubscriberStore::update_subscriber`](super::SubscriberStore::update_subscriber).
    UpdateSubscriber = "update_subscriber",
    /// [`SubscriberStore::release_subscriber`](super::SubscriberStore::release_subscriber).
    ReleaseSubscriber = "release_subscriber",
    /// [`SubscriberStore::delete_subscriber`](super::SubscriberStore::delete_subscriber).
    DeleteSubscriber = "delete_subscriber",
    /// [`SubscriberStore::unsubscribe`](super::SubscriberStore::unsubscribe).
    Unsubscribe = "unsubscribe",
    /// [`SubscriberStore::confirm`](super::SubscriberStore::confirm).
    Confirm = "confirm",
    /// [`SubscriberStore::list_subscribers`](super::SubscriberStore::list_subscribers).
    ListSubscribers = "list_subscribers",
    /// [`SubscriberStore::list_subscribers_after`](super::SubscriberStore::list_subscribers_after).
    ListSubscribersAfter = "list_subscribers_after",
    /// [`OutboxStore::claim_due`](super::OutboxStore::claim_due).
    ClaimDue = "claim_due",
    /// [`OutboxStore::record_attempt`](super::OutboxStore::record_attempt).
    RecordAttempt = "record_attempt",
    /// [`OutboxStore::issue_confirmation`](super::OutboxStore::issue_confirmation).
    IssueConfirmation = "issue_confirmation",
    /// [`OutboxStore::outbox_stats`](super::OutboxStore::outbox_stats).
    OutboxStats = "outbox_stats",
    /// [`WebhookStore::create_webhook`](super::WebhookStore::create_webhook).
    CreateWebhook = "create_webhook",
    /// [`WebhookStore::list_webhooks`](super::WebhookStore::list_webhooks).
    ListWebhooks = "list_webhooks",
    /// [`WebhookStore::get_webhook`](super::WebhookStore::get_webhook).
    GetWebhook = "get_webhook",
    /// [`WebhookStore::update_webhook`](super::WebhookStore::update_webhook).
    UpdateWebhook = "update_webhook",
    /// [`WebhookStore::delete_webhook`](super::WebhookStore::delete_webhook).
    DeleteWebhook = "delete_webhook",
    /// [`WebhookStore::rotate_webhook_secret`](super::WebhookStore::rotate_webhook_secret).
    RotateWebhookSecret = "rotate_webhook_secret",
    /// [`WebhookStore::queue_webhook`](super::WebhookStore::queue_webhook).
    QueueWebhook = "queue_webhook",
    /// [`WebhookStore::list_deliveries`](super::WebhookStore::list_deliveries).
    ListDeliveries = "list_deliveries",
    /// [`ThrottleStore::hit`](super::ThrottleStore::hit).
    ThrottleHit = "throttle_hit",
    /// [`Maintenance::purge_throttle`](super::Maintenance::purge_throttle).
    PurgeThrottle = "purge_throttle",
    /// [`Maintenance::compact_counts`](super::Maintenance::compact_counts).
    CompactCounts = "compact_counts",
    /// [`IdempotencyStore::begin_idempotent`](super::IdempotencyStore::begin_idempotent).
    BeginIdempotent = "begin_idempotent",
    /// [`IdempotencyStore::finish_idempotent`](super::IdempotencyStore::finish_idempotent).
    FinishIdempotent = "finish_idempotent",
    /// [`IdempotencyStore::release_idempotent`](super::IdempotencyStore::release_idempotent).
    ReleaseIdempotent = "release_idempotent",
    /// [`Maintenance::purge_idempotency`](super::Maintenance::purge_idempotency).
    PurgeIdempotency = "purge_idempotency",
    /// [`PrivacyStore::person_data`](super::PrivacyStore::person_data).
    PersonData = "person_data",
    /// [`PrivacyStore::erase_person`](super::PrivacyStore::erase_person).
    ErasePerson = "erase_person",
    /// [`StaffStore::create_staff`](super::StaffStore::create_staff).
    CreateStaff = "create_staff",
    /// [`StaffStore::staff_for_login`](super::StaffStore::staff_for_login).
    StaffForLogin = "staff_for_login",
    /// [`StaffStore::get_staff`](super::StaffStore::get_staff).
    GetStaff = "get_staff",
    /// [`StaffStore::list_staff`](super::StaffStore::list_staff).
    ListStaff = "list_staff",
    /// [`StaffStore::update_staff`](super::StaffStore::update_staff).
    UpdateStaff = "update_staff",
    /// [`SessionStore::start_session`](super::SessionStore::start_session).
    StartSession = "start_session",
    /// [`SessionStore::session_user`](super::SessionStore::session_user).
    SessionUser = "session_user",
    /// [`SessionStore::end_session`](super::SessionStore::end_session).
    EndSession = "end_session",
    /// [`Maintenance::purge_sessions`](super::Maintenance::purge_sessions).
    PurgeSessions = "purge_sessions",
    /// [`Maintenance::retain`](super::Maintenance::retain).
    Retain = "retain",
    /// [`HealthCheck::health`](super::HealthCheck::health).
    Health = "health",
}

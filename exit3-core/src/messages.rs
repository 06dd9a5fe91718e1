//! Every text of the contract, once: the field messages and `detail`s a client reads,
//! DRF's words where DRF has them. Frontends take their texts from here, so that the
//! JSON API, the staff site and any other frontend say the same thing.

// --- Fields ------------------------------------------------------------------------------

/// A required field that is absent.
pub const REQUIRED: &str = "This field is required.";
/// `null` on a field that does not take it.
pub const NULL: &str = "This field may not be null.";
/// An empty string on a required text field.
pub const BLANK: &str = "This field may not be blank.";
/// A boolean, list or object given to a text field.
pub const NOT_STRING: &str = "Not a valid string.";
/// HTML markup or a `javascript:` URL in text.
pub const HTML: &str = "HTML markup is not allowed.";
/// Control characters (and the invisible characters refused like them) in text.
pub const CONTROL: &str = "Control characters are not allowed.";
/// A NUL in a query parameter (Django's form fields say so).
pub const NULL_CHARACTER: &str = "Null characters are not allowed.";
/// An e-mail address that does not parse.
pub const EMAIL: &str = "Enter a valid email address.";
/// An address at a disposable-mail provider.
pub const DISPOSABLE: &str = "Disposable email addresses are not allowed.";
/// A phone number with characters other than digits, spaces and `+ - ( ) .`.
pub const PHONE: &str = "Phone number may contain only digits, spaces and + - ( ) .";
/// An address another subscriber has (PATCH).
pub const EMAIL_TAKEN: &str = "A subscriber with this email already exists.";
/// A date or date-time filter that cannot be read (django-filter's text).
pub const DATETIME: &str = "Enter a valid date/time.";
/// An empty body where an object was expected.
pub const NO_DATA: &str = "No data provided";

/// A value longer than `max` characters.
pub fn too_long(max: usize) -> String {
    format!("Ensure this field has no more than {max} characters.")
}

/// A value outside a field's choices (a body field).
pub fn invalid_choice(value: &str) -> String {
    format!("\"{value}\" is not a valid choice.")
}

/// A value outside a filter's choices (a query parameter; django-filter's text).
pub fn invalid_filter_choice(value: &str) -> String {
    format!("Select a valid choice. {value} is not one of the available choices.")
}

/// A body that is valid JSON but not an object; `kind` is Python's type name.
pub fn not_an_object(kind: &str) -> String {
    format!("Invalid data. Expected a dictionary, but got {kind}.")
}

// --- Details -----------------------------------------------------------------------------

/// No key was presented.
pub const NO_CREDENTIALS: &str = "Authentication credentials were not provided.";
/// A key that matches no configured key, or a malformed header.
pub const INVALID_KEY: &str = "Invalid API key.";
/// A valid key whose scope does not cover the operation.
pub const PERMISSION_DENIED: &str = "You do not have permission to perform this action.";
/// An unknown route or id.
pub const NOT_FOUND: &str = "Not found.";
/// A page number that is not a positive integer, or past the last page.
pub const INVALID_PAGE: &str = "Invalid page.";
/// The store cannot answer now, or the request was not answered in time.
pub const UNAVAILABLE: &str = "Service temporarily unavailable.";
/// Anything unexpected.
pub const SERVER_ERROR: &str = "A server error occurred.";
/// The answer to every unsubscribe request, known address or not (no enumeration).
pub const UNSUBSCRIBED: &str = "If this address was subscribed, it is now unsubscribed.";
/// A `Host` that is not allowed.
pub const INVALID_HOST: &str = "Invalid host header.";
/// A malformed `Idempotency-Key` header (capture.md §2).
pub const INVALID_IDEMPOTENCY_KEY: &str = "Invalid Idempotency-Key header.";
/// An `Idempotency-Key` used before with another request.
pub const IDEMPOTENCY_MISMATCH: &str = "This Idempotency-Key was used with a different request.";
/// An `Idempotency-Key` whose first request is still running.
pub const IDEMPOTENCY_RUNNING: &str = "A request with this Idempotency-Key is being processed.";
/// A body over the limit.
pub const TOO_LARGE: &str = "Request body is too large.";
/// A confirmation link that is unknown, expired or used.
pub const LINK_INVALID_OR_EXPIRED: &str = "This link is invalid or has expired.";
/// An unsubscribe link whose signature does not hold.
pub const LINK_INVALID: &str = "This link is invalid.";
/// The confirmation page, after confirming (or a double click).
pub const SUBSCRIBED_PAGE: &str = "You are subscribed.";
/// The unsubscribe page, after unsubscribing (and on every repeat).
pub const UNSUBSCRIBED_PAGE: &str = "You are unsubscribed.";
/// The subject of the double opt-in mail.
pub const CONFIRM_SUBJECT: &str = "Please confirm your subscription";

/// The subject of the staff mail about a new lead: `New lead: Full Name (Company)`.
pub fn lead_notification_subject(full_name: &str, company: Option<&str>) -> String {
    match company.filter(|c| !c.is_empty()) {
        Some(company) => format!("New lead: {full_name} ({company})"),
        None => format!("New lead: {full_name}"),
    }
}

/// DRF's text for an empty list where one item is needed.
pub const EMPTY_LIST: &str = "This list may not be empty.";
/// `POST webhooks/{id}/ping/`: a `ping` event is queued.
pub const PING_QUEUED: &str = "Ping queued.";
/// A webhook URL that is not a public `https://` address (capture.md §3).
pub const PUBLIC_HTTPS_URL: &str = "Enter a public https URL.";
/// DRF's text for a boolean field given something else.
pub const NOT_A_BOOLEAN: &str = "Must be a valid boolean.";

/// A body that could not be read at all (the client went away or was too slow).
pub const MALFORMED_REQUEST: &str = "Malformed request.";

/// DRF's text for a list field given a value of JSON type `kind` (`str`, `dict`, …).
pub fn not_a_list(kind: &str) -> String {
    format!("Expected a list of items but got type \"{kind}\".")
}

/// A throttled request; `seconds` until it would be accepted.
pub fn throttled(seconds: u64) -> String {
    format!("Request was throttled. Expected available in {seconds} seconds.")
}

/// A method the route does not answer.
pub fn method_not_allowed(method: &str) -> String {
    format!("Method \"{method}\" not allowed.")
}

/// A media type other than JSON or form-urlencoded, as sent.
pub fn unsupported_media_type(content_type: &str) -> String {
    format!("Unsupported media type \"{content_type}\" in request.")
}

/// A body that is not JSON; `what` is the parser's message.
pub fn json_parse_error(what: &str) -> String {
    format!("JSON parse error - {what}")
}

/// Django's text for a username with other characters.
pub const USERNAME: &str = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
/// A username another staff user has (case-insensitively).
pub const USERNAME_TAKEN: &str = "A user with that username already exists.";
/// A password shorter than [`PASSWORD_MIN`](crate::access::PASSWORD_MIN) characters.
pub const PASSWORD_TOO_SHORT: &str =
    "This password is too short. It must contain at least 12 characters.";
/// A password that is the username (or contains it).
pub const PASSWORD_LIKE_USERNAME: &str = "The password is too similar to the username.";
/// Django's text for a failed sign-in: the same whether the user exists or not.
pub const BAD_LOGIN: &str = "Please enter a correct username and password.";

/// Failed sign-ins beyond the login throttle; `seconds` until the next try.
pub fn too_many_logins(seconds: u64) -> String {
    let minutes = seconds.div_ceil(60).max(1);
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    format!("Too many failed login attempts. Try again in {minutes} {unit}.")
}

//! CSV exports (privacy.md §3): leads and subscribers as a spreadsheet reads them — UTF-8
//! with a byte-order mark, RFC 4180 quoting, CRLF line ends, a header row — written the
//! same for every frontend (the API's `export.csv`, the staff site's button). An export
//! is read from the store a batch at a time, by keyset (each batch starts after the last
//! row of the one before), so that a million rows go out in constant memory and no
//! statement runs long.

use std::borrow::Cow;

use crate::{
    Lead, Subscriber,
    clock::{Timestamp, to_rfc3339_micros},
    error::Error,
    query::{LeadFilter, Ordering, SubscriberFilter},
    service::Exit3,
};

/// How many rows one batch reads (and one chunk of the body holds).
pub const EXPORT_BATCH: u32 = 1000;

/// The columns of a lead export, in order.
pub const LEAD_HEADER: [&str; 18] = [
    "id",
    "full_name",
    "position",
    "company_name",
    "email",
    "phone",
    "message",
    "status",
    "source",
    "category",
    "ip_address",
    "user_agent",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "created_at",
    "updated_at",
];

/// The columns of a subscriber export, in order.
pub const SUBSCRIBER_HEADER: [&str; 8] = [
    "id",
    "email",
    "full_name",
    "status",
    "source",
    "created_at",
    "confirmed_at",
    "unsubscribed_at",
];

/// UTF-8's byte-order mark: spreadsheets then read the file as UTF-8.
const BOM: &[u8] = "\u{feff}".as_bytes();

/// A cell as written: one that a spreadsheet would take for a formula (it begins with
/// `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, so that it is
/// shown as text and never run (OWASP's CSV injection rule).
pub fn cell(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

fn opt(text: Option<&String>) -> String {
    text.cloned().unwrap_or_default()
}

fn time(t: Option<Timestamp>) -> String {
    t.map(to_rfc3339_micros).unwrap_or_default()
}

/// A lead's row: the API's values (timestamps as the API writes them; a missing value
/// is an empty cell).
pub fn lead_row(lead: &Lead) -> [String; 18] {
    let info = lead.client_info.clone().unwrap_or_default();
    [
        lead.id.to_string(),
        lead.full_name.clone(),
        lead.position.clone(),
        opt(lead.company_name.as_ref()),
        opt(lead.email.as_ref()),
        opt(lead.phone.as_ref()),
        opt(lead.message.as_ref()),
        lead.status.as_str().to_owned(),
        lead.source.clone(),
        lead.category.clone(),
        info.ip_address.map(|ip| ip.to_string()).unwrap_or_default(),
        opt(info.user_agent.as_ref()),
        opt(info.referrer.as_ref()),
        opt(info.utm_source.as_ref()),
        opt(info.utm_medium.as_ref()),
        opt(info.utm_campaign.as_ref()),
        time(Some(lead.created_at)),
        time(Some(lead.updated_at)),
    ]
}

/// A subscriber's row.
pub fn subscriber_row(s: &Subscriber) -> [String; 8] {
    [
        s.id.to_string(),
        s.email.clone(),
        opt(s.full_name.as_ref()),
        s.status.as_str().to_owned(),
        s.source.clone(),
        time(Some(s.created_at)),
        time(s.confirmed_at),
        time(s.unsubscribed_at),
    ]
}

/// Writes `rows` as CSV records (after the BOM and `header` when `first`).
fn encode<'a, const N: usize>(
    header: Option<&[&str; N]>,
    rows: impl Iterator<Item = [String; N]> + 'a,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    if header.is_some() {
        out.extend_from_slice(BOM);
    }
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    let failed = |e: csv::Error| Error::internal(format!("writing CSV: {e}"));
    if let Some(header) = header {
        writer.write_record(header.iter()).map_err(failed)?;
    }
    for row in rows {
        writer
            .write_record(row.iter().map(|c| cell(c).into_owned()))
            .map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|e| Error::internal(format!("writing CSV: {e}")))
}

/// Where an export's rows come from.
#[derive(Debug)]
enum Rows {
    /// A lead list's matches, by keyset from `after`.
    Leads {
        filter: LeadFilter,
        ordering: Ordering,
        after: Option<Lead>,
    },
    /// A subscriber list's matches, likewise.
    Subscribers {
        filter: SubscriberFilter,
        ordering: Ordering,
        after: Option<Subscriber>,
    },
    /// Leads already read (the staff site's ticked rows).
    Given(Vec<Lead>),
}

/// An export in progress: [`next_chunk`](Self::next_chunk) until `None`. Made by
/// [`Exit3::export_leads`], [`Exit3::export_subscribers`] and
/// [`Exit3::export_leads_by_id`], after their caller was admitted.
#[derive(Debug)]
pub struct CsvExport {
    exit3: Exit3,
    rows: Rows,
    filename: String,
    /// The first chunk, read when the export was made.
    primed: Option<Vec<u8>>,
    started: bool,
    done: bool,
}

impl CsvExport {
    fn new(exit3: &Exit3, rows: Rows, stem: &str) -> Self {
        let date = exit3.now().date();
        Self {
            exit3: exit3.clone(),
            rows,
            filename: format!("{stem}-{date}.csv"),
            primed: None,
            started: false,
            done: false,
        }
    }

    /// Reads the first chunk now, so that a store that cannot answer fails the request
    /// (503, 500) instead of cutting off a body that already said 200.
    pub(crate) async fn primed(mut self) -> Result<Self, Error> {
        self.primed = self.next_chunk().await?;
        Ok(self)
    }

    pub(crate) fn leads(exit3: &Exit3, filter: LeadFilter, ordering: Ordering) -> Self {
        let rows = Rows::Leads {
            filter,
            ordering,
            after: None,
        };
        Self::new(exit3, rows, "leads")
    }

    pub(crate) fn subscribers(exit3: &Exit3, filter: SubscriberFilter, ordering: Ordering) -> Self {
        let rows = Rows::Subscribers {
            filter,
            ordering,
            after: None,
        };
        Self::new(exit3, rows, "subscribers")
    }

    pub(crate) fn given(exit3: &Exit3, leads: Vec<Lead>) -> Self {
        Self::new(exit3, Rows::Given(leads), "leads")
    }

    /// `leads-YYYY-MM-DD.csv` or `subscribers-YYYY-MM-DD.csv` (today, UTC).
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The next part of the file: the BOM and the header with the first batch, then a
    /// batch of rows at a time; `None` when all was written. An error (the store failed
    /// mid-way) ends the export: the file is incomplete, and a frontend must not let it
    /// pass for whole (an HTTP body is cut off).
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, Error> {
        if let Some(first) = self.primed.take() {
            return Ok(Some(first));
        }
        if self.done {
            return Ok(None);
        }
        let first = !self.started;
        self.started = true;
        let store = self.exit3.store();
        let chunk = match &mut self.rows {
            Rows::Leads {
                filter,
                ordering,
                after,
            } => {
                let batch = store
                    .list_leads_after(filter, *ordering, after.as_ref(), EXPORT_BATCH)
                    .await?;
                self.done = (batch.len() as u64) < u64::from(EXPORT_BATCH);
                let chunk = encode(first.then_some(&LEAD_HEADER), batch.iter().map(lead_row))?;
                *after = batch.into_iter().last().or(after.take());
                chunk
            }
            Rows::Subscribers {
                filter,
                ordering,
                after,
            } => {
                let batch = store
                    .list_subscribers_after(filter, *ordering, after.as_ref(), EXPORT_BATCH)
                    .await?;
                self.done = (batch.len() as u64) < u64::from(EXPORT_BATCH);
                let header = first.then_some(&SUBSCRIBER_HEADER);
                let chunk = encode(header, batch.iter().map(subscriber_row))?;
                *after = batch.into_iter().last().or(after.take());
                chunk
            }
            Rows::Given(leads) => {
                self.done = true;
                encode(Some(&LEAD_HEADER), leads.iter().map(lead_row))?
            }
        };
        Ok(Some(chunk))
    }

    /// The chunks as a stream for a streamed HTTP body. A failure mid-way is told to
    /// `on_failure`, then unwinds the task that polls the stream: the connection it
    /// writes to is dropped unfinished, so the client sees a broken transfer. Ending the
    /// stream with an error is not enough — hyper (under poem) then still terminates a
    /// chunked body as complete, and a truncated file would pass for the whole one.
    /// The unwinding goes through [`std::panic::resume_unwind`], which runs no panic
    /// hook: it is an abort by design, not a fault.
    pub fn into_stream(
        self,
        on_failure: impl Fn(&Error) + Send + Sync + 'static,
    ) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
        futures_util::stream::unfold((self, on_failure), |(mut export, on_failure)| async move {
            match export.next_chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), (export, on_failure))),
                Ok(None) => None,
                Err(e) => {
                    on_failure(&e);
                    std::panic::resume_unwind(Box::new("a CSV export was cut off"))
                }
            }
        })
    }

    /// The whole file at once (tests, small exports).
    pub async fn collect(mut self) -> Result<Vec<u8>, Error> {
        let mut all = Vec::new();
        while let Some(chunk) = self.next_chunk().await? {
            all.extend(chunk);
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_look_like_formulas_are_written_as_text() {
        for (raw, written) in [
            ("=1+2", "'=1+2"),
            ("+44 20 7946 0000", "'+44 20 7946 0000"),
            ("-3", "'-3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("a=b", "a=b"),
            ("", ""),
            ("Ada", "Ada"),
        ] {
            assert_eq!(cell(raw), written, "{raw:?}");
        }
    }

    #[test]
    fn records_are_quoted_as_rfc_4180_says_with_crlf_and_a_bom_first() {
        let rows = [[
            "1".to_owned(),
            "Ada \"the first\"".to_owned(),
            "line 1\nline 2".to_owned(),
            "a,b".to_owned(),
            "=HYPERLINK(\"x\")".to_owned(),
            String::new(),
            "ü".to_owned(),
            "x".to_owned(),
        ]];
        let header = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let bytes = encode(Some(&header), rows.into_iter()).expect("csv");
        let text = String::from_utf8(bytes).expect("utf-8");
        assert_eq!(
            text,
            "\u{feff}a,b,c,d,e,f,g,h\r\n1,\"Ada \"\"the first\"\"\",\"line 1\nline 2\",\"a,b\",\
             \"'=HYPERLINK(\"\"x\"\")\",,ü,x\r\n"
        );
        let more = encode(None, std::iter::once([(); 8].map(|()| "z".to_owned())));
        assert_eq!(more.expect("csv"), b"z,z,z,z,z,z,z,z\r\n");
    }
}

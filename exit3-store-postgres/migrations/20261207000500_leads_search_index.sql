-- no-transaction
-- One trigram index for the lead search instead of four (issue 16: each index is work
-- on every insert). It holds the searchable fields joined by U+001F, lowercased as the
-- search lowercases each field; the search asks it for the pattern in the joined text,
-- then checks the pattern against each field (`lead_list.rs`), so a match across two
-- fields is not a match. U+001F is no letter and not case-ignorable, so lowering the
-- joined text lowers each field as on its own (a final sigma stays final).
CREATE INDEX CONCURRENTLY IF NOT EXISTS leads_search_trgm ON leads USING gin (
    lower((full_name || chr(31) || position || chr(31) || coalesce(company_name, '')
           || chr(31) || coalesce(email, '')) COLLATE "und-x-icu") gin_trgm_ops
);

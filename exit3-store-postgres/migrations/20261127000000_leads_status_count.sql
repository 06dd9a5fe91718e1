-- A narrow index on the lead status alone, for the count of a list filtered by status
-- (`GET leads/?status=new`, the admin's most common list). With B-tree deduplication it
-- holds one posting list per status, so the count's index-only scan reads about a
-- third of the pages that `leads_status_created_at_id` needs. The page query keeps
-- using `leads_status_created_at_id` for its order.
CREATE INDEX leads_status ON leads (status);

-- no-transaction
-- Checks the existing rows against the notes constraint without blocking writes (a
-- validation takes SHARE UPDATE EXCLUSIVE).
ALTER TABLE leads VALIDATE CONSTRAINT leads_notes_length;

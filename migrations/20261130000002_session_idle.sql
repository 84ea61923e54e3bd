-- A session also ends after a time without use (sessions::idle_timeout), not
-- only at its expiry; the purge job deletes ended sessions, spent sign-in
-- links, relayed outbox rows every consumer has passed, and finished jobs.
ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX jobs_done_idx ON jobs(done_at) WHERE done_at IS NOT NULL;
CREATE INDEX magic_links_expiry_idx ON magic_links(expires_at);
CREATE INDEX outbox_published_idx ON outbox(published_at) WHERE published_at IS NOT NULL;

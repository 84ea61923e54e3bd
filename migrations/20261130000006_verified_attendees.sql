-- An attendee's email address counts as theirs once they open a sign-in link
-- that was emailed to it; only then may they be given a privileged role.
ALTER TABLE attendees ADD COLUMN verified_at timestamptz;
-- Links emailed to the address verify it; the one handed to the browser that
-- registered (the fast path) does not.
ALTER TABLE magic_links ADD COLUMN verifies boolean NOT NULL DEFAULT false;

-- Emails sent, per recipient: the limits on how many one address receives
-- (services::notifications::budget). Kept for a day.
CREATE TABLE email_log (
    id         bigserial PRIMARY KEY,
    recipient  citext NOT NULL,
    kind       text NOT NULL,
    sent_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_log_recipient_idx ON email_log (recipient, sent_at);

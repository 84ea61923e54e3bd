-- Waiting list of sold-out ticket types; a freed seat is held for the next person in line.
CREATE TABLE waitlist_entries (
    id                uuid PRIMARY KEY,
    event_id          uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    ticket_type_id    uuid NOT NULL REFERENCES ticket_types(id) ON DELETE CASCADE,
    name              text NOT NULL,
    email             citext NOT NULL,
    status            text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'offered', 'converted', 'expired')),
    offer_token_hash  bytea,
    offer_expires_at  timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT waitlist_type_email_key UNIQUE (ticket_type_id, email)
);
CREATE INDEX waitlist_queue_idx ON waitlist_entries(ticket_type_id, created_at) WHERE status = 'waiting';
CREATE UNIQUE INDEX waitlist_offer_token_idx ON waitlist_entries(offer_token_hash) WHERE offer_token_hash IS NOT NULL;

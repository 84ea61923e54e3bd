-- Networking: attendees queue for "Meet someone" (the queue itself is in
-- Redis) and are paired for a 1:1 video call of the organiser's length; a
-- pair meets once per event. Each may press Connect; when both do, they see
-- each other's contact card. Blocks keep people apart; reports go to the
-- organisers.
CREATE TABLE networking_settings (
    event_id   uuid PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
    call_secs  int NOT NULL CHECK (call_secs BETWEEN 10 AND 1800)
);
CREATE TABLE networking_meetings (
    id          uuid PRIMARY KEY,
    event_id    uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    -- The pair, lower id first: one row per pair and event.
    first_id    uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    second_id   uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    started_at  timestamptz NOT NULL DEFAULT now(),
    ends_at     timestamptz NOT NULL,
    CONSTRAINT networking_pair_order CHECK (first_id < second_id),
    CONSTRAINT networking_pair_once UNIQUE (event_id, first_id, second_id)
);
CREATE INDEX networking_meetings_second_idx ON networking_meetings(second_id);
CREATE TABLE networking_connects (
    meeting_id   uuid NOT NULL REFERENCES networking_meetings(id) ON DELETE CASCADE,
    attendee_id  uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meeting_id, attendee_id)
);
-- What an attendee shares with the people they connect with.
CREATE TABLE networking_cards (
    attendee_id  uuid PRIMARY KEY REFERENCES attendees(id) ON DELETE CASCADE,
    headline     text NOT NULL DEFAULT '' CHECK (length(headline) <= 200),
    share_email  boolean NOT NULL DEFAULT true,
    links        text NOT NULL DEFAULT '' CHECK (length(links) <= 1000)
);
CREATE TABLE attendee_blocks (
    event_id    uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    blocker_id  uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    blocked_id  uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE TABLE attendee_reports (
    id           uuid PRIMARY KEY,
    event_id     uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    reporter_id  uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    reported_id  uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attendee_reports_event_idx ON attendee_reports(event_id, created_at DESC);

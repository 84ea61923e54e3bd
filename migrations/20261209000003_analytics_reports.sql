-- Attendees as their registration said (attendee.registered): names and
-- emails for analytics' reports, from the bus like everything analytics
-- keeps. Attendees seen before take theirs from the attendees themselves.
CREATE TABLE analytics.attendees (
    attendee_id  uuid PRIMARY KEY,
    event_id     uuid NOT NULL,
    name         text NOT NULL,
    email        text NOT NULL
);
INSERT INTO analytics.attendees (attendee_id, event_id, name, email)
SELECT id, event_id, name, email::text FROM public.attendees
ON CONFLICT DO NOTHING;

-- Reports organisers ask for (analytics::reports): a job of analytics' own,
-- claimed under a lease, its CSV kept in chunks until it expires.
CREATE TABLE analytics.reports (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL,
    event_id      uuid NOT NULL,
    status        text NOT NULL CHECK (status IN ('queued', 'running', 'ready', 'failed')),
    -- Stages' and sessions' names when it was asked for (area key → name).
    area_names    jsonb NOT NULL DEFAULT '{}',
    rows_done     bigint NOT NULL DEFAULT 0,
    rows_total    bigint,
    attempts      integer NOT NULL DEFAULT 0,
    leased_until  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    expires_at    timestamptz NOT NULL
);
-- One report per event in the making at a time.
CREATE UNIQUE INDEX reports_one_in_the_making ON analytics.reports (event_id)
    WHERE status IN ('queued', 'running');
CREATE INDEX reports_event_idx ON analytics.reports (event_id, created_at DESC);
CREATE INDEX reports_to_make_idx ON analytics.reports (created_at)
    WHERE status IN ('queued', 'running');

CREATE TABLE analytics.report_chunks (
    report_id  uuid NOT NULL REFERENCES analytics.reports (id) ON DELETE CASCADE,
    seq        integer NOT NULL,
    bytes      bytea NOT NULL,
    PRIMARY KEY (report_id, seq)
);

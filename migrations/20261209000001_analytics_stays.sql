-- Time spent (analytics::visits): one live connection's stay in one area,
-- opened by its entry, closed by its leave, kept alive by its heartbeats.
-- Visits (an attendee's stays in an area, joined across reconnects) are
-- computed from these when read.
CREATE TABLE analytics.stays (
    event_id       uuid NOT NULL,
    attendee_id    uuid NOT NULL,
    area           text NOT NULL,
    connection_id  uuid NOT NULL,
    entered_at     timestamptz NOT NULL,
    left_at        timestamptz,
    last_seen_at   timestamptz NOT NULL,
    PRIMARY KEY (connection_id, area, entered_at),
    CHECK (left_at IS NULL OR left_at >= entered_at)
);
CREATE INDEX stays_event_idx ON analytics.stays (event_id, attendee_id, area, entered_at);

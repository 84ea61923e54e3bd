-- What attendees did besides being somewhere, one row per thing counted: a
-- chat message, a poll's voter, a question, a networking meeting or a
-- connection made. The key makes a redelivered or repeated fact count once
-- (a message id, a poll and voter, a meeting).
CREATE TABLE analytics.interactions (
    kind text NOT NULL CHECK (kind IN ('message', 'vote', 'question', 'meeting', 'connection')),
    key text NOT NULL,
    event_id uuid NOT NULL,
    area text NOT NULL,
    attendee_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX interactions_by_event ON analytics.interactions (event_id, area);

-- Watch time as attendees' pages (attendee.data_points) and replay players
-- (replay.watched, area 'replay') reported it, one row per message.
CREATE TABLE analytics.watching (
    message_id uuid PRIMARY KEY,
    event_id uuid NOT NULL,
    attendee_id uuid NOT NULL,
    area text NOT NULL,
    watched_ms bigint NOT NULL CHECK (watched_ms >= 0),
    hidden_ms bigint NOT NULL DEFAULT 0 CHECK (hidden_ms >= 0),
    quality_changes integer NOT NULL DEFAULT 0 CHECK (quality_changes >= 0),
    lowest_height integer,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX watching_by_event ON analytics.watching (event_id, area);

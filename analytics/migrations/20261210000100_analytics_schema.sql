-- The analytics schema as a database of its own starts it (`analytics_database_url`
-- set): the same tables as the main migrations make in the shared database,
-- without their backfills from the public schema (a database of its own is
-- filled from the log: `convene rebuild-analytics`). A test compares the two.
CREATE SCHEMA IF NOT EXISTS analytics;

CREATE TABLE analytics.activity_facts (
    message_id   uuid PRIMARY KEY,
    event_id     uuid NOT NULL,
    attendee_id  uuid NOT NULL,
    area         text NOT NULL,
    action       text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    consumed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activity_facts_event_idx ON analytics.activity_facts(event_id, area, action);

CREATE TABLE analytics.order_states (
    order_id        uuid PRIMARY KEY,
    event_id        uuid NOT NULL,
    status          text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    ticket_type_id  uuid,
    quantity        integer,
    total_minor     bigint,
    currency        text,
    placed_at       timestamptz
);
CREATE INDEX order_states_event_idx ON analytics.order_states (event_id, status);
CREATE INDEX order_states_placed_idx ON analytics.order_states (event_id, placed_at);

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

CREATE TABLE analytics.attendees (
    attendee_id  uuid PRIMARY KEY,
    event_id     uuid NOT NULL,
    name         text NOT NULL,
    email        text NOT NULL
);

CREATE TABLE analytics.reports (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL,
    event_id      uuid NOT NULL,
    status        text NOT NULL CHECK (status IN ('queued', 'running', 'ready', 'failed')),
    area_names    jsonb NOT NULL DEFAULT '{}',
    rows_done     bigint NOT NULL DEFAULT 0,
    rows_total    bigint,
    attempts      integer NOT NULL DEFAULT 0,
    leased_until  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    expires_at    timestamptz NOT NULL,
    kind          text NOT NULL DEFAULT 'time_per_area'
        CHECK (kind IN ('time_per_area', 'area_summary'))
);
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

CREATE TABLE analytics.generation (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    number integer NOT NULL DEFAULT 0 CHECK (number >= 0),
    rebuilt_at timestamptz
);
INSERT INTO analytics.generation DEFAULT VALUES;

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

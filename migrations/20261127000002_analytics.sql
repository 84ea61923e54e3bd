-- Analytics keeps its own schema (the seed gives it its own database).
CREATE SCHEMA IF NOT EXISTS analytics;

-- One row per consumed message: the primary key makes consumption idempotent.
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

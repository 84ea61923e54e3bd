-- The outbox doubles as a durable log when no broker is configured: the relay
-- numbers committed rows (`position`, in commit order) and each consumer group
-- keeps the position it has processed up to.
ALTER TABLE outbox ADD COLUMN position bigint;
CREATE UNIQUE INDEX outbox_position_idx ON outbox(position);
CREATE INDEX outbox_topic_position_idx ON outbox(topic, position) WHERE position IS NOT NULL;

CREATE TABLE bus_offsets (
    consumer_group  text PRIMARY KEY,
    position        bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Activity facts travel as domain events in the outbox; the separate copy goes.
DROP TABLE activity;

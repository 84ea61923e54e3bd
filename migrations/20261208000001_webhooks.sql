-- Longwave: organisers' webhook endpoints and what is delivered to them.
-- An endpoint belongs to an organisation and hears about all its events, or
-- one event. Each domain event it wants becomes a message (the bytes sent,
-- signed per attempt) and a delivery per endpoint, retried on a schedule;
-- every attempt is logged.
CREATE TABLE webhook_endpoints (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    -- Only this event's messages (NULL: every event of the organisation).
    event_id        uuid REFERENCES events(id) ON DELETE CASCADE,
    url             text NOT NULL CHECK (length(url) <= 2000),
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    -- The message types it wants (never empty).
    types           text[] NOT NULL CHECK (cardinality(types) > 0 AND types <@ ARRAY[
        'attendee.registered', 'order.placed', 'order.paid', 'order.cancelled',
        'order.refunded', 'attendee.entered_area', 'attendee.left_area',
        'recording.ready']::text[]),
    enabled         boolean NOT NULL DEFAULT true,
    -- Why it was turned off by the platform (NULL: by the organiser, or on).
    disabled_reason text,
    -- The signing secret (`whsec_…`); after a rotation the previous one
    -- signs beside it until `previous_until`.
    secret          text NOT NULL,
    previous_secret text,
    previous_until  timestamptz,
    -- Since when every delivery has failed (NULL: the last one succeeded).
    failing_since   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_org_idx ON webhook_endpoints(org_id);

-- What is sent: the body is kept as the exact bytes signed.
CREATE TABLE webhook_messages (
    -- The domain event's id (a test message has its own): `webhook-id`.
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    event_id    uuid REFERENCES events(id) ON DELETE CASCADE,
    type        text NOT NULL,
    body        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_messages_org_idx ON webhook_messages(org_id, occurred_at);

CREATE TABLE webhook_deliveries (
    message_id      uuid NOT NULL REFERENCES webhook_messages(id) ON DELETE CASCADE,
    endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A dispatcher is sending it until then (a crashed one's lease lapses);
    -- its result counts only under the same lease (a resend meanwhile
    -- starts a new one).
    leased_until    timestamptz,
    lease           uuid,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries(endpoint_id, status);

CREATE TABLE webhook_attempts (
    id           bigserial PRIMARY KEY,
    message_id   uuid NOT NULL,
    endpoint_id  uuid NOT NULL,
    attempt      integer NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    -- The response's status (NULL: no response: refused, timed out…).
    code         integer,
    -- Why there was no response, or the first bytes of it.
    response     text NOT NULL DEFAULT '',
    duration_ms  integer NOT NULL,
    FOREIGN KEY (message_id, endpoint_id) REFERENCES webhook_deliveries(message_id, endpoint_id) ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_endpoint_idx ON webhook_attempts(endpoint_id, id DESC);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts(message_id, endpoint_id);

-- Monolith: organisations, organisers, sessions, events, registrations, activity and the outbox.
CREATE EXTENSION IF NOT EXISTS citext;

CREATE TABLE organisations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE organisers (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    email          citext NOT NULL,
    name           text NOT NULL,
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organisers_email_key UNIQUE (email)
);
CREATE INDEX organisers_org_idx ON organisers(org_id);

CREATE TABLE events (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    slug         text NOT NULL,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    time_zone    text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_slug_key UNIQUE (slug),
    CONSTRAINT events_time_order CHECK (ends_at > starts_at)
);
CREATE INDEX events_org_idx ON events(org_id, starts_at);

CREATE TABLE ticket_types (
    id           uuid PRIMARY KEY,
    event_id     uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    name         text NOT NULL,
    price_minor  bigint NOT NULL DEFAULT 0 CHECK (price_minor >= 0),
    currency     text NOT NULL DEFAULT 'EUR',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_types_event_idx ON ticket_types(event_id);

CREATE TABLE attendees (
    id          uuid PRIMARY KEY,
    event_id    uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    email       citext NOT NULL,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT attendees_event_email_key UNIQUE (event_id, email)
);

CREATE TABLE tickets (
    id              uuid PRIMARY KEY,
    event_id        uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    attendee_id     uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    ticket_type_id  uuid NOT NULL REFERENCES ticket_types(id),
    code            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tickets_code_key UNIQUE (code)
);
CREATE INDEX tickets_attendee_idx ON tickets(attendee_id);

-- Server-side sessions: the cookie carries a random token, the table its SHA-256.
CREATE TABLE sessions (
    token_hash  bytea PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('organiser', 'attendee')),
    subject_id  uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions(expires_at);

-- Attendee sign-in links: single use, expiring; only the hash is stored.
CREATE TABLE magic_links (
    token_hash   bytea PRIMARY KEY,
    attendee_id  uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);

-- Facts of attendee activity (enter/leave an area), written with their outbox row.
CREATE TABLE activity (
    id           bigserial PRIMARY KEY,
    message_id   uuid NOT NULL UNIQUE,
    event_id     uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    attendee_id  uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    area         text NOT NULL,
    action       text NOT NULL,
    occurred_at  timestamptz NOT NULL
);
CREATE INDEX activity_event_idx ON activity(event_id, occurred_at);

-- Transactional outbox: rows commit with the fact; the relay publishes them to the bus.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    message_id    uuid NOT NULL UNIQUE,
    topic         text NOT NULL,
    key           text NOT NULL,
    payload       jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox(id) WHERE published_at IS NULL;

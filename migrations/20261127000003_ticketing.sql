-- Registrations: ticket type rules, quotas that never oversell, orders with idempotency keys.
ALTER TABLE ticket_types
    ADD COLUMN description    text NOT NULL DEFAULT '',
    ADD COLUMN visibility     text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'hidden')),
    ADD COLUMN sales_open_at  timestamptz,
    ADD COLUMN sales_close_at timestamptz,
    ADD COLUMN min_per_order  int NOT NULL DEFAULT 1 CHECK (min_per_order >= 1),
    ADD COLUMN max_per_order  int NOT NULL DEFAULT 10,
    ADD CONSTRAINT ticket_types_per_order CHECK (max_per_order >= min_per_order),
    ADD CONSTRAINT ticket_types_currency CHECK (currency ~ '^[A-Z]{3}$'),
    ADD CONSTRAINT ticket_types_window CHECK (sales_close_at IS NULL OR sales_open_at IS NULL OR sales_close_at > sales_open_at);

-- A quota is a number of seats; a ticket type draws from every quota linked to it.
-- `sold` only changes under a row lock on the quota (see services::ticketing).
CREATE TABLE quotas (
    id          uuid PRIMARY KEY,
    event_id    uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    name        text NOT NULL,
    size        int NOT NULL CHECK (size >= 0),
    sold        int NOT NULL DEFAULT 0 CHECK (sold >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT quotas_event_name_key UNIQUE (event_id, name),
    CONSTRAINT quotas_not_oversold CHECK (sold <= size)
);

CREATE TABLE ticket_type_quotas (
    ticket_type_id  uuid NOT NULL REFERENCES ticket_types(id) ON DELETE CASCADE,
    quota_id        uuid NOT NULL REFERENCES quotas(id) ON DELETE CASCADE,
    PRIMARY KEY (ticket_type_id, quota_id)
);
CREATE INDEX ticket_type_quotas_quota_idx ON ticket_type_quotas(quota_id);

CREATE TABLE orders (
    id               uuid PRIMARY KEY,
    event_id         uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    attendee_id      uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    code             text NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'confirmed', 'cancelled')),
    total_minor      bigint NOT NULL CHECK (total_minor >= 0),
    currency         text NOT NULL,
    idempotency_key  text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_code_key UNIQUE (code),
    CONSTRAINT orders_idempotency_key UNIQUE (event_id, idempotency_key)
);
CREATE INDEX orders_event_idx ON orders(event_id, created_at);

ALTER TABLE tickets ADD COLUMN order_id uuid REFERENCES orders(id) ON DELETE CASCADE;
CREATE INDEX tickets_order_idx ON tickets(order_id);

-- Self-serve plans of organisations (Checkout). Limits live in this table:
-- operators change them with SQL; NULL means unlimited.
CREATE TABLE plans (
    id                 text PRIMARY KEY,
    name               text NOT NULL,
    rank               int NOT NULL,
    price_minor        bigint NOT NULL CHECK (price_minor >= 0),
    currency           text NOT NULL DEFAULT 'EUR',
    max_events         int,
    max_registrations  int,
    max_seats          int
);
INSERT INTO plans (id, name, rank, price_minor, max_events, max_registrations, max_seats) VALUES
    ('free',    'Free',    0,     0,    1,    50,   1),
    ('starter', 'Starter', 1,  4900,    5,  1000,   3),
    ('growth',  'Growth',  2, 19900, NULL, 10000,  10);

ALTER TABLE organisations ADD COLUMN plan_id text NOT NULL DEFAULT 'free' REFERENCES plans(id);

CREATE TABLE plan_purchases (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    plan_id       text NOT NULL REFERENCES plans(id),
    amount_minor  bigint NOT NULL,
    currency      text NOT NULL,
    provider      text NOT NULL,
    provider_ref  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

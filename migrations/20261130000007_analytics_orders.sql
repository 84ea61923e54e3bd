-- Where each order stands, as analytics learns it from the bus: the
-- registrations figure counts confirmed orders only (not unpaid or awaiting
-- approval ones) and goes down when an order is cancelled or refunded.
CREATE TABLE analytics.order_states (
    order_id     uuid PRIMARY KEY,
    event_id     uuid NOT NULL,
    status       text NOT NULL,
    occurred_at  timestamptz NOT NULL
);
CREATE INDEX order_states_event_idx ON analytics.order_states (event_id, status);

-- Orders seen before: their registrations counted as confirmed.
INSERT INTO analytics.order_states (order_id, event_id, status, occurred_at)
SELECT o.id, o.event_id, o.status, o.created_at FROM public.orders o
ON CONFLICT DO NOTHING;

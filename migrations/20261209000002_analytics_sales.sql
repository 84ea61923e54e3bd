-- Sales figures (analytics::sales): what each order was, from its
-- order.placed, beside where it stands. Orders seen before take theirs from
-- the orders themselves, as 20261130000007 did for their states.
ALTER TABLE analytics.order_states
    ADD COLUMN ticket_type_id  uuid,
    ADD COLUMN quantity        integer,
    ADD COLUMN total_minor     bigint,
    ADD COLUMN currency        text,
    ADD COLUMN placed_at       timestamptz;

UPDATE analytics.order_states s
SET ticket_type_id = t.ticket_type_id, quantity = t.n, total_minor = o.total_minor,
    currency = o.currency, placed_at = o.created_at
FROM public.orders o,
     LATERAL (SELECT min(ticket_type_id::text)::uuid AS ticket_type_id, count(*)::integer AS n
              FROM public.tickets WHERE order_id = o.id) t
WHERE o.id = s.order_id;

CREATE INDEX order_states_placed_idx ON analytics.order_states (event_id, placed_at);

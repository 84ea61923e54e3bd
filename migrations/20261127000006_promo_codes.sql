-- Promo codes: a discount (percent or fixed) or the key to hidden ticket types.
CREATE TABLE promo_codes (
    id              uuid PRIMARY KEY,
    event_id        uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    code            citext NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('percent', 'fixed', 'unlock')),
    value           bigint NOT NULL DEFAULT 0 CHECK (value >= 0),
    ticket_type_id  uuid REFERENCES ticket_types(id) ON DELETE CASCADE,
    max_uses        int CHECK (max_uses IS NULL OR max_uses >= 0),
    used            int NOT NULL DEFAULT 0,
    valid_from      timestamptz,
    valid_until     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT promo_codes_event_code_key UNIQUE (event_id, code),
    CONSTRAINT promo_codes_percent CHECK (kind <> 'percent' OR value BETWEEN 1 AND 100),
    CONSTRAINT promo_codes_unlock_target CHECK (kind <> 'unlock' OR ticket_type_id IS NOT NULL),
    CONSTRAINT promo_codes_uses CHECK (max_uses IS NULL OR used <= max_uses)
);

ALTER TABLE orders
    ADD COLUMN promo_code_id   uuid REFERENCES promo_codes(id) ON DELETE SET NULL,
    ADD COLUMN discount_minor  bigint NOT NULL DEFAULT 0 CHECK (discount_minor >= 0);

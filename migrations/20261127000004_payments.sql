-- Payments of paid orders, through a pluggable provider (built-in: the test provider).
ALTER TABLE orders ADD COLUMN platform_fee_minor bigint NOT NULL DEFAULT 0 CHECK (platform_fee_minor >= 0);
ALTER TABLE orders ADD COLUMN paid_at timestamptz;

CREATE TABLE payments (
    id                  uuid PRIMARY KEY,
    order_id            uuid NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    provider            text NOT NULL,
    provider_ref        text NOT NULL,
    amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
    currency            text NOT NULL,
    status              text NOT NULL CHECK (status IN ('requires_action', 'succeeded', 'failed')),
    failure             text,
    platform_fee_minor  bigint NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_provider_ref_key UNIQUE (provider, provider_ref)
);
CREATE INDEX payments_order_idx ON payments(order_id);

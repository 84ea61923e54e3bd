-- Refunds, orders that need the organiser's approval, team members, and plan
-- purchases that wait for a confirmation step.

-- Orders: awaiting_approval (seats held, nothing charged) and refunded.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('awaiting_approval', 'pending', 'confirmed', 'cancelled', 'refunded'));
-- When an approved order started waiting for payment (unpaid orders expire from then).
ALTER TABLE orders ADD COLUMN approved_at timestamptz;
ALTER TABLE ticket_types ADD COLUMN requires_approval boolean NOT NULL DEFAULT false;

ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('requires_action', 'succeeded', 'failed', 'refunded'));

-- Money given back through the provider; one row per refund.
CREATE TABLE refunds (
    id            uuid PRIMARY KEY,
    payment_id    uuid NOT NULL REFERENCES payments(id) ON DELETE CASCADE,
    provider_ref  text NOT NULL,
    amount_minor  bigint NOT NULL CHECK (amount_minor > 0),
    reason        text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_payment_idx ON refunds(payment_id);

-- Team: organisers have a role; owners manage the team and billing.
ALTER TABLE organisers ADD COLUMN role text NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'member'));

-- Invitations to join an organisation's team; a pending invite takes a seat.
CREATE TABLE team_invites (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    email        citext NOT NULL,
    invited_by   uuid REFERENCES organisers(id) ON DELETE SET NULL,
    token_hash   bytea,
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT team_invites_org_email_key UNIQUE (org_id, email)
);
CREATE UNIQUE INDEX team_invites_token_idx ON team_invites(token_hash) WHERE token_hash IS NOT NULL;

-- Plan purchases: a card that needs a confirmation step leaves the purchase
-- pending until the provider's webhook reports the result.
ALTER TABLE plan_purchases ADD COLUMN status text NOT NULL DEFAULT 'succeeded'
    CHECK (status IN ('requires_action', 'succeeded', 'failed'));
CREATE UNIQUE INDEX plan_purchases_provider_ref_idx ON plan_purchases(provider, provider_ref);

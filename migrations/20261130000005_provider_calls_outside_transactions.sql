-- The payment provider is called outside database transactions: an attempt is
-- recorded (`processing`) before the provider is asked, with its id as the
-- provider's idempotency key, and settled when the answer comes (or by the
-- reconciliation, which asks the provider again). Refunds likewise: a
-- `pending` row first, keyed by its id, then the provider.

ALTER TABLE payments ALTER COLUMN provider_ref DROP NOT NULL;
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('processing', 'requires_action', 'succeeded', 'failed', 'refunding', 'refunded'));
-- One attempt at a time per order: a second waits for the first's answer.
CREATE UNIQUE INDEX payments_one_processing_per_order ON payments (order_id) WHERE status = 'processing';
CREATE INDEX payments_processing_idx ON payments (updated_at) WHERE status = 'processing';

ALTER TABLE refunds ALTER COLUMN provider_ref DROP NOT NULL;
ALTER TABLE refunds ADD COLUMN status text NOT NULL DEFAULT 'succeeded'
    CHECK (status IN ('pending', 'succeeded'));
-- Whether the refund's success turns its (cancelled) order into `refunded`.
ALTER TABLE refunds ADD COLUMN closes_order boolean NOT NULL DEFAULT false;
ALTER TABLE refunds ADD COLUMN attempts int NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN last_error text;
ALTER TABLE refunds ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE UNIQUE INDEX refunds_one_per_payment ON refunds (payment_id);
CREATE INDEX refunds_pending_idx ON refunds (updated_at) WHERE status = 'pending';

-- Plan purchases: the same discipline, and periods. A purchase pays for one
-- period; the organisation is on the plan until `plan_until`, then lapses to
-- Free unless it bought the next period. NULL `plan_until` on a paid plan is
-- a grant by the operator (or the demo) that does not lapse.
ALTER TABLE plan_purchases ALTER COLUMN provider_ref DROP NOT NULL;
ALTER TABLE plan_purchases DROP CONSTRAINT plan_purchases_status_check;
ALTER TABLE plan_purchases ADD CONSTRAINT plan_purchases_status_check
    CHECK (status IN ('processing', 'requires_action', 'succeeded', 'failed', 'refunding', 'refunded'));
ALTER TABLE plan_purchases ADD COLUMN failure text;
ALTER TABLE plan_purchases ADD COLUMN refund_ref text;
ALTER TABLE plan_purchases ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE plan_purchases ADD COLUMN period_end timestamptz;
CREATE UNIQUE INDEX plan_purchases_one_processing_per_org ON plan_purchases (org_id) WHERE status = 'processing';
CREATE INDEX plan_purchases_open_idx ON plan_purchases (updated_at) WHERE status IN ('processing', 'refunding');

ALTER TABLE organisations ADD COLUMN plan_until timestamptz;
UPDATE organisations o SET plan_until = p.last + interval '1 month'
  FROM (SELECT org_id, max(created_at) AS last FROM plan_purchases WHERE status = 'succeeded' GROUP BY org_id) p
 WHERE p.org_id = o.id AND o.plan_id <> 'free';

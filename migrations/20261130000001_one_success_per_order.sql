-- An order is paid at most once: a second success is money to give back,
-- never a state to keep (services::registrations::payment refunds it).
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM payments WHERE status = 'succeeded'
        GROUP BY order_id HAVING count(*) > 1
    ) THEN
        RAISE EXCEPTION 'some orders have more than one succeeded payment: refund the extra ones (and mark them refunded) before upgrading';
    END IF;
END $$;

CREATE UNIQUE INDEX payments_one_success_per_order ON payments (order_id) WHERE status = 'succeeded';

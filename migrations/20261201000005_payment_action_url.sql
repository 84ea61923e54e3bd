-- Where the buyer confirms a payment their bank holds (3-D Secure), so the
-- order page can offer the step again after a reload.
ALTER TABLE payments ADD COLUMN action_url text;

-- What an order's request asked for (SHA-256 of its canonical form): a retry
-- with the same idempotency key must ask for the same thing. Orders placed
-- before have none and replay as before.
ALTER TABLE orders ADD COLUMN request_hash bytea;

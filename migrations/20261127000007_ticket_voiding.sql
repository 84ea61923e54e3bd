-- Cancelled orders keep their tickets for the record, voided.
ALTER TABLE tickets ADD COLUMN voided_at timestamptz;

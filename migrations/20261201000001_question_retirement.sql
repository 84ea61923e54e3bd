-- A question that has answers is retired instead of deleted: it leaves the
-- registration form, and its answers stay in the registrations and exports.
ALTER TABLE questions ADD COLUMN retired_at timestamptz;

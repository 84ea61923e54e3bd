-- The registrations-with-answers report: what `attendee.registered` carries
-- beyond a name and an email (the order, when, and the answers as asked).
ALTER TABLE analytics.attendees
    ADD COLUMN order_id uuid,
    ADD COLUMN registered_at timestamptz,
    ADD COLUMN answers jsonb NOT NULL DEFAULT '[]';
CREATE INDEX attendees_event_idx ON analytics.attendees (event_id, attendee_id);

ALTER TABLE analytics.reports DROP CONSTRAINT reports_kind_check;
ALTER TABLE analytics.reports ADD CONSTRAINT reports_kind_check
    CHECK (kind IN ('time_per_area', 'area_summary', 'registrations'));

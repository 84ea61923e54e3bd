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

-- Attendees analytics already knew: filled from the ticketing tables, as the
-- log's older messages lack these fields.
UPDATE analytics.attendees a SET
    order_id = (SELECT o.id FROM public.orders o
                WHERE o.attendee_id = a.attendee_id ORDER BY o.created_at LIMIT 1),
    registered_at = (SELECT p.created_at FROM public.attendees p WHERE p.id = a.attendee_id),
    answers = coalesce((
        SELECT jsonb_agg(jsonb_build_object('question_id', q.id, 'question', q.label,
                                            'position', q.position, 'value', x.value)
                         ORDER BY q.position, q.created_at)
        FROM public.answers x JOIN public.questions q ON q.id = x.question_id
        WHERE x.attendee_id = a.attendee_id), '[]');

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
-- log's older messages lack these fields. A question's place is its index in
-- the form as it stands (active questions in form order, then retired ones),
-- as `attendee.registered` gives it.
UPDATE analytics.attendees a SET order_id = o.id
FROM (SELECT DISTINCT ON (attendee_id) attendee_id, id FROM public.orders
      ORDER BY attendee_id, created_at) o
WHERE o.attendee_id = a.attendee_id;

UPDATE analytics.attendees a SET registered_at = p.created_at
FROM public.attendees p WHERE p.id = a.attendee_id;

UPDATE analytics.attendees a SET answers = given.answers
FROM (
    SELECT x.attendee_id,
           jsonb_agg(jsonb_build_object('question_id', q.id, 'question', q.label,
                                        'position', q.place, 'value', x.value)
                     ORDER BY q.place) AS answers
    FROM public.answers x
    JOIN (SELECT id, label, row_number() OVER (
              PARTITION BY event_id ORDER BY retired_at IS NOT NULL, position, created_at) - 1 AS place
          FROM public.questions) q ON q.id = x.question_id
    GROUP BY x.attendee_id
) given
WHERE given.attendee_id = a.attendee_id;

-- Custom questions on the registration form, and the attendees' answers.
CREATE TABLE questions (
    id          uuid PRIMARY KEY,
    event_id    uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    label       text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind IN ('text', 'choice', 'checkbox')),
    options     text[] NOT NULL DEFAULT '{}',
    required    boolean NOT NULL DEFAULT false,
    position    int NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT questions_choice_has_options CHECK (kind <> 'choice' OR cardinality(options) >= 2)
);
CREATE INDEX questions_event_idx ON questions(event_id, position);

CREATE TABLE answers (
    attendee_id  uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    question_id  uuid NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    value        text NOT NULL,
    PRIMARY KEY (attendee_id, question_id)
);

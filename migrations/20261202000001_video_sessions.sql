-- Video sessions: rooms of the SFU where attendees watch and may go on screen
-- ("like Google Meet, but viewers choose whether to appear"). Their chat and
-- presence use the channel and area `session:<id>`.
CREATE TABLE video_sessions (
    id              uuid PRIMARY KEY,
    event_id        uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    -- People in the session at once (watching or on screen).
    capacity        int NOT NULL CHECK (capacity BETWEEN 2 AND 10000),
    -- People on screen at once.
    max_on_screen   int NOT NULL CHECK (max_on_screen BETWEEN 1 AND 49),
    on_screen       text NOT NULL CHECK (on_screen IN ('anyone', 'request', 'hosts')),
    agenda_session_id uuid REFERENCES agenda_sessions(id) ON DELETE SET NULL,
    -- Set when a host ends it: nobody joins any more.
    ended_at        timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX video_sessions_event_idx ON video_sessions(event_id, created_at);

-- Attendees who host a session (besides the event's moderators): they approve
-- requests to go on screen, mute, take off screen, remove, and end it.
CREATE TABLE video_session_hosts (
    session_id   uuid NOT NULL REFERENCES video_sessions(id) ON DELETE CASCADE,
    attendee_id  uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    PRIMARY KEY (session_id, attendee_id)
);

-- People a host removed from a session: they cannot join it again.
CREATE TABLE video_session_removals (
    session_id   uuid NOT NULL REFERENCES video_sessions(id) ON DELETE CASCADE,
    attendee_id  uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    removed_by   uuid REFERENCES attendees(id) ON DELETE SET NULL,
    removed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, attendee_id)
);

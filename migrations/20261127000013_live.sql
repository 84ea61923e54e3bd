-- Live event: stages, chat with moderation, direct messages, roles of attendees,
-- the app store (installations), polls and Q&A.

-- Attendees may be made moderators by the organiser.
ALTER TABLE attendees ADD COLUMN role text NOT NULL DEFAULT 'attendee' CHECK (role IN ('attendee', 'moderator'));

CREATE TABLE stages (
    id           uuid PRIMARY KEY,
    event_id     uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    source_kind  text NOT NULL CHECK (source_kind IN ('hls', 'embed', 'none')),
    source_url   text NOT NULL DEFAULT '',
    position     int NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stages_event_idx ON stages(event_id, position);

-- Chat of a channel (`reception` or `stage:<id>`); bodies are plain text.
CREATE TABLE chat_messages (
    id           uuid PRIMARY KEY,
    seq          bigserial NOT NULL UNIQUE,
    event_id     uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    channel      text NOT NULL,
    author_id    uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    body         text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    mentions     uuid[] NOT NULL DEFAULT '{}',
    deleted_at   timestamptz,
    deleted_by   uuid,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_messages_channel_idx ON chat_messages(event_id, channel, seq DESC);

-- Direct messages between two attendees of an event.
CREATE TABLE direct_messages (
    id           uuid PRIMARY KEY,
    seq          bigserial NOT NULL UNIQUE,
    event_id     uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    sender_id    uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    recipient_id uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    body         text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX direct_messages_pair_idx ON direct_messages(event_id, sender_id, recipient_id, seq DESC);

-- Mutes (cannot post until `until`) and bans (cannot enter the live event).
CREATE TABLE attendee_sanctions (
    event_id     uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    attendee_id  uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('mute', 'ban')),
    until        timestamptz,
    created_by   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, attendee_id, kind)
);

-- Apps installed in an event (the catalogue itself lives in code: services::apps).
CREATE TABLE app_installs (
    id           uuid PRIMARY KEY,
    event_id     uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    app_id       text NOT NULL,
    config       jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT app_installs_event_app_key UNIQUE (event_id, app_id)
);

CREATE TABLE polls (
    id           uuid PRIMARY KEY,
    event_id     uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    channel      text NOT NULL,
    question     text NOT NULL CHECK (length(question) BETWEEN 1 AND 300),
    options      text[] NOT NULL CHECK (cardinality(options) BETWEEN 2 AND 10),
    multi        boolean NOT NULL DEFAULT false,
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX polls_event_idx ON polls(event_id, created_at);

CREATE TABLE poll_votes (
    poll_id      uuid NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
    attendee_id  uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    choices      int[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (poll_id, attendee_id)
);

CREATE TABLE qa_questions (
    id           uuid PRIMARY KEY,
    event_id     uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    channel      text NOT NULL,
    author_id    uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    body         text NOT NULL CHECK (length(body) BETWEEN 1 AND 500),
    status       text NOT NULL CHECK (status IN ('pending', 'open', 'answered', 'hidden')),
    votes        int NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX qa_questions_event_idx ON qa_questions(event_id, channel);

CREATE TABLE qa_votes (
    question_id  uuid NOT NULL REFERENCES qa_questions(id) ON DELETE CASCADE,
    attendee_id  uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    PRIMARY KEY (question_id, attendee_id)
);

-- Translations app: caption lines per language channel of a stage.
CREATE TABLE captions (
    id           bigserial PRIMARY KEY,
    event_id     uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    channel      text NOT NULL,
    language     text NOT NULL CHECK (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$'),
    body         text NOT NULL CHECK (length(body) BETWEEN 1 AND 1000),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX captions_channel_idx ON captions(event_id, channel, language, id DESC);

-- Keys that sign the context tokens given to third-party apps (Ed25519).
-- The newest key signs; its public half is served at /.well-known/jwks.json.
CREATE TABLE signing_keys (
    kid         text PRIMARY KEY,
    secret      bytea NOT NULL CHECK (length(secret) = 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Reception: agenda, speakers and sponsors, edited by organisers.
CREATE TABLE speakers (
    id          uuid PRIMARY KEY,
    event_id    uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    headline    text NOT NULL DEFAULT '',
    bio         text NOT NULL DEFAULT '' CHECK (length(bio) <= 4000),
    photo_url   text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT speakers_event_name_key UNIQUE (event_id, name)
);

CREATE TABLE agenda_sessions (
    id           uuid PRIMARY KEY,
    event_id     uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    stage_id     uuid REFERENCES stages(id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agenda_sessions_time CHECK (ends_at > starts_at)
);
CREATE INDEX agenda_sessions_event_idx ON agenda_sessions(event_id, starts_at);

CREATE TABLE agenda_session_speakers (
    session_id  uuid NOT NULL REFERENCES agenda_sessions(id) ON DELETE CASCADE,
    speaker_id  uuid NOT NULL REFERENCES speakers(id) ON DELETE CASCADE,
    PRIMARY KEY (session_id, speaker_id)
);

CREATE TABLE sponsors (
    id          uuid PRIMARY KEY,
    event_id    uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    tier        text NOT NULL CHECK (tier IN ('gold', 'silver', 'bronze', 'partner')),
    url         text NOT NULL DEFAULT '',
    logo_url    text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sponsors_event_idx ON sponsors(event_id);

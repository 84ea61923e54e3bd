-- Hosts record sessions. Starting names the recording to come (the media
-- node hands the mixed file over under a token for this id, as for a
-- stage's broadcast); each part becomes a media asset. A session removed
-- meanwhile leaves its title.
CREATE TABLE session_recordings (
    id            uuid PRIMARY KEY,
    session_id    uuid REFERENCES video_sessions(id) ON DELETE SET NULL,
    session_title text NOT NULL,
    event_id      uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    started_at    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_recordings_session_idx ON session_recordings(session_id, started_at);
-- The recording under way (NULL: not recording).
ALTER TABLE video_sessions ADD COLUMN recording uuid;
-- The session recording an asset is a part of, and its session.
ALTER TABLE media_assets ADD COLUMN session_recording uuid;
ALTER TABLE media_assets ADD COLUMN session_id uuid REFERENCES video_sessions(id) ON DELETE SET NULL;

-- Every track of a recorded part on its own (a camera's VP8 in IVF, a
-- microphone's Opus in Ogg), for editing or transcription: files in the
-- part's asset folder, where the part's timeline puts them.
CREATE TABLE recording_tracks (
    asset_id    uuid NOT NULL REFERENCES media_assets(id) ON DELETE CASCADE,
    -- Its name in the asset's folder.
    file        text NOT NULL,
    -- Whose: an attendee's camera or microphone, or their screen.
    attendee_id uuid,
    screen      boolean NOT NULL DEFAULT false,
    kind        text NOT NULL CHECK (kind IN ('audio', 'video')),
    -- Where it starts on the part's timeline, and how long it plays.
    start_ms    bigint NOT NULL CHECK (start_ms >= 0),
    length_ms   bigint NOT NULL CHECK (length_ms >= 0),
    size_bytes  bigint NOT NULL CHECK (size_bytes > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (asset_id, file)
);

-- Stages live from a backstage. The backstage is a video session of the
-- event marked as one (hidden from Reception; only its hosts enter), made
-- when an organiser first chooses "live from backstage" and kept for the
-- stage afterwards. Its hosts choose who is on air and the layout, and go
-- live and end; the stage's audience receives only who is on air.
ALTER TABLE stages DROP CONSTRAINT stages_source_kind_check;
ALTER TABLE stages ADD CONSTRAINT stages_source_kind_check
    CHECK (source_kind IN ('hls', 'embed', 'none', 'simulive', 'backstage'));
ALTER TABLE video_sessions ADD COLUMN backstage boolean NOT NULL DEFAULT false;
ALTER TABLE stages ADD COLUMN backstage uuid REFERENCES video_sessions(id);
ALTER TABLE stages ADD CONSTRAINT stages_backstage_check
    CHECK (source_kind <> 'backstage' OR backstage IS NOT NULL);
ALTER TABLE stages ADD COLUMN live_state text NOT NULL DEFAULT 'off'
    CHECK (live_state IN ('off', 'live', 'ended'));
-- The attendees on air, in the layout's order.
ALTER TABLE stages ADD COLUMN on_air uuid[] NOT NULL DEFAULT '{}'
    CHECK (cardinality(on_air) <= 9);
ALTER TABLE stages ADD COLUMN layout text NOT NULL DEFAULT 'solo'
    CHECK (layout IN ('solo', 'side_by_side', 'screen_speaker'));
-- When it last went live, and when that ended.
ALTER TABLE stages ADD COLUMN live_at timestamptz;
ALTER TABLE stages ADD COLUMN live_ended_at timestamptz;

-- Each broadcast is recorded: going live names the recording to come (the
-- media node hands the mixed file over under a token for this id; each part
-- becomes a media asset). A stage removed meanwhile leaves its name.
CREATE TABLE stage_recordings (
    id          uuid PRIMARY KEY,
    stage_id    uuid REFERENCES stages(id) ON DELETE SET NULL,
    stage_name  text NOT NULL,
    event_id    uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    live_at     timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stage_recordings_stage_idx ON stage_recordings(stage_id, live_at);
ALTER TABLE stages ADD COLUMN live_recording uuid;
-- Where an asset came from: an organiser's upload or a stage's recording.
ALTER TABLE media_assets ADD COLUMN origin text NOT NULL DEFAULT 'upload'
    CHECK (origin IN ('upload', 'recording'));
-- The broadcast recording an asset is a part of.
ALTER TABLE media_assets ADD COLUMN stage_recording uuid;

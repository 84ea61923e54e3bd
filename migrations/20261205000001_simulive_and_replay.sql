-- Simulive and Replay. A stage may play a media asset as "simulive": a
-- pre-recorded video that starts at a scheduled time, at the same position
-- for every viewer. An asset remembers the stage and the instant it went on
-- air (chapters come from the agenda sessions of that stage in that window),
-- and who may watch it in Replay. Each attendee's place in a replay is kept,
-- so playback resumes where they left off.
ALTER TABLE stages DROP CONSTRAINT stages_source_kind_check;
ALTER TABLE stages ADD CONSTRAINT stages_source_kind_check
    CHECK (source_kind IN ('hls', 'embed', 'none', 'simulive'));
-- The asset a simulive stage plays (an asset on air cannot be deleted), and
-- when it starts.
ALTER TABLE stages ADD COLUMN source_asset uuid REFERENCES media_assets(id);
ALTER TABLE stages ADD COLUMN starts_at timestamptz;
ALTER TABLE stages ADD CONSTRAINT stages_simulive_check
    CHECK (source_kind <> 'simulive' OR (source_asset IS NOT NULL AND starts_at IS NOT NULL));

ALTER TABLE media_assets ADD COLUMN stage_id uuid REFERENCES stages(id) ON DELETE SET NULL;
ALTER TABLE media_assets ADD COLUMN aired_at timestamptz;
ALTER TABLE media_assets ADD COLUMN replay text NOT NULL DEFAULT 'unpublished'
    CHECK (replay IN ('unpublished', 'attendees', 'public'));
CREATE INDEX media_assets_replay_idx ON media_assets(event_id, aired_at) WHERE replay <> 'unpublished';

CREATE TABLE replay_progress (
    asset_id     uuid NOT NULL REFERENCES media_assets(id) ON DELETE CASCADE,
    attendee_id  uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    -- Where playback stood at the last report.
    position_ms  bigint NOT NULL CHECK (position_ms >= 0),
    -- Time spent playing, summed over reports.
    watched_ms   bigint NOT NULL DEFAULT 0 CHECK (watched_ms >= 0),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (asset_id, attendee_id)
);

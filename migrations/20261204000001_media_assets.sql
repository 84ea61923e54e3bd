-- Media assets (the seed's MAR): the videos of an event that organisers
-- upload (and, later, recordings), with what transforms made of them. The
-- bytes live in an object store under assets/<id>/; a row says what is there.
ALTER TABLE plans ADD COLUMN max_upload_bytes bigint CHECK (max_upload_bytes > 0);
UPDATE plans SET max_upload_bytes = CASE id
    WHEN 'free' THEN 512 * 1024 * 1024
    WHEN 'starter' THEN 2 * 1024 * 1024 * 1024::bigint
    ELSE 10 * 1024 * 1024 * 1024::bigint END;

CREATE TABLE media_assets (
    id              uuid PRIMARY KEY,
    event_id        uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    owner_id        uuid REFERENCES organisers(id) ON DELETE SET NULL,
    kind            text NOT NULL CHECK (kind IN ('video')),
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    filename        text NOT NULL,
    status          text NOT NULL CHECK (status IN ('uploading', 'processing', 'ready', 'failed')),
    size_bytes      bigint NOT NULL CHECK (size_bytes > 0),
    -- Bytes received so far (resumable upload); equals size_bytes after.
    received_bytes  bigint NOT NULL DEFAULT 0 CHECK (received_bytes BETWEEN 0 AND size_bytes),
    -- SHA-256 of the whole upload, hex.
    checksum        text,
    duration_ms     bigint CHECK (duration_ms >= 0),
    width           integer,
    height          integer,
    -- HLS renditions made (`360p`, `720p`), a thumbnail, captions.
    renditions      text[] NOT NULL DEFAULT '{}',
    thumbnail       boolean NOT NULL DEFAULT false,
    captions        boolean NOT NULL DEFAULT false,
    -- Of processing, 0..1.
    progress        real NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX media_assets_event_idx ON media_assets(event_id, created_at DESC);

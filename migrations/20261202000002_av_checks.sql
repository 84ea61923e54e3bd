-- Pre-event checks: what an attendee's browser measured (camera, microphone,
-- and a call through the SFU: round trip, jitter, loss, outgoing bitrate),
-- optionally as one of the event's speakers, with the server's verdict.
CREATE TABLE av_checks (
    id            uuid PRIMARY KEY,
    event_id      uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    attendee_id   uuid NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    speaker_id    uuid REFERENCES speakers(id) ON DELETE SET NULL,
    camera        boolean NOT NULL,
    microphone    boolean NOT NULL,
    rtt_ms        real NOT NULL CHECK (rtt_ms >= 0),
    jitter_ms     real NOT NULL CHECK (jitter_ms >= 0),
    loss_pct      real NOT NULL CHECK (loss_pct BETWEEN 0 AND 100),
    bitrate_kbps  real NOT NULL CHECK (bitrate_kbps >= 0),
    verdict       text NOT NULL CHECK (verdict IN ('good', 'fair', 'poor')),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX av_checks_speaker_idx ON av_checks(speaker_id, created_at DESC);
CREATE INDEX av_checks_attendee_idx ON av_checks(attendee_id, created_at DESC);

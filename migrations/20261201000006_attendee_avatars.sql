-- Attendees' uploaded photos, re-encoded on upload (256x256 JPEG, no
-- metadata). `attendees.avatar_version` names the current one in its URL, so
-- browsers may cache each version for good; versions come from one sequence
-- and are never reused.
CREATE SEQUENCE avatar_versions;
ALTER TABLE attendees ADD COLUMN avatar_version bigint;
CREATE TABLE attendee_avatars (
    attendee_id  uuid PRIMARY KEY REFERENCES attendees(id) ON DELETE CASCADE,
    image        bytea NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

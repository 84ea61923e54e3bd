-- "Forgot your password?": single-use links, stored as the SHA-256 of their token.
CREATE TABLE password_resets (
    token_hash    bytea PRIMARY KEY,
    organiser_id  uuid NOT NULL REFERENCES organisers(id) ON DELETE CASCADE,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_resets_organiser_idx ON password_resets(organiser_id);

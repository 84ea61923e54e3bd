-- An event's own look: its logo and cover image (https:// or a path on this
-- site) and an accent colour (#rrggbb) for its landing page, Reception and widget.
ALTER TABLE events
    ADD COLUMN logo_url  text NOT NULL DEFAULT '' CHECK (length(logo_url) <= 1000),
    ADD COLUMN cover_url text NOT NULL DEFAULT '' CHECK (length(cover_url) <= 1000),
    ADD COLUMN accent    text NOT NULL DEFAULT '' CHECK (accent ~ '^(#[0-9a-f]{6})?$');

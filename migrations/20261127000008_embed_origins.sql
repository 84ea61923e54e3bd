-- Sites allowed to embed an event's registration widget (CSP frame-ancestors).
ALTER TABLE events ADD COLUMN embed_origins text[] NOT NULL DEFAULT '{}';

-- The generation of the analytics consumer group that fills the aggregates.
-- A rebuild empties the aggregates and moves to the next generation, whose
-- consumer group reads the log from its beginning (analytics::rebuild).
CREATE TABLE analytics.generation (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    number integer NOT NULL DEFAULT 0 CHECK (number >= 0),
    rebuilt_at timestamptz
);
INSERT INTO analytics.generation DEFAULT VALUES;

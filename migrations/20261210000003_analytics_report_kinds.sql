-- What a report holds: every attendee's time per area (the first kind), or
-- one row per area with its visits, time, peak and engagement.
ALTER TABLE analytics.reports
    ADD COLUMN kind text NOT NULL DEFAULT 'time_per_area'
        CHECK (kind IN ('time_per_area', 'area_summary'));

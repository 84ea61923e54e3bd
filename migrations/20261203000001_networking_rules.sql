-- Networking pairs people by the organiser's rule: anyone, the same or a
-- different ticket type, or the same answer to a registration question (the
-- interest chosen at registration; a rule whose question was removed pairs
-- anyone).
ALTER TABLE networking_settings
    ADD COLUMN match_rule text NOT NULL DEFAULT 'anyone'
        CHECK (match_rule IN ('anyone', 'same_ticket_type', 'other_ticket_type', 'same_answer')),
    ADD COLUMN match_question uuid REFERENCES questions(id) ON DELETE SET NULL;

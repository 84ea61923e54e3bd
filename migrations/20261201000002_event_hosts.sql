-- Organisers enter their own events as hosts: their attendee record there is
-- admitted without a ticket (and is a moderator).
ALTER TABLE attendees ADD COLUMN host boolean NOT NULL DEFAULT false;

-- The time zone a user reads times in (an IANA name); NULL: the default of their language.
ALTER TABLE users ADD COLUMN time_zone text CHECK (length(time_zone) BETWEEN 1 AND 64);

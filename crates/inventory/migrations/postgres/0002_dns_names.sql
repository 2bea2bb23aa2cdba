-- The names `metal dns sync` has published, per zone: the next sync deletes those the
-- inventory no longer implies (retired machines, removed guests) and no other name.
CREATE TABLE dns_names (
    zone TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (zone, name)
);

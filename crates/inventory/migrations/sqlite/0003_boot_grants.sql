-- The credentials of each machine's current netboot: the SHA-256 of the token its script
-- carried and the one address its events may come from. A new boot's script replaces the
-- row; an event that ends the boot (up, or failed) deletes it.
CREATE TABLE boot_grants (
    machine_id INTEGER PRIMARY KEY REFERENCES machines (id),
    token_sha256 TEXT NOT NULL,
    address TEXT NOT NULL,
    issued_ms INTEGER NOT NULL
);

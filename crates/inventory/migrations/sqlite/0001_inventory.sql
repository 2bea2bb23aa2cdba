-- The inventory schema (SQLite). crates/inventory/migrations/postgres holds the same schema
-- in PostgreSQL's dialect; both are read through sqlx's Any driver, so column types stay
-- within what Any can carry (integers and text). Times are Unix milliseconds.

CREATE TABLE sites (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE racks (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    site_id INTEGER NOT NULL REFERENCES sites (id),
    -- The address pool (CIDR) Dom0 and DomU addresses of this rack are taken from.
    pool TEXT NOT NULL,
    -- Hostname scheme, e.g. '{rack}-h{n:02}'.
    hostname_scheme TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

-- Every allocated address, whoever holds it: the primary key is what makes two allocations
-- of one address impossible, whatever the allocating code does.
CREATE TABLE addresses (
    address TEXT PRIMARY KEY,
    holder TEXT NOT NULL
);

CREATE TABLE machines (
    id INTEGER PRIMARY KEY,
    rack_id INTEGER NOT NULL REFERENCES racks (id),
    slot INTEGER NOT NULL,
    hostname TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL UNIQUE REFERENCES addresses (address),
    amt_address TEXT NOT NULL UNIQUE,
    uuid TEXT NOT NULL UNIQUE,
    serial TEXT NOT NULL,
    board_maker TEXT NOT NULL,
    board_model TEXT NOT NULL,
    mac TEXT UNIQUE,
    memory_bytes INTEGER NOT NULL,
    disks INTEGER NOT NULL,
    ssds INTEGER NOT NULL,
    profile TEXT,
    profile_note TEXT,
    storage TEXT,
    role TEXT,
    dom0_memory_mib INTEGER,
    netboot TEXT,
    tls_pin TEXT,
    credential_set TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('new', 'enrolled', 'provisioning', 'deployed', 'broken', 'retired')),
    hardware TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    UNIQUE (rack_id, slot)
);

CREATE TABLE guests (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL UNIQUE REFERENCES addresses (address),
    dom0_id INTEGER NOT NULL REFERENCES machines (id),
    role TEXT NOT NULL,
    memory_mib INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    subject TEXT NOT NULL,
    machine_id INTEGER REFERENCES machines (id),
    actor TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    reason TEXT NOT NULL
);

CREATE INDEX events_subject ON events (subject, id);

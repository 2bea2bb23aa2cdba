-- The inventory schema (PostgreSQL). crates/inventory/migrations/sqlite holds the same schema
-- in SQLite's dialect; both are read through sqlx's Any driver, so column types stay
-- within what Any can carry (integers and text). Times are Unix milliseconds.

CREATE TABLE sites (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE racks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    site_id BIGINT NOT NULL REFERENCES sites (id),
    -- The address pool (CIDR) Dom0 and DomU addresses of this rack are taken from.
    pool TEXT NOT NULL,
    -- Hostname scheme, e.g. '{rack}-h{n:02}'.
    hostname_scheme TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

-- Every allocated address, whoever holds it: the primary key is what makes two allocations
-- of one address impossible, whatever the allocating code does.
CREATE TABLE addresses (
    address TEXT PRIMARY KEY,
    holder TEXT NOT NULL
);

CREATE TABLE machines (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rack_id BIGINT NOT NULL REFERENCES racks (id),
    slot BIGINT NOT NULL,
    hostname TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL UNIQUE REFERENCES addresses (address),
    amt_address TEXT NOT NULL UNIQUE,
    uuid TEXT NOT NULL UNIQUE,
    serial TEXT NOT NULL,
    board_maker TEXT NOT NULL,
    board_model TEXT NOT NULL,
    mac TEXT UNIQUE,
    memory_bytes BIGINT NOT NULL,
    disks BIGINT NOT NULL,
    ssds BIGINT NOT NULL,
    profile TEXT,
    profile_note TEXT,
    storage TEXT,
    role TEXT,
    dom0_memory_mib BIGINT,
    netboot TEXT,
    tls_pin TEXT,
    credential_set TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('new', 'enrolled', 'provisioning', 'deployed', 'broken', 'retired')),
    hardware TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    UNIQUE (rack_id, slot)
);

CREATE TABLE guests (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL UNIQUE REFERENCES addresses (address),
    dom0_id BIGINT NOT NULL REFERENCES machines (id),
    role TEXT NOT NULL,
    memory_mib BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    subject TEXT NOT NULL,
    machine_id BIGINT REFERENCES machines (id),
    actor TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    reason TEXT NOT NULL
);

CREATE INDEX events_subject ON events (subject, id);

-- The DHCP leases of the netboot servers that share this inventory, per segment (the subnet a
-- server hands addresses out on): an address is claimed here, in a transaction, before it is
-- offered or acknowledged, so two servers on one segment never give it to two clients.
CREATE TABLE dhcp_leases (
    segment TEXT NOT NULL,
    ip TEXT NOT NULL,
    mac TEXT NOT NULL,
    state TEXT NOT NULL,
    expires BIGINT NOT NULL,
    PRIMARY KEY (segment, ip)
);

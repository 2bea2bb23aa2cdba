-- The size of vg00/root a machine's hardware profile asks for (GiB); NULL: the plan's default.
ALTER TABLE machines ADD COLUMN root_gib INTEGER;

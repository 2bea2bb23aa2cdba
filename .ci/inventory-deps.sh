#!/bin/sh
# Services the inventory and export tests need (crates/inventory/tests, crates/export/tests,
# crates/cli/tests/inventory.rs). Called by .ci/run as root. Installs and starts PostgreSQL with a
# role `metal` (password `metal`, may create databases: each test makes its own) and a database
# `metal_test`, the default of METAL_TEST_POSTGRES_URL; installs BIND (named, named-checkzone),
# dig and Nagios 4 (`nagios4 -v`). named is not started here: the DNS test starts its own on a
# loopback port with its own zone and TSIG key.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends postgresql bind9 bind9-utils dnsutils nagios4-core
# Debian's bind9 service is not needed (and would hold port 53); the test runs its own named.
systemctl disable --now named 2>/dev/null || service named stop 2>/dev/null || true

cluster=$(pg_lsclusters -h | awk 'NR == 1 { print $1 " " $2 }')
if [ -z "$cluster" ]; then
    version=$(ls /usr/lib/postgresql | sort -n | tail -1)
    pg_createcluster "$version" main
    cluster="$version main"
fi
# shellcheck disable=SC2086
pg_ctlcluster $cluster start 2>/dev/null || true
# shellcheck disable=SC2086
pg_ctlcluster $cluster status >/dev/null
i=0
until su postgres -c "psql -qAtc 'SELECT 1'" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt 30 ] || { echo "PostgreSQL did not come up" >&2; exit 1; }
    sleep 1
done
su postgres -c "psql -v ON_ERROR_STOP=1 -q" <<'SQL'
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'metal') THEN
        CREATE ROLE metal LOGIN PASSWORD 'metal' CREATEDB;
    ELSE
        ALTER ROLE metal LOGIN PASSWORD 'metal' CREATEDB;
    END IF;
END $$;
SQL
su postgres -c "psql -qAtc \"SELECT 1 FROM pg_database WHERE datname = 'metal_test'\"" | grep -q 1 ||
    su postgres -c "createdb -O metal metal_test"

# Servers inside network namespaces (the two-server netboot test) reach PostgreSQL over its Unix
# socket, which namespaces do not separate: role metal logs in there with its password too.
hba=$(su postgres -c "psql -qAtc 'SHOW hba_file'")
if ! grep -q '^local[[:space:]]\+all[[:space:]]\+metal[[:space:]]' "$hba"; then
    sed -i '0,/^local/s//local   all             metal                                   scram-sha-256\n&/' "$hba"
    su postgres -c "psql -qAtc 'SELECT pg_reload_conf()'" >/dev/null
fi

#!/usr/bin/env bash
# Starts local Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432, trust auth, database `test`)
# when they are not already answering.
set -euo pipefail

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "==> starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
  echo "==> starting PostgreSQL"
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  if [ -z "$version" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -1)
    pg_createcluster "$version" main >/dev/null
  fi
  hba=/etc/postgresql/$version/main/pg_hba.conf
  if ! grep -q "avlabel: local trust" "$hba"; then
    # Local development and CI only: trust connections from this machine.
    { echo "# avlabel: local trust"; echo "host all all 127.0.0.1/32 trust"; echo "host all all ::1/128 trust";
      echo "local all all trust"; cat "$hba"; } > "$hba.new"
    mv "$hba.new" "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
    || pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  for _ in $(seq 100); do pg_isready -h 127.0.0.1 -q && break; sleep 0.2; done
  psql -h 127.0.0.1 -U postgres -tc "select 1 from pg_database where datname='test'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "create database test" >/dev/null
fi

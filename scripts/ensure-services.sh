#!/usr/bin/env bash
# Makes sure the services the tests talk to run on loopback: Redis on 6379 and MariaDB on 3306 (root, no password).
# Starts a service that is down and installs its Debian package when it is missing. Never skips: it fails loudly.
set -euo pipefail

apt_install() {
  if [ -z "${APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_for() { # wait_for <what> <seconds> <command...>
  local what=$1 secs=$2
  shift 2
  for _ in $(seq 1 $((secs * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "ensure-services: $what did not come up within ${secs}s" >&2
  return 1
}

# Redis
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server redis-tools
  mkdir -p /var/lib/redis /var/log/redis
  echo "ensure-services: starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for redis 20 redis-cli -h 127.0.0.1 -p 6379 ping
fi

# MariaDB
if ! mariadb -h 127.0.0.1 -P 3306 -uroot -e 'SELECT 1' >/dev/null 2>&1; then
  if [ ! -x /usr/sbin/mariadbd ]; then
    apt_install mariadb-server mariadb-client
  fi
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  echo "ensure-services: starting mariadbd on 127.0.0.1:3306"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for mariadb 60 mariadb -h 127.0.0.1 -P 3306 -uroot -e 'SELECT 1'
fi
mariadb -h 127.0.0.1 -P 3306 -uroot -e 'CREATE DATABASE IF NOT EXISTS test'
echo "ensure-services: redis and mariadb are up"

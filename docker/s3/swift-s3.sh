#!/usr/bin/env bash
# Starts a one-node Swift (account, container and object servers, then the proxy with s3api in the
# foreground). Rings and configuration are made on first start; data persists in /srv/swift.
set -euo pipefail
DATA=/srv/swift
ETC=/etc/swift
mkdir -p "$DATA/d1" "$ETC" /var/run/swift /var/cache/swift
[ -f "$ETC/swift.conf" ] || printf '[swift-hash]\nswift_hash_path_suffix = weightsmith\nswift_hash_path_prefix = weightsmith\n' > "$ETC/swift.conf"
cd "$ETC"
for t in account:6202 container:6201 object:6200; do
  n=${t%%:*}; port=${t##*:}
  if [ ! -f "$n.ring.gz" ]; then
    swift-ring-builder "$n.builder" create 10 1 1 >/dev/null
    swift-ring-builder "$n.builder" add "r1z1-127.0.0.1:$port/d1" 1 >/dev/null
    swift-ring-builder "$n.builder" rebalance >/dev/null || true
  fi
  cat > "$n-server.conf" <<CONF
[DEFAULT]
devices = $DATA
mount_check = false
bind_ip = 127.0.0.1
bind_port = $port
workers = 1
user = root
log_level = WARNING
[pipeline:main]
pipeline = $n-server
[app:$n-server]
use = egg:swift#$n
[$n-replicator]
[$n-updater]
[$n-auditor]
CONF
done
cat > proxy-server.conf <<CONF
[DEFAULT]
bind_ip = 0.0.0.0
bind_port = 8080
workers = 2
user = root
log_level = WARNING
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:11211
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:s3api]
use = egg:swift#s3api
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF
memcached -d -u root -l 127.0.0.1 -p 11211
for n in account container object; do swift-$n-server "$ETC/$n-server.conf" & done
exec swift-proxy-server "$ETC/proxy-server.conf"

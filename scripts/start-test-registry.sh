#!/usr/bin/env bash
# Starts a local image registry on 127.0.0.1:5000 (Debian's docker-registry, no auth) and pushes the
# test image to it as 127.0.0.1:5000/meridian/busybox:test, so tests can exercise real pulls with no
# outside network. Docker trusts registries on 127.0.0.0/8 over plain HTTP by default.
set -euo pipefail
REGISTRY=127.0.0.1:5000
if ! curl -sf "http://$REGISTRY/v2/" >/dev/null 2>&1; then
  if ! command -v docker-registry >/dev/null 2>&1; then
    echo "docker-registry is missing: apt-get install -y docker-registry" >&2
    exit 1
  fi
  dir=$(mktemp -d /tmp/meridian-registry.XXXXXX)
  cat >"$dir/config.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
YAML
  nohup docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  for _ in $(seq 1 30); do
    curl -sf "http://$REGISTRY/v2/" >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! curl -sf "http://$REGISTRY/v2/" >/dev/null 2>&1; then
    echo "the registry did not start; its log:" >&2
    cat "$dir/registry.log" >&2
    exit 1
  fi
fi
docker tag meridian/busybox:test "$REGISTRY/meridian/busybox:test"
docker push -q "$REGISTRY/meridian/busybox:test" >/dev/null
# Only the registry keeps the pushed name: the pull test must fetch it.
docker rmi "$REGISTRY/meridian/busybox:test" >/dev/null
echo "registry on $REGISTRY serves meridian/busybox:test"

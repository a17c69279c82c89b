#!/usr/bin/env bash
# Builds the container images the tests and the local network use, from binaries already on this
# machine (no registry is needed): meridian/busybox:test, a static busybox with its applets linked,
# and meridian/llm:test, the inference-endpoint engine (test-images/llm/build.sh; its first build
# installs node-llama-cpp from the npm registry into test-images/llm/).
set -euo pipefail
build_llm() { bash "$(dirname "$0")/../test-images/llm/build.sh"; }
if ! command -v busybox >/dev/null 2>&1; then
  echo "busybox is missing: apt-get install -y busybox-static" >&2
  exit 1
fi
if docker image inspect meridian/busybox:test >/dev/null 2>&1; then
  echo "meridian/busybox:test already present"
  build_llm
  exit 0
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc"
cp "$(command -v busybox)" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$root/etc/passwd"
chmod 1777 "$root/tmp"
tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - meridian/busybox:test >/dev/null
echo "built meridian/busybox:test"
build_llm

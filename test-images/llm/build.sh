#!/usr/bin/env bash
# Builds meridian/llm:test, the inference-endpoint test image: llama.cpp through node-llama-cpp
# (its prebuilt x64 CPU binary) serving an OpenAI-compatible API (server.mjs, request-fields.mjs) from a tiny
# deterministic GGUF model that make-gguf.mjs writes. Like meridian/busybox:test it is assembled
# from this machine's own binaries (no base image, no registry): a static busybox for a shell, the
# host's node, and the shared libraries node and llama.cpp link against, found with ldd.
#
# node-llama-cpp lives in this folder's own package.json and lockfile, never in the project's
# dependencies (its install is ~730 MB with every GPU variant; the image keeps only linux-x64).
# The image carries a label with the hash of its sources: a changed server or model rebuilds it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tag=meridian/llm:test
source_hash=$(cat "$here/build.sh" "$here/server.mjs" "$here/request-fields.mjs" "$here/make-gguf.mjs" "$here/package-lock.json" \
  "$(command -v node)" | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{index .Config.Labels "meridian.source"}}' "$tag" 2>/dev/null)" = "$source_hash" ]; then
  echo "$tag already present"
  exit 0
fi
for tool in busybox node npm ldd; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "$tool is missing (busybox: apt-get install -y busybox-static)" >&2
    exit 1
  }
done

# The engine's packages, exactly as locked, without their install scripts (they would try to
# download or compile llama.cpp; the prebuilt binary needs neither).
if [ ! -d "$here/node_modules/@node-llama-cpp/linux-x64" ] ||
  ! cmp -s "$here/package-lock.json" "$here/node_modules/.package-lock.json"; then
  (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/app" "$root/model" "$root/usr/bin"
cp "$(command -v busybox)" "$root/bin/busybox"
for applet in sh ls cat wget ps kill sleep env; do ln -s busybox "$root/bin/$applet"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$root/etc/passwd"
chmod 1777 "$root/tmp"

cp "$(command -v node)" "$root/usr/bin/node"
cp "$here/server.mjs" "$here/request-fields.mjs" "$here/package.json" "$root/app/"
node "$here/make-gguf.mjs" "$root/model/model.gguf" >/dev/null

# node_modules without the other platforms' binaries and llama.cpp's source bundle (never built here).
cp -a "$here/node_modules" "$root/app/node_modules"
for variant in "$root/app/node_modules/@node-llama-cpp/"*; do
  [ "$(basename "$variant")" = linux-x64 ] || rm -rf "$variant"
done
rm -f "$root/app/node_modules/node-llama-cpp/llama/gitRelease.bundle"

# Every shared library node and the llama.cpp binaries need, at the path ldd resolves it to.
bins="$root/app/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
for binary in "$(command -v node)" "$bins"/*.so "$bins"/*.node; do
  ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
done | sort -u | while read -r lib; do
  case "$lib" in "$bins"/*) continue ;; esac
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/bin:/bin' \
  -c 'ENV NODE_ENV=production' \
  -c 'WORKDIR /app' \
  -c 'EXPOSE 8000' \
  -c "LABEL meridian.source=$source_hash" \
  -c 'CMD ["/usr/bin/node", "/app/server.mjs"]' \
  - "$tag" >/dev/null
echo "built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"

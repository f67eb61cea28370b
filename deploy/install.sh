#!/usr/bin/env bash
# Builds release binaries with the Swift standard library linked in, and installs polderd and
# polder, the systemd units and the example configuration (an existing one is kept).
#   deploy/install.sh                  install into / and reload systemd
#   DESTDIR=/tmp/root deploy/install.sh   stage into another root (packaging, tests)
# Then: systemctl enable --now polderd
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup-debian.sh

destdir="${DESTDIR:-}"
bindir="$destdir/usr/local/bin"
unitdir="$destdir/etc/systemd/system"
confdir="$destdir/etc/polder"

# The Debian runtime libraries the binaries link against (the -dev packages are for building).
runtime=(libevent-2.1-7 libevent-pthreads-2.1-7 libsodium23 liblmdb0 libstdc++6)
missing=()
for package in "${runtime[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "polder: building release binaries (static Swift standard library)" >&2
swift build -c release --static-swift-stdlib --product polderd
swift build -c release --static-swift-stdlib --product polder

install -d -m 0755 "$bindir" "$unitdir" "$confdir"
install -m 0755 .build/release/polderd .build/release/polder "$bindir/"
install -m 0644 deploy/polderd.service deploy/polderd@.service "$unitdir/"
if [ -e "$confdir/polderd.toml" ]; then
  install -m 0644 deploy/polderd.toml "$confdir/polderd.toml.example"
  echo "polder: kept $confdir/polderd.toml; the new example is polderd.toml.example" >&2
else
  install -m 0644 deploy/polderd.toml "$confdir/polderd.toml"
fi
"$bindir/polderd" --config "$confdir/polderd.toml" --check-config >/dev/null

if [ -z "$destdir" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  echo "polder: installed; start with: systemctl enable --now polderd" >&2
else
  echo "polder: installed into ${destdir:-/}" >&2
fi

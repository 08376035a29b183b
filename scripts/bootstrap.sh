#!/usr/bin/env bash
# Installs every dependency of flowlake on a fresh Debian 12 machine:
# the Debian -dev packages (apt-get) and DuckDB's official shared library and
# C header from the npm registry, at the versions pinned in scripts/deps.env,
# into .deps/ (git-ignored), and the web UI's npm packages pinned by
# web/package-lock.json into web/node_modules (git-ignored). Idempotent: a
# second run only checks.
#
#   scripts/bootstrap.sh            build dependencies (uPlot for the UI)
#   scripts/bootstrap.sh --test     also what the tests use (Prometheus,
#                                   unpacked into .deps/prometheus; chromium
#                                   and playwright-core for tests/browser)
#   scripts/bootstrap.sh --all      also clang/libFuzzer, time, bc
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=deps.env
. "$here/scripts/deps.env"

want_optional=0 want_test=0
case "${1:-}" in
    --all) want_optional=1; want_test=1 ;;
    --test) want_test=1 ;;
    "") ;;
    *) echo "usage: scripts/bootstrap.sh [--test|--all]" >&2; exit 2 ;;
esac

sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

missing=()
pkgs="$APT_PACKAGES"
[ $want_optional -eq 1 ] && pkgs="$pkgs $APT_PACKAGES_OPTIONAL"
[ $want_test -eq 1 ] && pkgs="$pkgs $TEST_APT_PACKAGES"
for p in $pkgs; do
    # npm may come from elsewhere than Debian (e.g. NodeSource); any working
    # npm will do for fetching the DuckDB tarballs.
    case "$p" in nodejs|npm) command -v "$p" >/dev/null 2>&1 && continue ;; esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

deps="$here/.deps"

# Test-only Debian packages, unpacked (no maintainer scripts run, nothing
# started): .deps/prometheus/usr/bin/{prometheus,promtool}.
if [ $want_test -eq 1 ]; then
    for p in $TEST_DEB_PACKAGES; do
        [ -d "$deps/$p/usr/bin" ] && continue
        dl=$(mktemp -d)
        if ! (cd "$dl" && apt-get download -qq "$p" >/dev/null 2>&1); then
            $sudo_cmd apt-get update -qq
            (cd "$dl" && apt-get download -qq "$p")
        fi
        rm -rf "$deps/$p.tmp"
        mkdir -p "$deps/$p.tmp"
        dpkg-deb -x "$dl"/"$p"_*.deb "$deps/$p.tmp"
        mv "$deps/$p.tmp" "$deps/$p"
        rm -rf "$dl"
        echo "bootstrap: $p unpacked in .deps/$p"
    done
fi

# The web UI's npm packages, exactly as web/package-lock.json pins them
# (npm ci checks every tarball against the lock's integrity hash). uPlot is
# a build dependency (embedded into the binary); playwright-core, a dev
# dependency, only with --test.
web="$here/web"
web_ok() {   # web_ok 0|1: every locked package (dev ones too with 1) installed?
    node -e '
        const fs = require("fs"), path = require("path");
        const [dir, dev] = [process.argv[1], process.argv[2] === "1"];
        const lock = JSON.parse(fs.readFileSync(path.join(dir, "package-lock.json")));
        for (const [k, v] of Object.entries(lock.packages)) {
            if (k === "" || (v.dev && !dev)) continue;
            let have;
            try { have = JSON.parse(fs.readFileSync(path.join(dir, k, "package.json"))).version; }
            catch { process.exit(1); }
            if (have !== v.version) process.exit(1);
        }' "$web" "$1"
}
if web_ok "$want_test"; then
    echo "bootstrap: web UI packages already in web/node_modules"
else
    echo "bootstrap: installing the web UI packages (web/package-lock.json)"
    if [ $want_test -eq 1 ]; then
        (cd "$web" && npm ci --silent --no-audit --no-fund)
    else
        (cd "$web" && npm ci --silent --no-audit --no-fund --omit=dev)
    fi
    web_ok "$want_test" || { echo "bootstrap: web/node_modules does not match web/package-lock.json" >&2; exit 1; }
fi

stamp="$deps/duckdb/VERSION"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$DUCKDB_VERSION" ] \
   && [ -f "$deps/duckdb/lib/libduckdb.so" ] && [ -f "$deps/duckdb/include/duckdb.h" ]; then
    echo "bootstrap: DuckDB $DUCKDB_VERSION already in .deps/duckdb"
    exit 0
fi

echo "bootstrap: fetching DuckDB $DUCKDB_VERSION from the npm registry"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# npm pack verifies each tarball against the registry's integrity hash.
(cd "$tmp" && npm pack --silent "$DUCKDB_LIB_PACKAGE" "$DUCKDB_HEADER_PACKAGE" >/dev/null)
mkdir -p "$tmp/lib" "$tmp/hdr"
tar xzf "$tmp"/duckdb-node-bindings-linux-x64-*.tgz -C "$tmp/lib" package/libduckdb.so package/LICENSE
tar xzf "$tmp"/duckdb-"$DUCKDB_VERSION".tgz -C "$tmp/hdr" package/src/duckdb/src/include/duckdb.h

rm -rf "$deps/duckdb"
mkdir -p "$deps/duckdb/lib" "$deps/duckdb/include"
cp "$tmp/lib/package/libduckdb.so" "$deps/duckdb/lib/"
cp "$tmp/lib/package/LICENSE" "$deps/duckdb/LICENSE"
cp "$tmp/hdr/package/src/duckdb/src/include/duckdb.h" "$deps/duckdb/include/"
echo "$DUCKDB_VERSION" > "$stamp"
echo "bootstrap: DuckDB $DUCKDB_VERSION installed in .deps/duckdb"

#!/usr/bin/env bash
# Verifies that .deps/duckdb holds the pinned DuckDB and that its header and
# shared library agree: compiles a probe against the header, runs it against
# the library, and compares duckdb_library_version() with the pin.
# Usage: check-duckdb.sh VERSION DUCKDB_DIR BUILD_DIR
set -euo pipefail
want=$1 dir=$2 build=$3
if [ ! -f "$dir/include/duckdb.h" ] || [ ! -f "$dir/lib/libduckdb.so" ]; then
    echo "DuckDB is not installed in $dir: run scripts/bootstrap.sh" >&2
    exit 1
fi
have_stamp=$(cat "$dir/VERSION" 2>/dev/null || echo none)
if [ "$have_stamp" != "$want" ]; then
    echo "DuckDB in $dir is $have_stamp, the pin is $want: run scripts/bootstrap.sh" >&2
    exit 1
fi
probe="$build/duckdb-probe"
cat > "$probe.c" <<'C'
#include <stdio.h>
#include "duckdb.h"
int main(void) { puts(duckdb_library_version()); return 0; }
C
${CC:-cc} -o "$probe" "$probe.c" -I"$dir/include" -L"$dir/lib" -lduckdb \
    -Wl,-rpath,"$(cd "$dir/lib" && pwd)"
got=$("$probe")
if [ "$got" != "v$want" ]; then
    echo "libduckdb.so reports $got but the header and pin are v$want" >&2
    exit 1
fi

#!/usr/bin/env bash
# checksrc (after curl's): functions banned in src/ (docs/development.md) --
# raw allocation outside src/core/fl_mem.c, and the unbounded or
# unchecked string/number functions -- and references to notes that are
# not in the repository. Prints offenders, then the usual
# "N passed, N failed" line (one check per rule).
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0
check() {   # check NAME REGEX [EXCLUDE-PATH]
    local hits
    hits=$(grep -rnE "(^|[^_a-zA-Z0-9])($2)\(" src --include='*.c' --include='*.h' \
           | grep -v "${3:-^$}" | grep -vE '^\S+:[0-9]+:\s*(/\*|\*)')
    if [ -n "$hits" ]; then
        echo "FAIL checksrc $1:"; echo "$hits" | sed 's/^/  /'; failed=$((failed + 1))
    else
        echo "ok   checksrc $1"; passed=$((passed + 1))
    fi
}
check "allocation outside fl_mem" 'malloc|calloc|realloc|free' '^src/core/fl_mem.c:'
check "unbounded string functions" 'strcpy|strcat|sprintf|vsprintf|gets'
check "unchecked number parsing" 'atoi|atol|atoll'
check "strtok" 'strtok|strtok_r'
# Whoever clones the project has only the project: code, tests, docs and
# benches say in their own words what they rely on, with public sources,
# and never point at planning notes or issue numbers kept elsewhere.
outside=$(grep -rnIE '(\.\./shared|\b(FORMATS|DESIGN|STYLE)\.md|[Ii]ssue #[0-9])' \
          src tests docs bench fuzz/*.c scripts README.md Makefile 2>/dev/null \
          | grep -v '^scripts/checksrc.sh:')
if [ -n "$outside" ]; then
    echo "FAIL checksrc references outside the repository:"; echo "$outside" | sed 's/^/  /'
    failed=$((failed + 1))
else
    echo "ok   checksrc references outside the repository"; passed=$((passed + 1))
fi
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# The one command-line convention (src/cli/cli.h), on every command and
# subcommand: -h/--help prints the usage on stdout and exits 0; --version
# prints "flowlake VERSION" and exits 0; an unknown option, or an option
# without its value, is a usage error -- one line "flowlake CMD: ...",
# the --help hint, nothing on stdout, exit 2 -- and nothing runs.
. "$(dirname "$0")/lib.sh"
cd "$TMP"

version=$("$FLOWLAKE" --version); st=$?
expect_status "flowlake --version exits 0" 0 $st
case "$version" in
    "flowlake "[0-9]*.[0-9]*) ok "flowlake --version: $version" ;;
    *) fail "flowlake --version" "got '$version'" ;;
esac

# WORDS|PREFIX: the words after "flowlake", and the CMD of its messages
# (config's subcommands speak as "flowlake config", as they always have).
commands=(
    "|"
    "convert|convert"
    "serve|serve"
    "query|query"
    "generate|generate"
    "config|config"
    "config check|config"
    "config defaults|config"
    "wal-check|wal-check"
    "ddl|ddl"
    "compact|compact"
)
for entry in "${commands[@]}"; do
    words=${entry%%|*}
    cmd=${entry#*|}
    name="flowlake${words:+ $words}"
    # shellcheck disable=SC2086 -- the words are meant to split
    for h in --help -h; do
        "$FLOWLAKE" $words $h >out.txt 2>err.txt; st=$?
        expect_status "$name $h exits 0" 0 $st
        expect_contains "$name $h prints the usage" "$(cat out.txt)" "usage: flowlake"
        expect_eq "$name $h: nothing on stderr" "$(cat err.txt)" ""
    done
    "$FLOWLAKE" $words --version >out.txt 2>err.txt; st=$?
    expect_status "$name --version exits 0" 0 $st
    expect_eq "$name --version prints the version" "$(cat out.txt)" "$version"
    for bad in --no-such-option -Z --no-such-option=1; do
        "$FLOWLAKE" $words $bad >out.txt 2>err.txt; st=$?
        expect_status "$name $bad exits 2" 2 $st
        if [ -z "$cmd" ]; then
            want="flowlake: unknown option '$bad'
Run 'flowlake --help' for the commands."
        else
            want="flowlake $cmd: unknown option '$bad'
Run 'flowlake $cmd --help' for the options."
        fi
        expect_eq "$name $bad: the one message" "$(cat err.txt)" "$want"
        expect_eq "$name $bad: nothing on stdout" "$(cat out.txt)" ""
    done
done

# An option without its value, wherever options take values.
for entry in "convert --archive|convert|--archive" \
             "serve --config|serve|--config" \
             "query --archive|query|--archive" \
             "query -o|query|-o" \
             "generate --seed|generate|--seed" \
             "compact --archive|compact|--archive"; do
    words=${entry%%|*}; rest=${entry#*|}; cmd=${rest%%|*}; opt=${rest#*|}
    "$FLOWLAKE" $words >out.txt 2>err.txt; st=$?
    expect_status "flowlake $words (no value) exits 2" 2 $st
    expect_eq "flowlake $words: the one message" "$(cat err.txt)" \
"flowlake $cmd: option '$opt' needs a value
Run 'flowlake $cmd --help' for the options."
done

# A value given to an option that takes none.
"$FLOWLAKE" convert --strict=1 x.log >out.txt 2>err.txt; st=$?
expect_status "convert --strict=1 exits 2" 2 $st
expect_contains "convert --strict=1 says why" "$(cat err.txt)" \
    "flowlake convert: option '--strict' takes no value"
"$FLOWLAKE" generate --header=1 >out.txt 2>err.txt; st=$?
expect_status "generate --header=1 exits 2" 2 $st
expect_contains "generate --header=1 says why" "$(cat err.txt)" \
    "flowlake generate: option '--header' takes no value"

# Other usage errors: exit 2, the prefix, the hint.
for words in "convert" "query" "wal-check" "ddl" "compact stray" "config" "config bogus" \
             "config check" "config check a.ini b.ini" "config defaults x" \
             "serve stray" "no-such-command"; do
    "$FLOWLAKE" $words >out.txt 2>err.txt; st=$?
    expect_status "flowlake $words is a usage error (2)" 2 $st
    case "$(head -n 1 err.txt)" in
        "flowlake: "*|"flowlake ${words%% *}: "*) ok "flowlake $words: the prefix" ;;
        *) fail "flowlake $words: the prefix" "got: $(head -n 1 err.txt)" ;;
    esac
    expect_contains "flowlake $words: the hint" "$(tail -n 1 err.txt)" "--help' for the"
done

# An unknown option is never taken for a file: nothing is read or made.
"$FLOWLAKE" config check --no-such-option >/dev/null 2>&1; st=$?
expect_status "config check --no-such-option is not a FILE (2, not 1)" 2 $st
printf '[server]\nthreads = 2\n' >-dash.ini
"$FLOWLAKE" config check -- -dash.ini >out.txt 2>&1; st=$?
expect_status "config check -- -dash.ini checks that file" 0 $st
expect_eq "and says ok" "$(cat out.txt)" "-dash.ini: ok"
"$FLOWLAKE" serve --archive "$TMP/a" --no-such-option >/dev/null 2>&1; st=$?
expect_status "serve with an unknown option does not start (2)" 2 $st
[ ! -e "$TMP/a" ] && ok "and creates nothing" || fail "serve created $TMP/a"
finish

#!/usr/bin/env bash
# Upload throughput to a loopback S3-compatible store, and the uploader's
# CPU per GB: `flowlake upload` of an archive next to what a user would run
# to copy the same folder -- `aws s3 sync` (Debian's awscli 2) and
# `rclone copy` (Debian's rclone), both with their default concurrency --
# each into a prefix of its own of the same store, one after another, on
# the same files. The store is s3rver (npm, web/node_modules), which
# checks signatures; it runs on the same 2 cores, so its CPU is counted
# apart (ps of its process before and after each run).
#
# Two archives: a day of hourly files (RECORDS records, 24 files of a few
# MB: one PUT each) and one big compacted hour (BIG records, one file over
# s3.part_size: a multipart upload in 16 MiB parts). Every copy is checked
# (object count and total bytes) before a figure is printed.
#
# usage: bench/run_s3.sh [RECORDS] [BIG]   (4800000, 6000000)
# Needs: awscli and rclone (apt-get install awscli rclone), s3rver
# (scripts/bootstrap.sh --test).
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${1:-4800000}
BIG=${2:-6000000}
make -s -j2 flowlake
FL=${FL:-$PWD/flowlake}
AWS=${AWS:-/usr/bin/aws}
S3RVER=$PWD/web/node_modules/s3rver/bin/s3rver.js
for tool in "$AWS" rclone node /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench/run_s3.sh: $tool is missing" >&2; exit 2; }
done
[ -f "$S3RVER" ] || { echo "bench/run_s3.sh: s3rver is missing (scripts/bootstrap.sh --test)" >&2; exit 2; }
out=$PWD/bench/out/s3
rm -rf "$out"; mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

"$FL" generate --seed 5 --records "$RECORDS" --start 2024-05-01 --span 1d -o "$out/day.log"
"$FL" convert --quiet --archive "$out/day" "$out/day.log" >/dev/null
"$FL" generate --seed 6 --records "$BIG" --start 2024-05-02 --span 55m -o "$out/big.log"
"$FL" convert --quiet --archive "$out/big" "$out/big.log" >/dev/null
rm -f "$out/day.log" "$out/big.log"

node "$S3RVER" -d "$out/store" -a 127.0.0.1 -p 0 -s --configure-bucket bench >"$out/s3rver.out" 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null' EXIT
for _ in $(seq 1 100); do grep -q listening "$out/s3rver.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$out/s3rver.out")
EP=http://127.0.0.1:$PORT
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=$out/aws.config
printf '[default]\ns3 =\n    addressing_style = path\n' >"$AWS_CONFIG_FILE"
cat >"$out/rclone.conf" <<EOF
[store]
type = s3
provider = Other
access_key_id = S3RVER
secret_access_key = S3RVER
endpoint = $EP
region = us-east-1
force_path_style = true
EOF

server_cpu() { awk '{print ($14 + $15) / 100}' "/proc/$SPID/stat"; }
data_files() { find "$1" -path "$1/_*" -prune -o -name '*.parquet' -print | wc -l; }
data_bytes() { find "$1" -path "$1/_*" -prune -o -name '*.parquet' -printf '%s\n' | awk '{s += $1} END {print s}'; }
# stored PREFIX: objects and bytes the store holds under PREFIX (data only).
stored() {
    find "$out/store/bench/$1" -path "*/_flowlake" -prune -o -name '*._S3rver_object' -printf '%s\n' 2>/dev/null \
        | awk '{n++; s += $1} END {printf "%d %d", n, s}'
}
# run NAME ARCHIVE PREFIX CMD...: times CMD, checks the copy, prints a line.
run() {
    local name=$1 arch=$2 prefix=$3; shift 3
    local c0 c1 wall user sys
    c0=$(server_cpu)
    /usr/bin/time -f '%e %U %S' -o "$out/time.txt" "$@" >"$out/$name.log" 2>&1 \
        || { echo "$name failed:" >&2; tail -n 5 "$out/$name.log" >&2; exit 1; }
    c1=$(server_cpu)
    read -r wall user sys <"$out/time.txt"
    local want got bytes
    bytes=$(data_bytes "$arch")
    want="$(data_files "$arch") $bytes"
    got=$(stored "$prefix")
    [ "$want" = "$got" ] || { echo "$name: the store holds '$got' objects/bytes, want '$want'" >&2; cat "$out/$name.log" >&2; exit 1; }
    local cpu mbs cpugb
    cpu=$(echo "$user + $sys" | bc)
    mbs=$(echo "scale=1; $bytes / $wall / 1000000" | bc)
    cpugb=$(echo "scale=2; $cpu / ($bytes / 1000000000)" | bc)
    printf '%-22s %6.2f s  %7s MB/s  client CPU %6.2f s = %6s s/GB  store CPU %6.2f s\n' \
        "$name" "$wall" "$mbs" "$cpu" "$cpugb" "$(echo "$c1 - $c0" | bc)"
    echo "$name $wall $mbs $cpugb" >>"$out/results.txt"
}

for shape in day big; do
    arch=$out/$shape
    echo
    echo "== $shape: $(data_files "$arch") files, $(echo "scale=1; $(data_bytes "$arch") / 1000000" | bc) MB"
    run "flowlake-$shape" "$arch" "fl-$shape" "$FL" upload --archive "$arch" \
        --url "s3://bench/fl-$shape/" --endpoint "$EP" --path-style
    run "aws-s3-sync-$shape" "$arch" "aws-$shape" "$AWS" --endpoint-url "$EP" s3 sync --quiet \
        --exclude '_*' "$arch" "s3://bench/aws-$shape/"
    # (AWS_CA_BUNDLE, when the machine sets one, makes rclone refuse its
    # plain-HTTP transport: the store here is plain HTTP on loopback.)
    run "rclone-copy-$shape" "$arch" "rclone-$shape" env -u AWS_CA_BUNDLE rclone --config "$out/rclone.conf" copy \
        --exclude '_*/**' "$arch" "store:bench/rclone-$shape"
done
echo
echo "ratios (other tool's wall time / flowlake's; CPU per GB flowlake / other):"
for shape in day big; do
    read -r _ fw _ fc < <(grep "^flowlake-$shape " "$out/results.txt")
    for other in aws-s3-sync rclone-copy; do
        read -r _ ow _ oc < <(grep "^$other-$shape " "$out/results.txt")
        printf '  %-4s %-12s time %.2fx  CPU/GB %.2fx\n' "$shape" "$other" \
            "$(echo "scale=4; $ow / $fw" | bc)" "$(echo "scale=4; $fc / $oc" | bc)"
    done
done

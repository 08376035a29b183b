# Sourced by bench/run.sh and bench/run_backfill.sh: the COPY a careful
# DuckDB user writes to turn raw flow-log files into the same archive as
# `flowlake convert` (year=YYYY/month=MM/day=DD/hour=HH/, docs/archive.md):
#   - read_csv with the columns' types given (the default version 2 format,
#     https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html),
#     so nothing is sniffed;
#   - the partition key is integer arithmetic on the epoch (start // 3600);
#     the zero-padded folder names are formatted once per hour of the range
#     and joined in, not four time-zone-aware strftime()s per row;
#   - the Parquet settings flowlake uses (zstd level 1, default row groups);
#   - the caller runs it with preserve_insertion_order = false and the same
#     thread count as flowlake.
# duck_convert_sql GLOB OUT_DIR FIRST_HOUR LAST_HOUR (hours since the epoch,
# inclusive: the range of start times the input holds).
duck_convert_sql() {
    local cols="{'version': 'INTEGER', 'account_id': 'VARCHAR', 'interface_id': 'VARCHAR',
  'srcaddr': 'VARCHAR', 'dstaddr': 'VARCHAR', 'srcport': 'INTEGER', 'dstport': 'INTEGER',
  'protocol': 'INTEGER', 'packets': 'BIGINT', 'bytes': 'BIGINT', 'start': 'BIGINT',
  'end': 'BIGINT', 'action': 'VARCHAR', 'log_status': 'VARCHAR'}"
    local ts="make_timestamp(h * 3600000000)"
    printf '%s' "COPY (SELECT f.*, year, month, day, hour
  FROM read_csv('$1', delim=' ', header=true, nullstr='-', columns=$cols) f
  JOIN (SELECT h, strftime($ts, '%Y') AS year, strftime($ts, '%m') AS month,
               strftime($ts, '%d') AS day, strftime($ts, '%H') AS hour
        FROM range($3, $4 + 1) t(h)) hours ON f.start // 3600 = hours.h)
  TO '$2' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1,
           PARTITION_BY (year, month, day, hour))"
}

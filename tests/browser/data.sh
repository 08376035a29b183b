#!/usr/bin/env bash
# The known flow records of the web UI's browser tests (tests/browser/),
# printed on stdout with the header line of the default format: four
# 15-minute windows from 2024-05-01T00:00:00Z, TCP/UDP/ICMP rejects,
# accepted flows, and 12 small sources so that "top talkers" has an
# "other" row. The newest start (00:50) puts the watermark at 00:35
# (allowed_lateness 15 min): the 00:00 and 00:15 windows are final, the
# 00:30 and 00:45 ones provisional.
set -eu
t0=1714521600
echo "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
rec() {   # rec MINUTE SRC PROTO PACKETS BYTES ACTION
    local s=$((t0 + $1 * 60))
    echo "2 123456789012 eni-0a1 $2 10.9.0.1 40001 443 $3 $4 $5 $s $((s + 30)) $6 OK"
}
rec 1  10.0.0.1 6  100 6000  REJECT
rec 2  10.0.0.2 17 5   500   REJECT
rec 3  10.0.0.3 6  50  40000 ACCEPT
rec 16 10.0.0.1 6  30  1800  REJECT
rec 17 10.0.0.4 1  7   420   REJECT
rec 18 10.0.0.3 6  20  16000 ACCEPT
rec 31 10.0.0.5 6  12  720   REJECT
rec 32 10.0.0.2 17 3   300   REJECT
rec 33 10.0.0.6 17 8   2000  ACCEPT
for i in $(seq 1 12); do
    rec 34 "10.0.1.$i" 6 1 $((100 + i)) ACCEPT
done
rec 46 10.0.0.1 6  40  2400  REJECT
rec 50 10.0.0.7 6  1   100   ACCEPT

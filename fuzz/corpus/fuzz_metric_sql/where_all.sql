CREATE METRIC m AS SELECT COUNT(*) FROM flows
WHERE (dstport IN (22, '3389') OR dstport NOT BETWEEN 1 AND 1023)
  AND NOT vpc_id IS NULL AND srcport < dstport
  AND start >= TIMESTAMP '2024-01-01 00:00:00' AND protocol <> 1
  AND cidr_contains('10.0.0.0/8', srcaddr) AND NOT cidr_contains('2001:db8::/32', dstaddr);
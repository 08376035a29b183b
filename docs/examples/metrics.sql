-- An example metrics file for `flowlake serve` (metrics.file; docs/metrics.md).
-- The six built-in metrics (docs/metrics.md, "The built-in metrics") run as
-- well unless metrics.defaults = false.

-- Flows and bytes per destination port, 5-minute windows on the flow's start:
-- two metrics, port_traffic_flows and port_traffic_bytes.
CREATE METRIC port_traffic AS
  SELECT dstport, COUNT(*) AS flows, SUM(bytes) AS bytes
  FROM flows
  GROUP BY dstport, TUMBLE(start, INTERVAL '5' MINUTE);

-- How many distinct sources talk to each internal address (a scan shows up
-- here); exact up to metrics.distinct_exact_limit, HyperLogLog beyond.
CREATE METRIC sources_per_destination AS
  SELECT dstaddr, COUNT(DISTINCT srcaddr)
  FROM flows
  WHERE cidr_contains('10.0.0.0/8', dstaddr)
  GROUP BY dstaddr, TUMBLE(start, INTERVAL '15' MINUTE);

-- Rejected SSH and RDP attempts per minute, written the Kinesis Data
-- Analytics way.
CREATE METRIC rejected_admin_ports AS
  SELECT STREAM dstport, COUNT(*)
  FROM flows
  WHERE action = 'REJECT' AND dstport IN (22, 3389)
  GROUP BY dstport, STEP(flows.start BY INTERVAL '1' MINUTE);

-- Largest and average flow per interface, on the flow's end time.
CREATE METRIC flow_size AS
  SELECT interface_id, MAX(bytes) AS max_bytes, AVG(bytes) AS avg_bytes
  FROM flows
  WHERE log_status = 'OK'
  GROUP BY interface_id, TUMBLE("end", INTERVAL '15' MINUTE);

-- Rejected TCP packets per 15 minutes.
CREATE METRIC rejected_tcp_packets AS
  SELECT SUM(packets)
  FROM flows
  WHERE action = 'REJECT' AND protocol = 6
  GROUP BY TUMBLE(start, INTERVAL '15' MINUTE);
CREATE METRIC rejected_packets_by_protocol AS
  SELECT protocol, SUM(packets) FROM flows WHERE action = 'REJECT'
  GROUP BY protocol, TUMBLE(start, INTERVAL '15' MINUTE);
CREATE METRIC records_in AS SELECT COUNT(*) FROM flows
  GROUP BY TUMBLE(arrival, INTERVAL '1' MINUTE);

create metric traffic as select interface_id, sum(bytes) as bytes, count(*) as flows,
  avg(packets) avg_packets, min(start) as first, max("end") as last, count(distinct dstaddr) as peers
from vpc_flow_logs.flow_logs f group by f.interface_id, step(f.start by interval '5' minute)
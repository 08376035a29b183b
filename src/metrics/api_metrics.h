/* SPDX-License-Identifier: MIT
 *
 * api_metrics.h -- the HTTP endpoints of the metrics (api_metrics.c),
 * which http.c routes to: they take the metrics' handle, not the server.
 */
#ifndef FL_METRICS_API_METRICS_H
#define FL_METRICS_API_METRICS_H

#include <stddef.h>

#include <microhttpd.h>

struct fl_metrics;

/* GET /api/metrics: without ?metric the metrics defined, with
 * ?metric=NAME[&from=T][&to=T][&aggregate=sum[&top=N][&with=M,...]] its
 * series. */
enum MHD_Result fl_api_metrics(struct fl_metrics *m, struct MHD_Connection *c);
/* POST /api/metrics/batch: a JSON array of /api/metrics reads, one answer. */
enum MHD_Result fl_api_metrics_batch(struct fl_metrics *m,
                                     struct MHD_Connection *c,
                                     const char *body, size_t len);
/* GET /api/alarms: the alarms, their state and recent datapoints. */
enum MHD_Result fl_api_alarms(struct fl_metrics *m, struct MHD_Connection *c);

#endif /* FL_METRICS_API_METRICS_H */

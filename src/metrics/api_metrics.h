/* SPDX-License-Identifier: MIT
 *
 * api_metrics.h -- the HTTP endpoints of the metrics (api_metrics.c),
 * which http.c routes to: they take the metrics' handle, not the server.
 */
#ifndef FL_METRICS_API_METRICS_H
#define FL_METRICS_API_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

struct fl_metrics;

/* One ingestion source's counters, as GET /metrics shows them. */
struct fl_prom_source {
    const char *name;             /* its source="..." label */
    uint64_t    records, rejected, requests, bytes, duplicates;
};

/* The server's own figures, which GET /metrics shows before the metrics':
 * a snapshot the server takes for each scrape (http.c), so that the
 * metrics need not see the server's state. */
struct fl_prom_server {
    const struct fl_prom_source *sources;
    size_t      n_sources;
    uint64_t    wal_bytes, wal_max_bytes;   /* in the WAL; wal.max_size */
    uint64_t    held_records;               /* waiting to be settled */
    uint64_t    held_kept, held_dropped;    /* settled since start */
    uint64_t    buffered_records;           /* not yet published */
    uint64_t    files_published, records_published, publish_failures;
    /* The copy in object storage (s3/uploader.h); upload = 0 without
     * s3.url, and the upload_* figures are not shown. */
    int         upload;
    uint64_t    upload_pending, upload_files, upload_bytes, upload_deleted;
    uint64_t    upload_failures;
    int64_t     upload_last_done;           /* epoch seconds, 0 = never */
    double      uptime;                     /* seconds since the start */
};

/* GET /metrics: the server's figures in srv, the metric reads' counters,
 * the build and start time, then every metric's newest final and
 * provisional values and the stream's and alarms' own figures, in the
 * Prometheus text format (docs/metrics.md lists them). */
enum MHD_Result fl_metrics_api_prometheus(struct fl_metrics *m,
                                          struct MHD_Connection *c,
                                          const struct fl_prom_server *srv);

/* GET /api/metrics/partials: this instance's partial metric state (open
 * windows, and the final ones metrics.partials_retention keeps), for
 * `flowlake metrics merge` to add to other instances'. Binary: the stream
 * engine's snapshot format (src/stream/snapshot.c). 404 when no metric
 * runs. */
enum MHD_Result fl_metrics_api_partials(struct fl_metrics *m,
                                        struct MHD_Connection *c);

/* GET /api/metrics: without ?metric the metrics defined, with
 * ?metric=NAME[&from=T][&to=T][&aggregate=sum[&top=N][&with=M,...]] its
 * series. */
enum MHD_Result fl_metrics_api_read(struct fl_metrics *m,
                                    struct MHD_Connection *c);
/* POST /api/metrics/batch: a JSON array of /api/metrics reads, one answer. */
enum MHD_Result fl_metrics_api_batch(struct fl_metrics *m,
                                     struct MHD_Connection *c,
                                     const char *body, size_t len);
/* GET /api/alarms: the alarms, their state and recent datapoints. */
enum MHD_Result fl_metrics_api_alarms(struct fl_metrics *m,
                                      struct MHD_Connection *c);

#endif /* FL_METRICS_API_METRICS_H */

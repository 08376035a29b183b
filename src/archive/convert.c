/* SPDX-License-Identifier: MIT
 *
 * convert.c -- `flowlake convert`: inputs -> parse -> DuckDB Parquet
 * writer -> staged files -> atomic publish (see convert.h for the contract).
 *
 * Order of work for one run:
 *   1. lock the archive (one convert at a time), finish any publish a crash
 *      interrupted, load the manifest of converted inputs;
 *   2. expand the inputs (folders recursively), digest each file and skip
 *      the ones the manifest or this run already has;
 *   3. peek at each input's first line for an S3 header;
 *   4. COPY (SELECT * FROM flowlake_scan()) TO the run's staging folder,
 *      Parquet + zstd, partitioned by year/month/day/hour;
 *   5. publish the staged files and record the inputs in the manifest.
 */
#include "../core/fl_config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "duckdb.h"

#include "../core/fl_awspath.h"
#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_instance.h"
#include "../core/fl_mem.h"
#include "../core/fl_sql.h"
#include "../core/fl_time.h"
#include "archive_int.h"
#include "convert.h"

struct run {
    const struct fl_convert_opts *opts;
    uint64_t           wal_seq;     /* WAL mark to publish, 0 = none */
    const struct fl_publish_hook *hook;
    char              *meta_dir;
    char              *staging_dir;
    char              *tmp_dir;
    int                lock_fd;
    /* Wait for the archive's lock rather than fail at once: a server's
     * publish waits out a compaction's swap or a convert. */
    int                wait_lock;
    struct fl_manifest *manifest;
    struct fl_format  *format;
    struct fl_input   *inputs;
    size_t             n_inputs, cap_inputs;
    uint64_t           skipped;
    char               run_id[FL_ARCHIVE_RUN_ID_MAX];
    char               err[1024];
};


/* ---- inputs --------------------------------------------------------- */

static int
add_input(struct run *run, const char *path, int is_stdin, uint64_t size)
{
    struct fl_input *p = fl_grow(run->inputs, &run->cap_inputs,
                                 run->n_inputs + 1, sizeof *p, 16);
    if (p == NULL)
        return FL_ENOMEM;
    run->inputs = p;
    struct fl_input *in = &run->inputs[run->n_inputs];
    memset(in, 0, sizeof *in);
    if ((in->path = fl_strdup(path)) == NULL)
        return FL_ENOMEM;
    in->is_stdin = is_stdin;
    in->size = size;
    in->in_manifest = 1;
    run->n_inputs++;
    return FL_OK;
}


static int
ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}


/* The provenance of a path already parsed into *a (as
 * fl_provenance_from_path). */
static int
provenance_of(const char *path, const struct fl_awspath *a,
              char *out[FL_PROV_N])
{
    for (size_t k = 0; k < FL_PROV_N; k++)
        out[k] = NULL;
    out[FL_PROV_SOURCE_FILE] = fl_strdup(a->awslogs_at >= 0
                                         ? path + a->awslogs_at : path);
    if (out[FL_PROV_SOURCE_FILE] == NULL
        || (a->account[0] != '\0'
            && (out[FL_PROV_ACCOUNT] = fl_strdup(a->account)) == NULL)
        || (a->region[0] != '\0'
            && (out[FL_PROV_REGION] = fl_strdup(a->region)) == NULL)) {
        for (size_t k = 0; k < FL_PROV_N; k++) {
            fl_free(out[k]);
            out[k] = NULL;
        }
        return FL_ENOMEM;
    }
    return FL_OK;
}


int
fl_provenance_from_path(const char *path, char *out[FL_PROV_N])
{
    struct fl_awspath a;
    (void)fl_awspath_parse(path, strlen(path), &a);
    return provenance_of(path, &a, out);
}


/* Digests a file and adds it unless it was converted before. */
static int
consider_file(struct run *run, const char *path, uint64_t size)
{
    struct fl_digest d;
    int rc = fl_digest_file(path, &d);
    if (rc < 0) {
        snprintf(run->err, sizeof run->err, "%s: %s", path, fl_strerror(rc));
        return rc;
    }
    const char *seen = fl_manifest_find(run->manifest, &d);
    if (seen != NULL) {
        if (strcmp(seen, run->run_id) == 0)
            fprintf(stderr, "flowlake: skipping %s: same content as another "
                    "input of this run\n", path);
        else
            fprintf(stderr, "flowlake: skipping %s: already converted "
                    "(run %s)\n", path, seen);
        run->skipped++;
        return FL_OK;
    }
    struct fl_awspath a;
    (void)fl_awspath_parse(path, strlen(path), &a);
    if ((rc = fl_manifest_remember(run->manifest, &d, run->run_id, 0)) < 0
        || (rc = add_input(run, path, 0, size)) < 0
        || (rc = provenance_of(path, &a,
                               run->inputs[run->n_inputs - 1].prov)) < 0)
        return rc;
    run->inputs[run->n_inputs - 1].digest = d;
    run->inputs[run->n_inputs - 1].day = a.day;
    return FL_OK;
}


static int
walk_file(void *ctx, const char *path)
{
    struct run *run = ctx;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    /* What an S3 sync of flow logs leaves: .log.gz (and .log when
     * decompressed by hand); hidden files are sync tools' temporaries. */
    if (base[0] == '.'
        || !(ends_with(base, ".log") || ends_with(base, ".gz")
             || ends_with(base, ".txt")))
        return FL_OK;
    struct stat st;
    if (stat(path, &st) < 0)
        return FL_OK;
    return consider_file(run, path, (uint64_t)st.st_size);
}


static int
expand_inputs(struct run *run, char *const *args, size_t n)
{
    int rc = FL_OK, have_stdin = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct stat st;
        if (strcmp(args[i], "-") == 0) {
            if (have_stdin++) {
                snprintf(run->err, sizeof run->err, "'-' given twice");
                return FL_ECONFIG;
            }
            rc = add_input(run, "-", 1, 0);
        } else if (stat(args[i], &st) < 0) {
            rc = -errno;
            snprintf(run->err, sizeof run->err, "%s: %s", args[i],
                     strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            rc = fl_fs_walk(args[i], walk_file, run);
            if (rc < 0 && run->err[0] == '\0')
                snprintf(run->err, sizeof run->err, "%s: %s", args[i],
                         fl_strerror(rc));
        } else {
            rc = consider_file(run, args[i], (uint64_t)st.st_size);
        }
    }
    return rc;
}


/* Inputs by delivery day, a day's inputs in the order the walk found
 * them (account by account, region by region), the inputs whose path
 * gives no day first, in their own order: what group_end needs to make
 * a day of a bucket with several accounts and regions one group. With
 * stdin among the inputs the order stays as given. */
struct day_order {
    unsigned day;
    size_t   i;
};

static int
cmp_day_order(const void *a, const void *b)
{
    const struct day_order *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}


static int
order_by_day(struct run *run)
{
    size_t n = run->n_inputs, k;
    for (k = 0; k < n; k++) {
        if (run->inputs[k].is_stdin)
            return FL_OK;
    }
    for (k = 1; k < n && run->inputs[k - 1].day <= run->inputs[k].day; k++)
        ;
    if (k >= n)
        return FL_OK;                 /* in order already */
    struct day_order *o = fl_malloc(n * sizeof *o);
    struct fl_input *sorted = fl_malloc(n * sizeof *sorted);
    if (o == NULL || sorted == NULL) {
        fl_free(o);
        fl_free(sorted);
        return FL_ENOMEM;
    }
    for (k = 0; k < n; k++) {
        o[k].day = run->inputs[k].day;
        o[k].i = k;
    }
    qsort(o, n, sizeof *o, cmp_day_order);
    for (k = 0; k < n; k++)
        sorted[k] = run->inputs[o[k].i];
    fl_free(o);
    fl_free(run->inputs);
    run->inputs = sorted;
    run->cap_inputs = n;
    return FL_OK;
}


/* ---- run set-up ----------------------------------------------------- */

void
fl_archive_run_id(char *out, size_t len)
{
    struct fl_civil c;
    uint32_t rnd = 0;
    fl_time_to_civil(fl_time_now(), &c);
    if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        rnd = (uint32_t)getpid() ^ (uint32_t)fl_time_now();
    snprintf(out, len, "%04d%02d%02dT%02d%02d%02dZ-%s-%08x", c.year,
             c.month, c.day, c.hour, c.minute, c.second, fl_instance_id(),
             rnd);
}


int
fl_archive_lock(const char *archive_dir, int wait, int *out_fd)
{
    char *path = fl_fs_join(archive_dir, "_flowlake/lock");
    if (path == NULL)
        return FL_ENOMEM;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    fl_free(path);
    if (fd < 0)
        return -errno;
    while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
        int rc = -errno;
        if (rc == -EINTR)
            continue;
        close(fd);
        return rc;
    }
    *out_fd = fd;
    return FL_OK;
}


static int
lock_archive(struct run *run)
{
    int rc = fl_archive_lock(run->opts->archive_dir, run->wait_lock,
                             &run->lock_fd);
    if (rc == -EWOULDBLOCK)
        snprintf(run->err, sizeof run->err, "another flowlake process is "
                 "converting into %s", run->opts->archive_dir);
    return rc;
}


static int
exec(duckdb_connection con, const char *sql, char *err, size_t errlen,
     uint64_t *out_count)
{
    duckdb_result res;
    if (duckdb_query(con, sql, &res) == DuckDBError) {
        snprintf(err, errlen, "%s", duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        return FL_EDB;
    }
    if (out_count != NULL)
        *out_count = (uint64_t)duckdb_value_int64(&res, 0, 0);
    duckdb_destroy_result(&res);
    return FL_OK;
}


/* Inputs per COPY: at most this many raw bytes (one input is always
 * taken, however large). */
#define GROUP_MAX_BYTES ((uint64_t)256 << 20)

/* Length of the folder part of path ("" for a bare name). */
static size_t
dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) : 0;
}


/* End (exclusive) of the group of inputs starting at `first`: the
 * following inputs of the same delivery day (struct fl_input.day) or,
 * for inputs whose path gives no day, of the same folder, up to
 * GROUP_MAX_BYTES. An S3 sync of flow logs has one folder per account,
 * region and day (AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/,
 * https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html)
 * and order_by_day puts a day's folders of every account and region next
 * to each other, so a group is about one day: one COPY writes its two
 * dozen partitions at once, each into one file, instead of one COPY
 * juggling every hour of a backfill (DuckDB keeps at most
 * partitioned_write_max_open_files open and starts a new file when a
 * closed partition gets rows again; raising the limit to a year's 8,760
 * hours costs ~200 KB of writer state each), or one file per account and
 * region in every hour. Memory inputs (the server's blocks) and stdin
 * stay in one group. */
static size_t
group_end(const struct fl_input *in, size_t n, size_t first)
{
    uint64_t bytes = in[first].size;
    size_t dl = dir_len(in[first].path), i;
    if (in[first].mem != NULL || in[first].is_stdin)
        return n;
    for (i = first + 1; i < n; i++) {
        if (in[i].mem != NULL || in[i].is_stdin || in[i].day != in[first].day)
            break;
        if (in[first].day == 0
            && (dir_len(in[i].path) != dl
                || strncmp(in[i].path, in[first].path, dl) != 0))
            break;
        if (bytes + in[i].size > GROUP_MAX_BYTES)
            break;
        bytes += in[i].size;
    }
    return i;
}


/* One COPY: the inputs scan->inputs[0 .. n_inputs) (group g of the run)
 * through the table function `fn` registered on con for scan, into the
 * staging folder. sql is a buffer of cap bytes. */
static int
copy_group(duckdb_connection con, const char *fn, struct fl_scan *scan,
           const char *select, const char *staging_q, const char *run_id,
           size_t g, int ignore_existing, char *sql, size_t cap, char *err,
           size_t errlen, uint64_t *rows)
{
    char pattern[128];
    int rc;
    *rows = 0;
    /* Every group writes into the same staging folder: the group number
     * keeps the names apart (the first keeps the plain form). */
    if (g == 0)
        snprintf(pattern, sizeof pattern, "part-%s-{i}", run_id);
    else
        snprintf(pattern, sizeof pattern, "part-%s-%zu-{i}", run_id, g);
    /* source_file's ENUM holds this group's names only (scan.c). */
    if ((rc = fl_scan_source_names(scan)) < 0)
        return rc;
    /* zstd level 1 rather than DuckDB's default 3: 13% less CPU for the
     * whole convert, files 1% larger -- still smaller per record than
     * DuckDB's own CSV -> Parquet at its defaults (bench/run.sh).
     * OVERWRITE_OR_IGNORE: the folder holds other groups' files (never
     * overwritten: the names differ). */
    snprintf(sql, cap,
             "COPY (SELECT %s FROM %s()) TO %s "
             "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, "
             "PARTITION_BY (" FL_SCAN_HOUR_COLUMN "), "
             "FILENAME_PATTERN '%s'%s)",
             select, fn, staging_q, pattern,
             ignore_existing ? ", OVERWRITE_OR_IGNORE" : "");
    return exec(con, sql, err, errlen, rows);
}


/* Several groups at once: GROUP_WORKERS connections to one database
 * opened with threads = 1, each on a thread of its own running one
 * group's COPY after the other.
 *
 * Why not one COPY at a time on all cores: a group is about a day (two
 * dozen hourly files, ~10,000 records in a backfill), too small for
 * DuckDB to keep two threads busy -- its pipelines wait on each other, and
 * the calling thread polls for tasks meanwhile (a third of the CPU of a
 * one-year backfill went to DuckDB's task loop, perf). With one thread per
 * database each COPY runs on its caller alone, without that polling, and
 * two COPYs keep two cores busy: a month of 744 hourly files took 1.5-1.8 s
 * with threads = 1 against 2.2-3.1 s with threads = 2 (bench/README.md).
 * A single group (stdin, the server's blocks, one large file) keeps the
 * one COPY on every core: it is large enough to use them. */
struct groups {
    struct fl_scan    *scan;          /* the run's: inputs, set-up, totals */
    const size_t      *first;         /* group g: inputs [first[g],
                                         first[g + 1]) */
    size_t             n;
    const char        *select, *staging_q, *run_id;
    size_t             cap;           /* SQL buffer size */
    pthread_mutex_t    mu;            /* guards the rest */
    size_t             next;          /* next group to take */
    int                rc;            /* first failure */
    char               err[1024];
    uint64_t           rows;
};

struct group_worker {
    struct groups     *gs;
    duckdb_connection  con;
    struct fl_scan     scan;          /* over the group being copied */
    int                scan_ready;
    char               fn[32];        /* its table function's name */
    pthread_t          thread;
    int                started;
};


static void *
group_worker_main(void *arg)
{
    struct group_worker *w = arg;
    struct groups *gs = w->gs;
    char *sql = fl_malloc(gs->cap), err[1024] = "";
    int rc = sql == NULL ? FL_ENOMEM : FL_OK;

    while (rc == 0) {
        pthread_mutex_lock(&gs->mu);
        size_t g = gs->next;
        int stop = gs->rc < 0 || g >= gs->n;
        if (!stop)
            gs->next++;
        pthread_mutex_unlock(&gs->mu);
        if (stop)
            break;
        uint64_t rows = 0;
        w->scan.inputs = gs->scan->inputs + gs->first[g];
        w->scan.n_inputs = gs->first[g + 1] - gs->first[g];
        rc = copy_group(w->con, w->fn, &w->scan, gs->select, gs->staging_q,
                        gs->run_id, g, 1, sql, gs->cap, err, sizeof err,
                        &rows);
        pthread_mutex_lock(&gs->mu);
        gs->rows += rows;
        pthread_mutex_unlock(&gs->mu);
    }
    if (rc < 0) {
        pthread_mutex_lock(&gs->mu);
        if (gs->rc == 0) {
            gs->rc = rc;
            snprintf(gs->err, sizeof gs->err, "%s",
                     err[0] ? err : fl_strerror(rc));
        }
        pthread_mutex_unlock(&gs->mu);
    }
    fl_free(sql);
    return NULL;
}


/* Runs the groups on n_workers connections of db at once. */
static int
copy_groups_parallel(struct run *run, duckdb_database db,
                     struct fl_scan *scan, const size_t *first, size_t n,
                     int n_workers, const char *select,
                     const char *staging_q, size_t cap, uint64_t *out_rows)
{
    struct groups gs = { .scan = scan, .first = first, .n = n,
                         .select = select, .staging_q = staging_q,
                         .run_id = run->run_id, .cap = cap };
    struct group_worker *w = fl_calloc((size_t)n_workers, sizeof *w);
    int rc, k;

    if (w == NULL)
        return FL_ENOMEM;
    if ((rc = pthread_mutex_init(&gs.mu, NULL)) != 0) {
        fl_free(w);
        return -rc;
    }
    /* Every group's COPY may find the staging folder made by another. */
    if ((rc = fl_fs_mkdirs(run->staging_dir)) < 0) {
        snprintf(run->err, sizeof run->err, "cannot create %s: %s",
                 run->staging_dir, fl_strerror(rc));
        goto out;
    }
    /* Connections and functions are set up here, before any COPY, so that
     * the catalogue changes do not race with each other. */
    for (k = 0; k < n_workers && rc == 0; k++) {
        w[k].gs = &gs;
        snprintf(w[k].fn, sizeof w[k].fn, "flowlake_scan_%d", k);
        if ((rc = fl_scan_init_group(&w[k].scan, scan)) < 0)
            break;
        w[k].scan_ready = 1;
        /* Each COPY's reader ends with a progress line; the run's last
         * newline is written once all are done. */
        w[k].scan.progress_more = 1;
        if (duckdb_connect(db, &w[k].con) == DuckDBError) {
            snprintf(run->err, sizeof run->err, "cannot connect to DuckDB");
            rc = FL_EDB;
        } else if ((rc = fl_scan_register(&w[k].con, w[k].fn,
                                          &w[k].scan)) < 0) {
            snprintf(run->err, sizeof run->err,
                     "cannot register flowlake_scan");
        }
    }
    for (k = 0; k < n_workers && rc == 0; k++) {
        if ((rc = pthread_create(&w[k].thread, NULL, group_worker_main,
                                 &w[k])) != 0) {
            rc = -rc;
            snprintf(run->err, sizeof run->err, "cannot start a thread: %s",
                     fl_strerror(rc));
            /* The started ones stop after their current group. */
            pthread_mutex_lock(&gs.mu);
            gs.rc = rc;
            pthread_mutex_unlock(&gs.mu);
            break;
        }
        w[k].started = 1;
    }
    for (k = 0; k < n_workers; k++) {
        if (w[k].started)
            pthread_join(w[k].thread, NULL);
    }
    if (rc == 0 && gs.rc < 0) {
        rc = gs.rc;
        snprintf(run->err, sizeof run->err, "%s", gs.err);
    }
    if (rc == 0 && scan->progress)
        fputc('\n', stderr);
    *out_rows = gs.rows;
out:
    for (k = 0; k < n_workers; k++) {
        if (w[k].con != NULL)
            duckdb_disconnect(&w[k].con);
        if (w[k].scan_ready)
            fl_scan_free(&w[k].scan);
    }
    pthread_mutex_destroy(&gs.mu);
    fl_free(w);
    return rc;
}


/* Runs one COPY per group of inputs, parsing them into the staging
 * folder: one after the other on every core, or several at once on one
 * core each (struct groups). */
static int
write_parquet(struct run *run, struct fl_scan *scan, uint64_t *out_rows)
{
    duckdb_database db = NULL;
    duckdb_connection con = NULL;
    duckdb_config cfg = NULL;
    struct fl_input *all = scan->inputs;
    size_t n_all = scan->n_inputs, n_groups = 0, *first = NULL;
    char *staging_q = NULL, *sql = NULL, *select = NULL;
    char buf[64], *open_err = NULL;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = run->opts->threads > 0 ? run->opts->threads
                : cores > 0 ? (int)cores : 1;
    int rc, workers;

    *out_rows = 0;
    fl_zstd_reuse_init();
    /* The groups' bounds, first[n_groups] == n_all. */
    first = fl_malloc((n_all + 1) * sizeof *first);
    if (first == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; i < n_all; i = group_end(all, n_all, i))
        first[n_groups++] = i;
    first[n_groups] = n_all;
    workers = n_groups >= 2 && threads >= 2
            ? (n_groups < (size_t)threads ? (int)n_groups : threads) : 1;

    if (duckdb_create_config(&cfg) == DuckDBError) {
        snprintf(run->err, sizeof run->err, "cannot configure DuckDB");
        fl_free(first);
        return FL_EDB;
    }
    snprintf(buf, sizeof buf, "%d", workers > 1 ? 1 : threads);
    duckdb_set_config(cfg, "threads", buf);
    if (run->opts->memory_limit != NULL)
        duckdb_set_config(cfg, "memory_limit", run->opts->memory_limit);
    /* Row order within a partition carries no meaning for flow logs;
     * dropping it lets DuckDB's writer run without reordering. */
    duckdb_set_config(cfg, "preserve_insertion_order", "false");
    duckdb_set_config(cfg, "temp_directory", run->tmp_dir);
    if (duckdb_open_ext(NULL, &db, cfg, &open_err) == DuckDBError) {
        snprintf(run->err, sizeof run->err, "cannot open DuckDB: %s",
                 open_err ? open_err : "unknown error");
        duckdb_free(open_err);
        duckdb_destroy_config(&cfg);
        fl_free(first);
        return FL_EDB;
    }
    duckdb_destroy_config(&cfg);
    staging_q = fl_sql_literal(run->staging_dir);
    select = fl_scan_select_list(scan);
    size_t cap = strlen(run->staging_dir) * 2 + 512
               + (select ? strlen(select) : 0);
    if (staging_q == NULL || select == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    scan->progress_t0 = fl_time_mono();
    if (workers > 1) {
        rc = copy_groups_parallel(run, db, scan, first, n_groups, workers,
                                  select, staging_q, cap, out_rows);
        goto out;
    }
    if (duckdb_connect(db, &con) == DuckDBError) {
        snprintf(run->err, sizeof run->err, "cannot connect to DuckDB");
        rc = FL_EDB;
        goto out;
    }
    if ((rc = fl_scan_register(&con, "flowlake_scan", scan)) < 0) {
        snprintf(run->err, sizeof run->err, "cannot register flowlake_scan");
        goto out;
    }
    if ((sql = fl_malloc(cap)) == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    for (size_t g = 0; g < n_groups && rc == 0; g++) {
        uint64_t rows = 0;
        scan->inputs = all + first[g];
        scan->n_inputs = first[g + 1] - first[g];
        scan->progress_more = g + 1 < n_groups;
        rc = copy_group(con, "flowlake_scan", scan, select, staging_q,
                        run->run_id, g, g > 0, sql, cap, run->err,
                        sizeof run->err, &rows);
        *out_rows += rows;
    }
out:
    scan->inputs = all;
    scan->n_inputs = n_all;
    fl_free(first);
    fl_free(staging_q);
    fl_free(select);
    fl_free(sql);
    if (con != NULL)
        duckdb_disconnect(&con);
    duckdb_close(&db);
    return rc;
}


/* Manifest lines for the inputs converted by this run. */
static char *
manifest_lines(struct run *run)
{
    size_t cap = 128, o = 0;
    for (size_t i = 0; i < run->n_inputs; i++)
        cap += strlen(run->inputs[i].path) + 128;
    char *text = fl_malloc(cap);
    if (text == NULL)
        return NULL;
    struct fl_civil c;
    char when[32];
    fl_time_to_civil(fl_time_now(), &c);
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year,
             c.month, c.day, c.hour, c.minute, c.second);
    for (size_t i = 0; i < run->n_inputs; i++) {
        struct fl_input *in = &run->inputs[i];
        char hex[FL_DIGEST_HEX];
        if (!in->in_manifest)
            continue;
        fl_digest_hex(&in->digest, hex);
        o += (size_t)snprintf(text + o, cap - o, "%s\t%llu\t%s\t%s\t", hex,
                              (unsigned long long)in->size, run->run_id, when);
        /* The path is informational; keep the line format intact. */
        for (const char *p = in->path; *p; p++)
            text[o++] = (*p == '\t' || *p == '\n') ? '?' : *p;
        text[o++] = '\n';
        text[o] = '\0';
    }
    if (run->wal_seq > 0)
        o += (size_t)snprintf(text + o, cap - o, "wal\t%llu\t%s\t%s\n",
                              (unsigned long long)run->wal_seq, run->run_id,
                              when);
    text[o] = '\0';
    return text;
}


static void
free_run(struct run *run)
{
    for (size_t i = 0; i < run->n_inputs; i++) {
        fl_free(run->inputs[i].path);
        fl_input_free_provenance(&run->inputs[i]);
        fl_format_destroy(run->inputs[i].header_fmt);
        fl_lines_destroy(run->inputs[i].lines);
    }
    fl_free(run->inputs);
    fl_format_destroy(run->format);
    fl_manifest_destroy(run->manifest);
    if (run->lock_fd >= 0)
        close(run->lock_fd);
    fl_free(run->meta_dir);
    fl_free(run->staging_dir);
    fl_free(run->tmp_dir);
}


/* Names the run, creates the bookkeeping folders, takes the archive lock,
 * loads the manifest and finishes any publish a crash interrupted. */
static int
run_open(struct run *run)
{
    const char *archive_dir = run->opts->archive_dir;
    char sname[96];
    int rc;

    fl_archive_run_id(run->run_id, sizeof run->run_id);
    run->meta_dir = fl_fs_join(archive_dir, "_flowlake");
    snprintf(sname, sizeof sname, "staging-%s", run->run_id);
    run->staging_dir = run->meta_dir ? fl_fs_join(run->meta_dir, sname) : NULL;
    run->tmp_dir = run->meta_dir ? fl_fs_join(run->meta_dir, "tmp") : NULL;
    if (run->meta_dir == NULL || run->staging_dir == NULL
        || run->tmp_dir == NULL)
        return FL_ENOMEM;
    if ((rc = fl_fs_mkdirs(run->meta_dir)) < 0) {
        snprintf(run->err, sizeof run->err, "cannot create %s: %s",
                 run->meta_dir, fl_strerror(rc));
        return rc;
    }
    if ((rc = lock_archive(run)) < 0)
        return rc;
    if ((rc = fl_manifest_load(run->meta_dir, &run->manifest)) < 0) {
        snprintf(run->err, sizeof run->err,
                 "cannot read the manifest in %s: %s", run->meta_dir,
                 fl_strerror(rc));
        return rc;
    }
    return fl_publish_recover(archive_dir, run->meta_dir, run->manifest,
                              run->err, sizeof run->err);
}


/* Parses run->inputs into Parquet in the staging folder and publishes it:
 * the part of a conversion after the inputs are known. */
static int
run_convert(struct run *run, struct fl_convert_stats *st)
{
    const struct fl_convert_opts *opts = run->opts;
    struct fl_scan scan;
    char *mlines = NULL, *rejects_path = NULL;
    uint64_t rows = 0;
    char rname[128];
    int rc;

    memset(&scan, 0, sizeof scan);
    snprintf(rname, sizeof rname, "_errors/convert-%s.jsonl", run->run_id);
    rejects_path = fl_fs_join(opts->archive_dir, rname);
    if (rejects_path == NULL)
        return FL_ENOMEM;
    if ((rc = fl_scan_init(&scan)) < 0) {
        fl_free(rejects_path);
        return rc;
    }

    scan.inputs = run->inputs;
    scan.n_inputs = run->n_inputs;
    scan.format = run->format;
    scan.strict = opts->strict;
    scan.max_line = opts->max_line ? opts->max_line : FL_LINES_DEFAULT_MAX_LINE;
    scan.fallback_time = fl_time_now();
    scan.progress = opts->progress;
    for (size_t i = 0; i < run->n_inputs; i++)
        scan.total_bytes += run->inputs[i].size;
    if (run->inputs[run->n_inputs - 1].is_stdin)
        scan.total_bytes = 0;
    if ((rc = fl_rejects_create(rejects_path, &scan.rejects)) < 0)
        goto out;
    if ((rc = fl_scan_prepare(&scan, run->err, sizeof run->err)) < 0)
        goto out;
    /* Each execution of flowlake_scan starts its own reader thread (a
     * failure to start it is in scan.errmsg); all are joined once
     * write_parquet has closed DuckDB. */
    rc = write_parquet(run, &scan, &rows);
    int rej_rc = fl_rejects_close(scan.rejects);
    if (rc < 0) {
        /* The scan's own message (file:line) beats DuckDB's wrapping. */
        if (scan.errmsg[0] != '\0')
            snprintf(run->err, sizeof run->err, "%s", scan.errmsg);
        goto discard;
    }
    if (rej_rc < 0) {
        rc = rej_rc;
        snprintf(run->err, sizeof run->err, "cannot write %s: %s",
                 rejects_path, fl_strerror(rc));
        goto discard;
    }
    for (size_t i = 0; i < run->n_inputs; i++) {
        struct fl_input *in = &run->inputs[i];
        if (!in->is_stdin)
            continue;
        in->size = scan.bytes_done;
        const char *seen = fl_manifest_find(run->manifest, &in->digest);
        if (seen != NULL) {
            snprintf(run->err, sizeof run->err, "stdin: this content was "
                     "already converted (run %s); nothing published", seen);
            rc = FL_EDUP;
            goto discard;
        }
    }
    if ((mlines = manifest_lines(run)) == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    struct fl_publish_result pub;
    if (run->hook != NULL)
        run->hook->before(run->hook->ctx);
    rc = fl_publish(opts->archive_dir, run->meta_dir, run->run_id,
                    run->staging_dir, run->manifest, mlines, &pub, run->err,
                    sizeof run->err);
    if (run->hook != NULL)
        run->hook->after(run->hook->ctx, rc == 0);
    if (rc < 0)
        goto out;
    st->files_written = pub.files;
    st->bytes_written = pub.bytes;
    st->records_written = rows;
    st->records_read = atomic_load(&scan.records_read);
    st->rejected = atomic_load(&scan.rejected);
    st->bytes_in = scan.bytes_done;
    if (st->rejected > 0)
        snprintf(st->rejects_path, sizeof st->rejects_path, "%s",
                 rejects_path);
    goto out;

discard:
    (void)fl_fs_remove_tree(run->staging_dir);
out:
    fl_rejects_destroy(scan.rejects);
    fl_scan_free(&scan);
    fl_free(mlines);
    fl_free(rejects_path);
    return rc;
}


/* Common ending: timing, the error message, cleanup. */
static int
run_finish(struct run *run, int rc, double t0, struct fl_convert_stats *st,
           struct fl_err *err)
{
    st->seconds = fl_time_mono() - t0;
    snprintf(st->run_id, sizeof st->run_id, "%s", run->run_id);
    if (rc < 0)
        fl_err_set(err, rc, "%s", run->err[0] ? run->err : fl_strerror(rc));
    free_run(run);
    return rc;
}


int
fl_convert_run(const struct fl_convert_opts *opts, char *const *args,
               size_t n_args, struct fl_convert_stats *st, struct fl_err *err)
{
    struct run run = { .opts = opts, .lock_fd = -1 };
    struct fl_parse_err perr;
    double t0 = fl_time_mono();
    int rc;

    memset(st, 0, sizeof *st);
    if ((rc = run_open(&run)) < 0)
        return run_finish(&run, rc, t0, st, err);
    if (opts->format_spec != NULL)
        rc = fl_format_parse(opts->format_spec, &run.format, &perr);
    else
        rc = fl_format_default(&run.format);
    if (rc < 0) {
        snprintf(run.err, sizeof run.err, "--format: %s", perr.reason);
        return run_finish(&run, rc, t0, st, err);
    }
    if ((rc = expand_inputs(&run, args, n_args)) < 0
        || (rc = order_by_day(&run)) < 0)
        return run_finish(&run, rc, t0, st, err);
    st->inputs_skipped = run.skipped;
    st->inputs = run.n_inputs;
    if (run.n_inputs > 0)
        rc = run_convert(&run, st);
    return run_finish(&run, rc, t0, st, err);
}


int
fl_archive_write_blocks(const char *archive_dir,
                        const struct fl_archive_block *blocks, size_t n,
                        uint64_t wal_seq, const struct fl_publish_hook *hook,
                        struct fl_convert_stats *st, struct fl_err *err)
{
    struct fl_convert_opts opts = { .archive_dir = archive_dir };
    struct run run = { .opts = &opts, .lock_fd = -1, .wal_seq = wal_seq,
                       .hook = hook, .wait_lock = 1 };
    double t0 = fl_time_mono();
    int rc;

    memset(st, 0, sizeof *st);
    if ((rc = run_open(&run)) < 0 || (rc = fl_format_default(&run.format)) < 0)
        return run_finish(&run, rc, t0, st, err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct fl_parse_err perr;
        if ((rc = add_input(&run, blocks[i].source, 0, blocks[i].len)) < 0)
            break;
        struct fl_input *in = &run.inputs[run.n_inputs - 1];
        in->mem = blocks[i].text;
        in->mem_len = blocks[i].len;
        in->in_manifest = 0;      /* the caller dedupes its sources itself */
        if ((rc = fl_input_set_provenance(in, blocks[i].prov)) < 0)
            break;
        if (blocks[i].format_spec != NULL
            && (rc = fl_format_parse(blocks[i].format_spec, &in->header_fmt,
                                     &perr)) < 0)
            snprintf(run.err, sizeof run.err, "%s: format: %s",
                     blocks[i].source, perr.reason);
    }
    st->inputs = run.n_inputs;
    if (rc == 0 && run.n_inputs > 0)
        rc = run_convert(&run, st);
    return run_finish(&run, rc, t0, st, err);
}


int
fl_archive_wal_seq(const char *archive_dir, uint64_t *out,
                   struct fl_err *err)
{
    struct fl_convert_opts opts = { .archive_dir = archive_dir };
    struct run run = { .opts = &opts, .lock_fd = -1 };
    struct fl_convert_stats st;
    int rc = run_open(&run);
    if (rc == 0)
        *out = fl_manifest_wal_seq(run.manifest);
    return run_finish(&run, rc, fl_time_mono(), &st, err);
}

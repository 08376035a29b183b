/* SPDX-License-Identifier: MIT
 *
 * job.c -- writes and decodes the query message of job.h. The decoder
 * takes untrusted-shaped input (it is fuzzed: fuzz/fuzz_query_job.c): every
 * length is checked against what is left before it is used, counts are
 * checked against the bytes that could hold them before an array is
 * allocated, and a string must end in its NUL.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/fl_endian.h"
#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "job.h"

static const char magic[] = "FLQJ3\n";
#define MAGIC_LEN (sizeof magic - 1)
#define NONE UINT64_MAX

/* ---- writing --------------------------------------------------------- */

static int
put_bytes(FILE *f, const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, f) == n ? 0 : -1;
}


static int
put_u64(FILE *f, uint64_t v)
{
    unsigned char b[8];
    fl_put_le64(b, v);
    return put_bytes(f, b, 8);
}


static int
put_u32(FILE *f, uint32_t v)
{
    unsigned char b[4];
    fl_put_le32(b, v);
    return put_bytes(f, b, 4);
}


static int
put_u8(FILE *f, unsigned v)
{
    unsigned char b = (unsigned char)v;
    return put_bytes(f, &b, 1);
}


static int
put_strn(FILE *f, const char *s, size_t n)
{
    return put_u64(f, n) | put_bytes(f, s, n) | put_u8(f, 0);
}


static int
put_str(FILE *f, const char *s)
{
    return put_strn(f, s ? s : "", s ? strlen(s) : 0);
}


static int
put_ostr(FILE *f, const char *s)
{
    return s == NULL ? put_u8(f, 0) : put_u8(f, 1) | put_str(f, s);
}


static int
put_row(FILE *f, const struct fl_metric_row *r)
{
    int bad = put_str(f, r->metric) | put_u64(f, r->n_dims);
    for (size_t d = 0; d < r->n_dims; d++)
        bad |= put_str(f, r->dim_names[d]) | put_ostr(f, r->dim_values[d]);
    uint64_t bits;
    memcpy(&bits, &r->value, sizeof bits);
    bad |= put_u64(f, (uint64_t)r->window_start)
         | put_u64(f, (uint64_t)r->window_end) | put_u64(f, bits)
         | put_u8(f, r->has_value != 0) | put_u8(f, r->final != 0)
         | put_u8(f, r->exact != 0) | put_u64(f, r->records);
    return bad;
}


int
fl_query_job_write(FILE *f, const struct fl_query_job *job)
{
    int bad = put_bytes(f, magic, MAGIC_LEN)
            | put_str(f, job->archive_dir) | put_str(f, job->memory_limit)
            | put_u64(f, job->max_memory) | put_u32(f, job->timeout_s)
            | put_u32(f, (uint32_t)job->format) | put_str(f, job->sql);

    bad |= put_u64(f, job->has_files ? job->n_files : NONE);
    if (job->has_files) {
        for (size_t i = 0; i < job->n_files; i++)
            bad |= put_str(f, job->files[i]);
        bad |= put_u64(f, job->n_metric_files);
        for (size_t i = 0; i < job->n_metric_files; i++)
            bad |= put_str(f, job->metric_files[i]);
        bad |= put_ostr(f, job->alarm_history);
    }
    bad |= put_u64(f, job->n_segments);
    for (size_t i = 0; i < job->n_segments; i++)
        bad |= put_u64(f, job->segment_sizes[i]);
    bad |= put_u64(f, job->n_blocks);
    for (size_t i = 0; i < job->n_blocks; i++) {
        const struct fl_archive_block *b = &job->blocks[i];
        bad |= put_u64(f, job->block_text[i].seg)
             | put_u64(f, job->block_text[i].off) | put_u64(f, b->len)
             | put_u8(f, b->hours_known != 0)
             | put_u64(f, (uint64_t)b->hour_lo)
             | put_u64(f, (uint64_t)b->hour_hi)
             | put_ostr(f, b->format_spec) | put_ostr(f, b->source);
        for (size_t k = 0; k < FL_PROV_N; k++)
            bad |= put_ostr(f, b->prov != NULL ? b->prov->v[k] : NULL);
    }
    bad |= put_u64(f, job->has_rows ? job->n_rows : NONE);
    for (size_t i = 0; job->has_rows && i < job->n_rows; i++)
        bad |= put_row(f, &job->rows[i]);
    if (bad || fflush(f) != 0)
        return errno ? -errno : -EIO;
    return FL_OK;
}

/* ---- reading --------------------------------------------------------- */

struct reader {
    const char *p;
    size_t      len, off;
    int         bad;            /* first failure wins; later reads no-op */
    size_t      bad_off;
    const char *what;
};


static int
fail(struct reader *r, const char *what)
{
    if (!r->bad) {
        r->bad = 1;
        r->bad_off = r->off;
        r->what = what;
    }
    return -1;
}


static uint64_t
get_u(struct reader *r, int bytes, const char *what)
{
    uint64_t v = 0;
    if (r->bad || r->len - r->off < (size_t)bytes) {
        fail(r, what);
        return 0;
    }
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)(unsigned char)r->p[r->off + (size_t)i] << (8 * i);
    r->off += (size_t)bytes;
    return v;
}


static const char *
get_strn(struct reader *r, size_t *out_len, const char *what)
{
    size_t start = r->off;
    uint64_t n = get_u(r, 8, what);
    if (r->bad)
        return NULL;
    if (n >= r->len - r->off || r->p[r->off + n] != '\0') {
        r->off = start;              /* the error names where it begins */
        fail(r, what);
        return NULL;
    }
    const char *s = r->p + r->off;
    r->off += (size_t)n + 1;
    if (out_len != NULL)
        *out_len = (size_t)n;
    return s;
}


/* A C string: no NUL before its end. */
static const char *
get_str(struct reader *r, const char *what)
{
    size_t start = r->off, n = 0;
    const char *s = get_strn(r, &n, what);
    if (s != NULL && memchr(s, '\0', n) != NULL) {
        r->off = start;
        fail(r, what);
        return NULL;
    }
    return s;
}


static const char *
get_ostr(struct reader *r, const char *what)
{
    uint64_t present = get_u(r, 1, what);
    if (r->bad)
        return NULL;
    if (present > 1) {
        fail(r, what);
        return NULL;
    }
    return present ? get_str(r, what) : NULL;
}


/* A byte that is 0 or 1. */
static int
get_flag(struct reader *r, const char *what)
{
    uint64_t v = get_u(r, 1, what);
    if (!r->bad && v > 1) {
        r->off--;
        fail(r, what);
    }
    return (int)v;
}


/* A count of items each at least min_size bytes long: refuses counts the
 * rest of the message could not hold, before anything is allocated. */
static size_t
get_count(struct reader *r, size_t min_size, int allow_none, int *none,
          const char *what)
{
    size_t start = r->off;
    uint64_t n = get_u(r, 8, what);
    if (r->bad)
        return 0;
    if (allow_none && n == NONE) {
        *none = 1;
        return 0;
    }
    if (n > (r->len - r->off) / min_size) {
        r->off = start;
        fail(r, what);
        return 0;
    }
    return (size_t)n;
}


static int
get_row(struct reader *r, struct fl_metric_row *row)
{
    /* The decoded strings point into the message: the casts drop a const
     * that struct fl_metric_row cannot express; nothing writes through
     * them (fl_query_set_metrics reads). */
    row->metric = (char *)(uintptr_t)get_str(r, "metric name");
    row->n_dims = get_count(r, 10, 0, NULL, "dimension count");
    if (r->bad)
        return -1;
    if (row->n_dims > 0) {
        row->dim_names = fl_calloc(row->n_dims, sizeof *row->dim_names);
        row->dim_values = fl_calloc(row->n_dims, sizeof *row->dim_values);
        if (row->dim_names == NULL || row->dim_values == NULL)
            return FL_ENOMEM;
    }
    for (size_t d = 0; d < row->n_dims && !r->bad; d++) {
        row->dim_names[d] = (char *)(uintptr_t)get_str(r, "dimension name");
        row->dim_values[d] = (char *)(uintptr_t)get_ostr(r, "dimension value");
    }
    row->window_start = (int64_t)get_u(r, 8, "window start");
    row->window_end = (int64_t)get_u(r, 8, "window end");
    uint64_t bits = get_u(r, 8, "value");
    memcpy(&row->value, &bits, sizeof bits);
    row->has_value = get_flag(r, "has_value");
    row->final = get_flag(r, "final");
    row->exact = get_flag(r, "exact");
    row->records = get_u(r, 8, "records");
    return r->bad ? -1 : 0;
}


/* n strings into a new array (*out), pointing into the message. */
static int
get_strings(struct reader *r, size_t n, const char *const **out,
            size_t *out_n)
{
    const char **v;
    if (r->bad || n == 0)
        return FL_OK;
    if ((v = fl_calloc(n, sizeof *v)) == NULL)
        return FL_ENOMEM;
    *out = v;
    *out_n = n;
    for (size_t i = 0; i < n && !r->bad; i++)
        v[i] = get_str(r, "file name");
    return FL_OK;
}


void
fl_query_job_clear(struct fl_query_job *job)
{
    for (size_t i = 0; job->segment_maps != NULL && i < job->n_segments; i++)
        if (job->segment_maps[i] != NULL)
            (void)munmap(job->segment_maps[i], job->segment_sizes[i]);
    fl_free(job->segment_maps);
    fl_free((void *)(uintptr_t)job->segment_sizes);
    fl_free((void *)(uintptr_t)job->block_text);
    fl_free((void *)(uintptr_t)job->files);
    fl_free((void *)(uintptr_t)job->metric_files);
    fl_free((void *)(uintptr_t)job->blocks);
    fl_free((void *)(uintptr_t)job->block_prov);
    if (job->rows != NULL) {
        struct fl_metric_row *rows = (struct fl_metric_row *)(uintptr_t)job->rows;
        for (size_t i = 0; i < job->n_rows; i++) {
            fl_free(rows[i].dim_names);
            fl_free(rows[i].dim_values);
        }
        fl_free(rows);
    }
    memset(job, 0, sizeof *job);
}


int
fl_query_job_read(const char *msg, size_t len, struct fl_query_job *job,
                  char *err, size_t errlen)
{
    struct reader r = { .p = msg, .len = len };
    int none = 0, rc = FL_OK;

    memset(job, 0, sizeof *job);
    if (len < MAGIC_LEN || memcmp(msg, magic, MAGIC_LEN) != 0) {
        snprintf(err, errlen, "query message: not a flowlake query (bad magic)");
        return FL_ECORRUPT;
    }
    r.off = MAGIC_LEN;
    job->archive_dir = get_str(&r, "archive folder");
    job->memory_limit = get_str(&r, "memory limit");
    job->max_memory = get_u(&r, 8, "max memory");
    job->timeout_s = (unsigned)get_u(&r, 4, "timeout");
    uint64_t format = get_u(&r, 4, "format");
    if (!r.bad && format > FL_OUTPUT_JSON)
        fail(&r, "format");
    job->format = (enum fl_output)format;
    job->sql = get_str(&r, "SQL");

    size_t n = get_count(&r, 9, 1, &none, "file count");
    if (!r.bad && !none) {
        job->has_files = 1;
        if ((rc = get_strings(&r, n, &job->files, &job->n_files)) < 0
            || (rc = get_strings(&r, get_count(&r, 9, 0, NULL,
                                               "metric file count"),
                                 &job->metric_files,
                                 &job->n_metric_files)) < 0) {
            fl_query_job_clear(job);
            return rc;
        }
        job->alarm_history = get_ostr(&r, "alarm history");
    }

    n = get_count(&r, 8, 0, NULL, "segment count");
    if (!r.bad && n > 0) {
        uint64_t *sizes = fl_calloc(n, sizeof *sizes);
        if ((job->segment_sizes = sizes) == NULL) {
            fl_query_job_clear(job);
            return FL_ENOMEM;
        }
        job->n_segments = n;
        for (size_t i = 0; i < n && !r.bad; i++)
            sizes[i] = get_u(&r, 8, "segment size");
    }

    n = get_count(&r, 3 * 8 + 1 + 2 * 8 + 2 + FL_PROV_N, 0, NULL,
                  "block count");
    if (!r.bad && n > 0) {
        struct fl_archive_block *blocks = fl_calloc(n, sizeof *blocks);
        struct fl_provenance *prov = fl_calloc(n, sizeof *prov);
        struct fl_query_text_ref *where = fl_calloc(n, sizeof *where);
        job->blocks = blocks;
        job->block_prov = prov;
        job->block_text = where;
        if (blocks == NULL || prov == NULL || where == NULL) {
            fl_query_job_clear(job);
            return FL_ENOMEM;
        }
        job->n_blocks = n;
        for (size_t i = 0; i < n && !r.bad; i++) {
            size_t at = r.off;
            where[i].seg = get_u(&r, 8, "block segment");
            where[i].off = get_u(&r, 8, "block offset");
            uint64_t text_len = get_u(&r, 8, "block length");
            /* Inside its segment's declared size (fl_query_job_map checks
             * that the segment has it), without overflow. */
            if (!r.bad && (where[i].seg >= job->n_segments
                           || where[i].off > job->segment_sizes[where[i].seg]
                           || text_len > job->segment_sizes[where[i].seg]
                                         - where[i].off)) {
                r.off = at;
                fail(&r, "block text place");
            }
            blocks[i].len = (size_t)text_len;
            blocks[i].hours_known = get_flag(&r, "block hours");
            blocks[i].hour_lo = (int64_t)get_u(&r, 8, "block hours");
            blocks[i].hour_hi = (int64_t)get_u(&r, 8, "block hours");
            blocks[i].format_spec = get_ostr(&r, "block format");
            blocks[i].source = get_ostr(&r, "block source");
            for (size_t k = 0; k < FL_PROV_N; k++)
                prov[i].v[k] = get_ostr(&r, "block provenance");
            blocks[i].prov = &prov[i];
        }
    }

    none = 0;
    n = get_count(&r, 44, 1, &none, "metric row count");
    if (!r.bad && !none) {
        struct fl_metric_row *rows = n ? fl_calloc(n, sizeof *rows) : NULL;
        if (n && rows == NULL) {
            fl_query_job_clear(job);
            return FL_ENOMEM;
        }
        job->rows = rows;
        job->n_rows = n;
        job->has_rows = 1;
        for (size_t i = 0; i < n && !r.bad && rc == 0; i++)
            rc = get_row(&r, &rows[i]) == FL_ENOMEM ? FL_ENOMEM : 0;
    }
    if (rc == 0 && !r.bad && r.off != len)
        fail(&r, "end of message");
    if (rc == 0 && r.bad) {
        snprintf(err, errlen, "query message: bad %s at byte %zu", r.what,
                 r.bad_off);
        rc = FL_ECORRUPT;
    }
    if (rc < 0)
        fl_query_job_clear(job);
    return rc;
}


int
fl_query_job_map(struct fl_query_job *job, int first_fd, char *err,
                 size_t errlen)
{
    if (job->n_segments == 0)
        return FL_OK;
    job->segment_maps = fl_calloc(job->n_segments, sizeof *job->segment_maps);
    if (job->segment_maps == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; i < job->n_segments; i++) {
        int fd = first_fd + (int)i;
        struct stat st;
        if (fstat(fd, &st) != 0) {
            int e = -errno;
            snprintf(err, errlen, "query message: shared segment %zu: %s", i,
                     fl_strerror(e));
            return e;
        }
        if (st.st_size < 0 || (uint64_t)st.st_size < job->segment_sizes[i]
            || job->segment_sizes[i] > SIZE_MAX) {
            snprintf(err, errlen, "query message: shared segment %zu holds "
                     "%lld bytes, not the %llu its blocks need", i,
                     (long long)st.st_size,
                     (unsigned long long)job->segment_sizes[i]);
            return FL_ECORRUPT;
        }
        /* A segment no block uses bytes of (blocks of no text) is not
         * mapped: mmap refuses a length of 0. */
        if (job->segment_sizes[i] > 0) {
            void *m = mmap(NULL, (size_t)job->segment_sizes[i], PROT_READ,
                           MAP_SHARED, fd, 0);
            if (m == MAP_FAILED) {
                int e = -errno;
                snprintf(err, errlen, "query message: cannot map shared "
                         "segment %zu: %s", i, fl_strerror(e));
                return e;
            }
            job->segment_maps[i] = m;
        }
        (void)close(fd);
    }
    struct fl_archive_block *blocks =
        (struct fl_archive_block *)(uintptr_t)job->blocks;
    for (size_t i = 0; i < job->n_blocks; i++) {
        const char *base = job->segment_maps[job->block_text[i].seg];
        blocks[i].text = base != NULL ? base + job->block_text[i].off : "";
    }
    return FL_OK;
}

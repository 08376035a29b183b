/* SPDX-License-Identifier: MIT
 *
 * worker.c -- `flowlake query-worker`, the process one query from the
 * network runs in (runner.h says why). It reads the job the server wrote,
 * puts a ceiling on its own memory, lowers its CPU priority, builds the
 * sandboxed session over exactly the snapshot in the job, runs the SQL and
 * writes the result to out_fd. Its exit status tells the server how the
 * query ended; a message goes to err_fd, and what the run read, returned
 * and where an error points to info_fd.
 *
 * The buffered records' text is not in the job: it is mapped, read-only,
 * from the server's shared segments (job.h), so that a query pays only for
 * the blocks it reads.
 *
 * It frees what it allocates before it exits, like every other command:
 * the sanitizer builds check the worker for leaks too.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../archive/live.h"
#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "runner.h"

/* A sanitizer reserves terabytes of address space for its shadow memory:
 * under one, a data ceiling would stop the worker before it starts. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FL_RLIMIT_USABLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FL_RLIMIT_USABLE 0
#endif
#endif
#ifndef FL_RLIMIT_USABLE
#define FL_RLIMIT_USABLE 1
#endif

/* Lower than the server's threads, so ingest and /healthz come first. */
#define WORKER_NICE 10

/* The job's bytes: mapped from the memfd the server wrote (no copy: the
 * snapshot of buffered records can be tens of MiB, and reading it into a
 * fresh heap buffer cost more than parsing it -- a page fault and a copy
 * per page), or read whole when fd is not a regular file (a pipe). */
struct job_text {
    const char *p;
    size_t      len;
    void       *map;        /* munmap(map, len) when not NULL */
    char       *heap;       /* fl_free when not NULL */
};

/* Reads all of a non-mappable fd into t->heap, one growing buffer. */
static int
read_stream(int fd, struct job_text *t)
{
    size_t cap = 1 << 16, len = 0;
    char *p = fl_malloc(cap);
    if (p == NULL)
        return FL_ENOMEM;
    for (;;) {
        if (len == cap) {
            char *np = fl_grow(p, &cap, len + 1, 1, 0);
            if (np == NULL) {
                fl_free(p);
                return FL_ENOMEM;
            }
            p = np;
        }
        ssize_t n = read(fd, p + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = -errno;
            fl_free(p);
            return e;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    t->p = t->heap = p;
    t->len = len;
    return FL_OK;
}


/* Read-only and private: the job's strings point into it and nothing
 * writes there. Not counted by RLIMIT_DATA (a read-only mapping), which is
 * right: the ceiling is for what the query itself allocates. */
static int
load_job(int fd, struct job_text *t)
{
    struct stat st;
    memset(t, 0, sizeof *t);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0
        || (uint64_t)st.st_size > SIZE_MAX)
        return read_stream(fd, t);
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED)
        return read_stream(fd, t);
    t->p = t->map = m;
    t->len = (size_t)st.st_size;
    return FL_OK;
}


static void
unload_job(struct job_text *t)
{
    if (t->map != NULL)
        (void)munmap(t->map, t->len);
    fl_free(t->heap);
    memset(t, 0, sizeof *t);
}


static void
put_error(int fd, const char *msg)
{
    /* The server reads what arrives; a failed write cannot be told. */
    (void)fl_fs_write_all(fd, msg, strlen(msg));
}


/* DuckDB reports a failed allocation as an "Out of Memory Error" (its own
 * limit, or the ceiling the worker set on itself). */
static int
is_out_of_memory(int rc, const char *msg)
{
    return rc == FL_ENOMEM
        || (msg != NULL && (strstr(msg, "Out of Memory") != NULL
                            || strstr(msg, "bad_alloc") != NULL
                            || strstr(msg, "Failed to allocate") != NULL));
}


static int
exit_status(int rc, const char *msg)
{
    if (rc == 0)
        return FL_QUERY_EXIT_OK;
    if (rc == FL_EPARSE)
        return FL_QUERY_EXIT_REFUSED;
    if (rc == -ETIMEDOUT)
        return FL_QUERY_EXIT_TIMEOUT;
    if (is_out_of_memory(rc, msg))
        return FL_QUERY_EXIT_MEMORY;
    if (rc == FL_EDB)
        return FL_QUERY_EXIT_ERROR;
    return FL_QUERY_EXIT_INTERNAL;
}


/* What the server adds to its answer (runner.h, fl_query_result.info):
 * one JSON object. It must fit in the pipe, which nobody reads before the
 * worker has exited: the columns are left out rather than block. */
#define MAX_INFO 60000

static void
put_info(int fd, const struct fl_query_job *job, const struct fl_query *q,
         const char *err)
{
    const struct fl_query_info *in = fl_query_last_info(q);
    char head[256];
    unsigned line = 0, column = 0;
    int n = snprintf(head, sizeof head, "{\"rows\":%lld,\"files\":%ld,"
                     "\"blocks\":%ld", in->rows, in->files, in->blocks);
    if (err != NULL && fl_query_error_position(job->sql, err, in->err_offset,
                                               &line, &column))
        n += snprintf(head + n, sizeof head - (size_t)n,
                      ",\"line\":%u,\"column\":%u", line, column);
    (void)fl_fs_write_all(fd, head, (size_t)n);
    if (in->columns != NULL && strlen(in->columns) < MAX_INFO - sizeof head) {
        (void)fl_fs_write_all(fd, ",\"columns\":", 11);
        (void)fl_fs_write_all(fd, in->columns, strlen(in->columns));
    }
    (void)fl_fs_write_all(fd, "}", 1);
}


static int
run_job(const struct fl_query_job *job, int out_fd, int info_fd, char **err)
{
    struct fl_live *live = NULL;
    struct fl_query *q = NULL;
    FILE *out = NULL;
    int rc;

    if ((rc = fl_live_create(job->blocks, job->n_blocks, &live, err)) < 0)
        return rc;
    /* The job's strings point into its message; open_files copies them. */
    struct fl_query_files files = {
        .flow = (char **)(uintptr_t)job->files, .n_flow = job->n_files,
        .metrics = (char **)(uintptr_t)job->metric_files,
        .n_metrics = job->n_metric_files,
        .alarm_history = (char *)(uintptr_t)job->alarm_history,
    };
    if ((rc = job->has_files
              ? fl_query_open_files(job->archive_dir, &files, live, &q, err)
              : fl_query_open_live(job->archive_dir, live, &q, err)) == 0
        && (!job->has_rows
            || (rc = fl_query_set_metrics(q, job->rows, job->n_rows,
                                          err)) == 0)
        && (rc = fl_query_sandbox(q, job->memory_limit, err)) == 0) {
        int fd = dup(out_fd);
        if (fd < 0 || (out = fdopen(fd, "w")) == NULL) {
            if (fd >= 0)
                close(fd);
            rc = -errno;
        } else {
            rc = fl_query_run_untrusted(q, job->sql, job->format, out,
                                        job->timeout_s, err);
            if (fclose(out) != 0 && rc == 0)
                rc = -errno;
        }
    }
    /* A failed write cannot be told to anyone: the answer only lacks
     * the headers then. */
    if (q != NULL)
        put_info(info_fd, job, q, rc < 0 ? *err : NULL);
    fl_query_close(q);
    fl_live_destroy(live);
    return rc;
}


int
fl_query_worker_main(int in_fd, int out_fd, int err_fd, int info_fd)
{
    struct fl_query_job job;
    struct job_text text;
    char *err = NULL;
    char why[256];
    int rc;

    /* A query must not outlive the server that asked for it (a kill -9 of
     * the server included). Spawned by a server that died meanwhile: the
     * parent is already init. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1) {
        put_error(err_fd, "query worker: its server is gone");
        return FL_QUERY_EXIT_INTERNAL;
    }
    rc = load_job(in_fd, &text);

    if (rc < 0) {
        snprintf(why, sizeof why, "query worker: cannot read its job: %s",
                 fl_strerror(rc));
        put_error(err_fd, why);
        return FL_QUERY_EXIT_INTERNAL;
    }
    if ((rc = fl_query_job_read(text.p, text.len, &job, why, sizeof why)) < 0
        || (rc = fl_query_job_map(&job, FL_QUERY_SEGMENT_FD, why,
                                  sizeof why)) < 0) {
        if (rc == FL_ENOMEM)
            snprintf(why, sizeof why, "query worker: out of memory");
        put_error(err_fd, why);
        fl_query_job_clear(&job);
        unload_job(&text);
        return FL_QUERY_EXIT_INTERNAL;
    }
    if (job.max_memory > 0 && FL_RLIMIT_USABLE) {
        /* Set after the job is mapped: the ceiling is for what the
         * query allocates (the records it parses from the snapshot
         * included). */
        struct rlimit rl = { job.max_memory, job.max_memory };
        if (setrlimit(RLIMIT_DATA, &rl) != 0) {
            snprintf(why, sizeof why, "query worker: cannot set its memory "
                     "ceiling: %s", strerror(errno));
            put_error(err_fd, why);
            fl_query_job_clear(&job);
            unload_job(&text);
            return FL_QUERY_EXIT_INTERNAL;
        }
    }
    /* Failing here only makes the query compete harder with ingest. */
    (void)setpriority(PRIO_PROCESS, 0, WORKER_NICE);

    rc = run_job(&job, out_fd, info_fd, &err);
    int status = exit_status(rc, err);
    if (rc < 0) {
        if (status == FL_QUERY_EXIT_MEMORY) {
            snprintf(why, sizeof why, "the query ran out of memory "
                     "(query.max_memory = %llu bytes, query.memory_limit = "
                     "%s): ", (unsigned long long)job.max_memory,
                     job.memory_limit);
            put_error(err_fd, why);
        }
        put_error(err_fd, err != NULL ? err : fl_strerror(rc));
    }
    fl_free(err);
    fl_query_job_clear(&job);
    unload_job(&text);
    return status;
}

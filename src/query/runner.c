/* SPDX-License-Identifier: MIT
 *
 * runner.c -- the server's side of a query process (runner.h): writes the
 * job into an anonymous in-memory file (memfd), starts the worker with it
 * as standard input, collects the result (capped) and the error message,
 * kills the worker at the time limit plus one second, and turns how it
 * ended into an HTTP status.
 *
 * The worker gets no descriptor of the server's but its job, its result
 * pipe, its error pipe and its info pipe (and stderr, for the sanitizers'
 * reports): everything from fd 5 up is closed in the child, so it cannot
 * hold a listening socket or a WAL file open. The info pipe is read only
 * after the worker has exited: what it writes there is small (worker.c
 * keeps it under the pipe's capacity).
 */
#define _GNU_SOURCE 1        /* memfd_create, posix_spawn ... closefrom_np */
#include "../core/fl_config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/fl_buf.h"
#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "runner.h"

extern char **environ;

/* The worker interrupts itself at the time limit; this is how much longer
 * the server waits before it kills it. */
#define KILL_GRACE_S 1.0
/* An error message longer than this is cut. */
#define MAX_ERROR 16384
/* The worker's info is smaller (worker.c); more is not believed. */
#define MAX_INFO 65536

struct collect {
    struct fl_buf b;
    size_t        max;          /* 0 = no ceiling */
    int           over;         /* more than max arrived (and was cut) */
};


/* Appends what fd has to c, up to c->max. Returns 1 at EOF, 0 when more
 * may come, <0 on error. */
static int
collect_some(int fd, struct collect *c)
{
    char chunk[65536];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -errno;
    if (n == 0)
        return 1;
    size_t take = (size_t)n;
    if (c->max > 0 && c->b.len + take > c->max) {
        take = c->max - c->b.len;
        c->over = 1;
    }
    int rc = fl_buf_add(&c->b, chunk, take);
    return rc < 0 ? rc : 0;
}


int
fl_query_job_file(const struct fl_query_job *job, int *out_fd)
{
    int fd = memfd_create("flowlake-query", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    int wfd = dup(fd);
    FILE *f = wfd >= 0 ? fdopen(wfd, "w") : NULL;
    int rc;
    if (f == NULL) {
        rc = -errno;
        if (wfd >= 0)
            close(wfd);
        close(fd);
        return rc;
    }
    rc = fl_query_job_write(f, job);
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && lseek(fd, 0, SEEK_SET) != 0)
        rc = -errno;
    if (rc < 0) {
        close(fd);
        return rc;
    }
    *out_fd = fd;
    return FL_OK;
}


/* The worker's descriptors: the job on 0, the result on 1, the error on
 * 3, the run's account on 4, and the job's shared segments from
 * FL_QUERY_SEGMENT_FD on; everything above is closed in the child. Each
 * segment is first duplicated above every target, so that no dup2 can
 * overwrite a descriptor a later one still has to copy. */
static int
spawn_worker(const char *exe, int in_fd, int out_fd, int err_fd, int info_fd,
             const int *seg_fds, size_t n_seg, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    char *argv[] = { (char *)"flowlake", (char *)"query-worker", NULL };
    int first_free = FL_QUERY_SEGMENT_FD + (int)n_seg;
    int *high = n_seg ? fl_calloc(n_seg, sizeof *high) : NULL;
    size_t n_high = 0;
    int rc;

    if (n_seg > 0 && high == NULL)
        return FL_ENOMEM;
    if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
        fl_free(high);
        return -rc;
    }
    for (; n_high < n_seg; n_high++) {
        high[n_high] = fcntl(seg_fds[n_high], F_DUPFD_CLOEXEC, first_free);
        if (high[n_high] < 0) {
            rc = errno;
            break;
        }
    }
    if (rc == 0
        && (rc = posix_spawn_file_actions_adddup2(&fa, in_fd, 0)) == 0
        && (rc = posix_spawn_file_actions_adddup2(&fa, out_fd, 1)) == 0
        && (rc = posix_spawn_file_actions_adddup2(&fa, err_fd, 3)) == 0
        && (rc = posix_spawn_file_actions_adddup2(&fa, info_fd, 4)) == 0) {
        for (size_t i = 0; i < n_seg && rc == 0; i++)
            rc = posix_spawn_file_actions_adddup2(&fa, high[i],
                                                  FL_QUERY_SEGMENT_FD
                                                  + (int)i);
        if (rc == 0)
            rc = posix_spawn_file_actions_addclosefrom_np(&fa, first_free);
        if (rc == 0)
            rc = posix_spawn(pid, exe ? exe : "/proc/self/exe", &fa, NULL,
                             argv, environ);
    }
    posix_spawn_file_actions_destroy(&fa);
    for (size_t i = 0; i < n_high; i++)
        close(high[i]);
    fl_free(high);
    return -rc;
}


/* Fills res from how the worker ended. */
static int
outcome(int status, int timed_out, struct collect *out,
        struct collect *err, const struct fl_query_limits *lim,
        struct fl_query_result *res)
{
    const char *text = err->b.len > 0 ? err->b.p : NULL;
    char msg[512];

    memset(res, 0, sizeof *res);
    if (timed_out) {
        res->http_status = 408;
        snprintf(msg, sizeof msg, "query interrupted after %u s (query.timeout)",
                 lim->timeout_s);
        res->error = fl_strdup(msg);
    } else if (out->over) {
        snprintf(msg, sizeof msg, "the result is larger than "
                 "query.max_result_bytes (%llu bytes): add a LIMIT, "
                 "aggregate, or select fewer columns",
                 (unsigned long long)lim->max_result_bytes);
        res->http_status = 400;
        res->error = fl_strdup(msg);
    } else if (WIFEXITED(status)) {
        switch (WEXITSTATUS(status)) {
        case FL_QUERY_EXIT_OK:
            res->http_status = 200;
            res->len = out->b.len;
            res->body = fl_buf_take(&out->b, NULL);
            return res->body == NULL ? FL_ENOMEM : FL_OK;
        case FL_QUERY_EXIT_REFUSED: res->http_status = 403; break;
        case FL_QUERY_EXIT_TIMEOUT: res->http_status = 408; break;
        case FL_QUERY_EXIT_MEMORY:  res->http_status = 400; break;
        case FL_QUERY_EXIT_ERROR:   res->http_status = 400; break;
        default:                    res->http_status = 500; break;
        }
        res->error = fl_strdup(text ? text : "the query failed");
    } else {
        /* Killed by a signal it did not expect: a crash, or the kernel's
         * out-of-memory killer. */
        res->http_status = 500;
        snprintf(msg, sizeof msg, "the query process ended with signal %d%s%s",
                 WTERMSIG(status), text ? ": " : " (out of memory?)",
                 text ? text : "");
        res->error = fl_strdup(msg);
    }
    fl_buf_free(&out->b);
    return res->error == NULL ? FL_ENOMEM : FL_OK;
}


int
fl_query_runner_run(const char *exe, const struct fl_query_job *job,
                    const int *seg_fds, const struct fl_query_limits *lim,
                    _Atomic pid_t *pid_slot, struct fl_query_result *res)
{
    int fd = -1;
    int rc = fl_query_job_file(job, &fd);
    if (rc < 0) {
        memset(res, 0, sizeof *res);
        return rc;
    }
    return fl_query_runner_run_fd(exe, fd, seg_fds, job->n_segments, lim,
                                  pid_slot, res);
}


/* What happened while the worker ran. */
struct watch {
    int killed;         /* SIGKILL sent, for whatever reason */
    int timed_out;      /* past query.timeout and the grace */
    int client_gone;    /* the client hung up */
};


/* Reads the worker's stdout and stderr until both are closed, killing it
 * at the deadline, when the client hangs up, or when its output passes
 * lim->max_result_bytes (no need to compute the rest). Returns 0 or the
 * first error (poll's -errno, collect_some's). */
static int
watch_worker(pid_t pid, int out_fd, int err_fd,
             const struct fl_query_limits *lim, struct collect *out,
             struct collect *err, struct watch *wt)
{
    double deadline = lim->timeout_s > 0
                    ? fl_time_mono() + lim->timeout_s + KILL_GRACE_S : 0;
    int out_open = 1, err_open = 1, rc = 0;

    while (out_open || err_open) {
        struct pollfd fds[3] = {
            { .fd = out_open ? out_fd : -1, .events = POLLIN },
            { .fd = err_open ? err_fd : -1, .events = POLLIN },
            /* Only the peer's hang-up: data it sends (a pipelined
             * request) is for libmicrohttpd, not read here. */
            { .fd = lim->watch_client && !wt->killed ? lim->client_fd : -1,
              .events = POLLRDHUP },
        };
        int wait_ms = -1;
        if (deadline > 0 && !wt->killed) {
            double left = deadline - fl_time_mono();
            wait_ms = left <= 0 ? 0 : (int)(left * 1000) + 1;
        }
        int n = poll(fds, 3, wait_ms);
        if (n < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        if (!wt->killed && deadline > 0 && fl_time_mono() >= deadline) {
            kill(pid, SIGKILL);
            wt->killed = wt->timed_out = 1;
        }
        if (n <= 0)
            continue;
        if (fds[2].fd >= 0
            && (fds[2].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
            kill(pid, SIGKILL);
            wt->killed = wt->client_gone = 1;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            int r = collect_some(fds[i].fd, i == 0 ? out : err);
            if (r != 0)
                *(i == 0 ? &out_open : &err_open) = 0;
            if (r < 0 && rc == 0)
                rc = r;
        }
        if (out->over && !wt->killed) {
            kill(pid, SIGKILL);    /* no need to compute the rest */
            wt->killed = 1;
            out_open = 0;
        }
    }
    return rc;
}


/* The worker has exited: all it wrote is in the pipe. Its read end is
 * nonblocking and the reads are counted, so a write end held elsewhere
 * cannot stall this. */
static void
drain_info(int fd, struct collect *info)
{
    for (int i = 0; i < 4 && collect_some(fd, info) == 0 && !info->over; i++)
        ;
}


/* The answer from the worker's exit and output (outcome), a client that
 * left (499), and its run information. Frees err and info unless kept. */
static int
make_result(int status, const struct watch *wt, struct collect *out,
            struct collect *err, struct collect *info,
            const struct fl_query_limits *lim, struct fl_query_result *res)
{
    int rc = outcome(status, wt->timed_out, out, err, lim, res);
    fl_buf_free(&err->b);
    if (rc == FL_OK && wt->client_gone && res->http_status != 200) {
        fl_free(res->error);
        res->http_status = 499;
        res->error = fl_strdup("the client closed the connection");
        if (res->error == NULL)
            rc = FL_ENOMEM;
    }
    if (rc == FL_OK && info->b.len > 0 && !info->over)
        res->info = fl_buf_take(&info->b, NULL);
    fl_buf_free(&info->b);
    return rc;
}


int
fl_query_runner_run_fd(const char *exe, int job_fd, const int *seg_fds,
                       size_t n_seg, const struct fl_query_limits *lim,
                       _Atomic pid_t *pid_slot, struct fl_query_result *res)
{
    struct collect out = { .max = lim->max_result_bytes };
    struct collect err = { .max = MAX_ERROR };
    struct collect info = { .max = MAX_INFO };
    int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, infop[2] = { -1, -1 };
    struct watch wt = { 0 };
    pid_t pid = 0;
    int rc = 0;

    memset(res, 0, sizeof *res);
    if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0
        || pipe2(infop, O_CLOEXEC) != 0
        || fcntl(infop[0], F_SETFL, O_NONBLOCK) != 0) {
        rc = -errno;
        goto fail;
    }
    rc = spawn_worker(exe, job_fd, outp[1], errp[1], infop[1], seg_fds,
                      n_seg, &pid);
    close(job_fd);
    close(outp[1]);
    close(errp[1]);
    close(infop[1]);
    job_fd = outp[1] = errp[1] = infop[1] = -1;
    if (rc < 0)
        goto fail;
    if (pid_slot != NULL)
        atomic_store(pid_slot, pid);
    /* After the pid is published: a cancel that came before it saw no
     * pid but set the flag, one that comes after finds the pid. */
    wt.killed = lim->cancel != NULL && atomic_load(lim->cancel);
    if (wt.killed)
        kill(pid, SIGKILL);

    rc = watch_worker(pid, outp[0], errp[0], lim, &out, &err, &wt);
    if (rc < 0 && !wt.killed)
        kill(pid, SIGKILL);
    /* Forgotten before it is reaped: until then the pid cannot be reused,
     * so a cancel racing with this kills nobody else. */
    if (pid_slot != NULL)
        atomic_store(pid_slot, 0);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(outp[0]);
    close(errp[0]);
    drain_info(infop[0], &info);
    close(infop[0]);
    if (rc < 0) {
        fl_buf_free(&out.b);
        fl_buf_free(&err.b);
        fl_buf_free(&info.b);
        return rc;
    }
    return make_result(status, &wt, &out, &err, &info, lim, res);

fail:
    if (job_fd >= 0)
        close(job_fd);
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0)
            close(outp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
        if (infop[i] >= 0)
            close(infop[i]);
    }
    {
        char msg[160];
        snprintf(msg, sizeof msg, "cannot start the query process: %s",
                 fl_strerror(rc));
        res->error = fl_strdup(msg);
    }
    return rc;
}


void
fl_query_runner_cancel(_Atomic pid_t *pid_slot)
{
    pid_t pid = atomic_load(pid_slot);
    if (pid > 0)
        kill(pid, SIGKILL);
}


void
fl_query_result_free(struct fl_query_result *res)
{
    fl_free(res->body);
    fl_free(res->error);
    fl_free(res->info);
    memset(res, 0, sizeof *res);
}

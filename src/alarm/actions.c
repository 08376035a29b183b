/* SPDX-License-Identifier: MIT
 *
 * actions.c -- the alarm actions, run on one worker thread so that
 * evaluation never waits for a network or a child process.
 *
 *   log      one line on stderr;
 *   command  /bin/sh -c COMMAND (posix_spawn) with FLOWLAKE_ALARM,
 *            FLOWLAKE_OLD_STATE, FLOWLAKE_NEW_STATE, FLOWLAKE_REASON and
 *            FLOWLAKE_METRIC in its environment and the JSON body on its
 *            stdin; success = exit status 0; killed after 30 s, or
 *            when destroy's drain time is over;
 *   webhook  POST of the JSON body through libcurl (an easy handle per
 *            attempt, CURLOPT_TIMEOUT_MS, CURLOPT_NOSIGNAL); success = a
 *            2xx answer; else up to `retries` more attempts after
 *            backoff, 2 x backoff, ... (each capped at 60 s).
 *
 * The queue is bounded (FL_ALARM_QUEUE_MAX): when full, the oldest job is
 * dropped and counted (a burst of transitions must not grow memory
 * without end). Backoff waits sleep on the queue's condition variable, so
 * destroy interrupts them once its drain time is over.
 *
 * SIGPIPE is blocked on the worker thread: a command that exits without
 * reading its stdin makes our write fail with EPIPE instead of killing
 * the process.
 */
#include "../core/fl_config.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/fl_curl.h"
#include "../core/fl_error.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "../core/fl_time.h"
#include "alarm_int.h"

extern char **environ;

#define COMMAND_TIMEOUT_S 30
#define BACKOFF_CAP_MS    60000

struct fl_alarm_worker {
    pthread_mutex_t       mu;
    pthread_cond_t        cv;
    pthread_t             thread;
    struct fl_alarm_job **ring;         /* FL_ALARM_QUEUE_MAX slots */
    size_t                head, count;
    int                   stopping;
    double                deadline;     /* fl_time_mono(); when stopping */
    uint64_t              dropped;
    fl_alarm_done_fn     *done;
    void                 *done_ctx;
};

void
fl_alarm_job_free(struct fl_alarm_job *j)
{
    if (j == NULL)
        return;
    fl_free(j->target);
    fl_free(j->body);
    fl_free(j->env_alarm);
    fl_free(j->env_old);
    fl_free(j->env_new);
    fl_free(j->env_reason);
    fl_free(j->env_metric);
    fl_free(j);
}


/* Whether the worker must give up now (stopping and past the drain). */
static int
expired(struct fl_alarm_worker *w)
{
    return w->stopping && fl_time_mono() >= w->deadline;
}


/* expired() under the lock, for the command and transfer loops. */
static int
expired_locked(struct fl_alarm_worker *w)
{
    pthread_mutex_lock(&w->mu);
    int e = expired(w);
    pthread_mutex_unlock(&w->mu);
    return e;
}


/* libcurl's progress callback: a non-zero return aborts the transfer once
 * destroy's drain time is over. */
static int
transfer_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
                  curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return expired_locked(ctx);
}


/* Sleeps ms, or less when destroy's drain time runs out. Returns 1 when
 * the job should be abandoned. */
static int
backoff_wait(struct fl_alarm_worker *w, uint64_t ms)
{
    double until = fl_time_mono() + (double)ms / 1000.0;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        double now = fl_time_mono();
        double end = until;
        if (w->stopping && w->deadline < end)
            end = w->deadline;
        if (now >= end)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double rel = end - now;
        ts.tv_sec += (time_t)rel;
        ts.tv_nsec += (long)((rel - (double)(time_t)rel) * 1e9);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    int give_up = expired(w);
    pthread_mutex_unlock(&w->mu);
    return give_up;
}


static size_t
discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}


/* One POST. Returns 1 on a 2xx answer. */
static int
post_once(struct fl_alarm_worker *w, const struct fl_alarm_job *j)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = NULL, *h2;
    long code = 0;
    int ok = 0;
    if (c == NULL)
        return 0;
    hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (hdr == NULL)
        goto out;
    h2 = curl_slist_append(hdr, "Expect:");    /* no 100-continue wait */
    if (h2 == NULL)
        goto out;
    hdr = h2;
    curl_easy_setopt(c, CURLOPT_URL, j->target);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)j->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "flowlake/" FL_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, transfer_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        ok = code >= 200 && code < 300;
        if (!ok)
            fl_log(FL_LOG_WARN, "alarm", "%s: webhook %s answered %ld",
                    j->env_alarm, j->target, code);
    } else {
        fl_log(FL_LOG_WARN, "alarm", "%s: webhook %s: %s", j->env_alarm,
                j->target, curl_easy_strerror(rc));
    }
out:
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return ok;
}


static int
run_webhook(struct fl_alarm_worker *w, const struct fl_alarm_job *j)
{
    uint64_t backoff = j->backoff_ms;
    if (fl_curl_init() != 0) {
        fl_log(FL_LOG_ERROR, "alarm", "%s: libcurl did not initialise",
                j->env_alarm);
        return 0;
    }
    for (unsigned attempt = 0;; attempt++) {
        if (post_once(w, j))
            return 1;
        if (attempt >= j->retries)
            break;
        if (backoff_wait(w, backoff))
            break;
        backoff = backoff * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : backoff * 2;
    }
    fl_log(FL_LOG_ERROR, "alarm", "%s: webhook %s failed", j->env_alarm,
            j->target);
    return 0;
}


/* "NAME=value" into a new string. */
static char *
env_pair(const char *name, const char *value)
{
    size_t a = strlen(name), b = strlen(value);
    char *s = fl_malloc(a + b + 2);
    if (s == NULL)
        return NULL;
    memcpy(s, name, a);
    s[a] = '=';
    memcpy(s + a + 1, value, b + 1);
    return s;
}


/* The variables a command gets (docs/alarms.md), in vals' order. */
static const char *const env_names[] = {
    "FLOWLAKE_ALARM", "FLOWLAKE_OLD_STATE", "FLOWLAKE_NEW_STATE",
    "FLOWLAKE_REASON", "FLOWLAKE_METRIC",
};
#define N_ENV (sizeof env_names / sizeof env_names[0])


/* The command's environment: ours, after the server's without ours.
 * *envp (the array) and ours[] (the strings) are the caller's to free,
 * also on failure. Returns 0 or FL_ENOMEM. */
static int
build_env(const struct fl_alarm_job *j, char ***envp, char *ours[N_ENV])
{
    const char *vals[N_ENV] = { j->env_alarm, j->env_old, j->env_new,
                                j->env_reason, j->env_metric };
    size_t n_env = 0, k = 0;

    while (environ != NULL && environ[n_env] != NULL)
        n_env++;
    char **ev = fl_calloc(n_env + N_ENV + 1, sizeof *ev);
    if (ev == NULL)
        return FL_ENOMEM;
    *envp = ev;
    for (size_t i = 0; i < n_env; i++) {
        int skip = 0;
        for (size_t e = 0; e < N_ENV; e++) {
            size_t nl = strlen(env_names[e]);
            if (strncmp(environ[i], env_names[e], nl) == 0
                && environ[i][nl] == '=')
                skip = 1;
        }
        if (!skip)
            ev[k++] = environ[i];
    }
    for (size_t e = 0; e < N_ENV; e++) {
        if ((ours[e] = env_pair(env_names[e], vals[e])) == NULL)
            return FL_ENOMEM;
        ev[k++] = ours[e];
    }
    ev[k] = NULL;
    return FL_OK;
}


/* Starts /bin/sh -c TARGET with stdin_fd as its standard input. Returns
 * 0 or -errno. */
static int
spawn_shell(const struct fl_alarm_job *j, int stdin_fd, char **envp,
            pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc;

    if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
        return -rc;
    if ((rc = posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0)) != 0
        || (rc = posix_spawnattr_init(&attr)) != 0)
        goto out_actions;
    /* The child gets a clean signal mask and default SIGPIPE, not the
     * worker's blocked SIGPIPE. */
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &def);
    /* Its own process group, so that a kill reaches what the shell
     * started too. */
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK
                                    | POSIX_SPAWN_SETSIGDEF
                                    | POSIX_SPAWN_SETPGROUP);
    char *argv[] = { "/bin/sh", "-c", j->target, NULL };
    rc = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, envp);
    if (rc != 0) {
        fl_log(FL_LOG_ERROR, "alarm", "%s: cannot run command: %s",
                j->env_alarm, strerror(rc));
        *pid = -1;
    }
    posix_spawnattr_destroy(&attr);
out_actions:
    posix_spawn_file_actions_destroy(&fa);
    return -rc;
}


/* The body is small (a pipe holds 64 KiB); a command that does not read
 * it gets what fits, never blocks us. */
static void
write_body(int fd, const char *body)
{
    fcntl(fd, F_SETFL, O_NONBLOCK);
    size_t len = strlen(body), off = 0;
    while (off < len) {
        ssize_t wr = write(fd, body + off, len - off);
        if (wr < 0 && errno == EINTR)
            continue;
        if (wr <= 0)
            break;
        off += (size_t)wr;
    }
}


/* Waits for the command, killing its process group after
 * COMMAND_TIMEOUT_S or when the worker shuts down. Returns its wait
 * status, or -1 when there is none to judge (killed, waitpid failed). */
static int
wait_command(struct fl_alarm_worker *w, const struct fl_alarm_job *j,
             pid_t pid)
{
    double deadline = fl_time_mono() + COMMAND_TIMEOUT_S;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (fl_time_mono() >= deadline || expired_locked(w)) {
            kill(-pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            fl_log(FL_LOG_WARN, "alarm", "%s: command killed (%s)",
                    j->env_alarm, fl_time_mono() >= deadline
                    ? "it ran for 30 s" : "shutting down");
            return -1;
        }
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}


/* 1 when the command exited 0; otherwise says how it ended, 0. */
static int
command_succeeded(const struct fl_alarm_job *j, int status)
{
    int ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok && status != -1 && WIFEXITED(status))
        fl_log(FL_LOG_WARN, "alarm", "%s: command exited with status %d",
                j->env_alarm, WEXITSTATUS(status));
    else if (!ok && status != -1 && WIFSIGNALED(status))
        fl_log(FL_LOG_WARN, "alarm", "%s: command killed by signal %d",
                j->env_alarm, WTERMSIG(status));
    return ok;
}


/* Runs a command action: 1 if it exited 0, else 0 (the worker's done
 * callback takes success as a flag, as from run_webhook). */
static int
run_command(struct fl_alarm_worker *w, const struct fl_alarm_job *j)
{
    char **envp = NULL;
    char *ours[N_ENV] = { NULL };
    int fds[2] = { -1, -1 };
    pid_t pid = -1;
    int ok = 0;

    if (build_env(j, &envp, ours) < 0 || pipe(fds) < 0)
        goto out;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    if (spawn_shell(j, fds[0], envp, &pid) < 0)
        goto out;
    close(fds[0]);
    fds[0] = -1;
    write_body(fds[1], j->body);
    close(fds[1]);
    fds[1] = -1;
    ok = command_succeeded(j, wait_command(w, j, pid));
out:
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    for (size_t e = 0; e < N_ENV; e++)
        fl_free(ours[e]);
    fl_free(envp);
    return ok;
}


static void *
worker_main(void *arg)
{
    struct fl_alarm_worker *w = arg;
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->count == 0 && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->count == 0 || expired(w))
            break;
        struct fl_alarm_job *j = w->ring[w->head];
        w->ring[w->head] = NULL;
        w->head = (w->head + 1) % FL_ALARM_QUEUE_MAX;
        w->count--;
        pthread_mutex_unlock(&w->mu);

        int ok = 1;
        switch (j->kind) {
        case FL_JOB_LOG:
            /* A change into ALARM is what an operator scans for. */
            fl_log(j->env_new != NULL && strcmp(j->env_new, "ALARM") == 0
                   ? FL_LOG_WARN : FL_LOG_INFO, "alarm", "%s", j->target);
            break;
        case FL_JOB_COMMAND:
            ok = run_command(w, j);
            break;
        case FL_JOB_WEBHOOK:
            ok = run_webhook(w, j);
            break;
        }
        if (j->kind != FL_JOB_LOG && w->done != NULL)
            w->done(w->done_ctx, j->alarm, ok);
        fl_alarm_job_free(j);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}


int
fl_alarm_worker_create(fl_alarm_done_fn *done, void *ctx,
                       struct fl_alarm_worker **out)
{
    struct fl_alarm_worker *w = fl_calloc(1, sizeof *w);
    int rc = FL_ENOMEM;
    if (w == NULL)
        return FL_ENOMEM;
    w->ring = fl_calloc(FL_ALARM_QUEUE_MAX, sizeof *w->ring);
    if (w->ring == NULL)
        goto fail;
    (void)fl_curl_init();     /* a failure is logged per job */
    w->done = done;
    w->done_ctx = ctx;
    if ((rc = -pthread_mutex_init(&w->mu, NULL)) < 0)
        goto fail;
    if ((rc = -pthread_cond_init(&w->cv, NULL)) < 0) {
        pthread_mutex_destroy(&w->mu);
        goto fail;
    }
    if ((rc = -pthread_create(&w->thread, NULL, worker_main, w)) < 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        goto fail;
    }
    *out = w;
    return FL_OK;
fail:
    fl_free(w->ring);
    fl_free(w);
    return rc;
}


int
fl_alarm_worker_push(struct fl_alarm_worker *w, struct fl_alarm_job *j,
                     size_t *dropped_alarm)
{
    int counted = 0;
    struct fl_alarm_job *drop = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->count == FL_ALARM_QUEUE_MAX) {
        drop = w->ring[w->head];
        w->ring[w->head] = NULL;
        w->head = (w->head + 1) % FL_ALARM_QUEUE_MAX;
        w->count--;
        w->dropped++;
    }
    w->ring[(w->head + w->count) % FL_ALARM_QUEUE_MAX] = j;
    w->count++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (drop != NULL) {
        fl_log(FL_LOG_WARN, "alarm", "%s: action queue full (%d), oldest "
                "action dropped", drop->env_alarm, FL_ALARM_QUEUE_MAX);
        if (drop->kind != FL_JOB_LOG) {
            *dropped_alarm = drop->alarm;
            counted = 1;
        }
        fl_alarm_job_free(drop);
    }
    return counted;
}


uint64_t
fl_alarm_worker_dropped(struct fl_alarm_worker *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t n = w->dropped;
    pthread_mutex_unlock(&w->mu);
    return n;
}


void
fl_alarm_worker_destroy(struct fl_alarm_worker *w, uint64_t drain_ms)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    w->deadline = fl_time_mono() + (double)drain_ms / 1000.0;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    for (size_t i = 0; i < w->count; i++)
        fl_alarm_job_free(w->ring[(w->head + i) % FL_ALARM_QUEUE_MAX]);
    fl_free(w->ring);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    fl_free(w);
}

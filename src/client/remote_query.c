/* SPDX-License-Identifier: MIT
 *
 * remote_query.c -- the client side of POST /api/query and of GETs of a
 * server's other endpoints (see remote_query.h), on libcurl: the body of a successful answer goes
 * straight to the output; the body of an error answer is collected (it is
 * small JSON, {"error": "..."}) and its message returned. A 429 (the
 * server runs query.max_concurrent queries already) is retried after the
 * server's Retry-After, a few times, before it is reported.
 */
#include "../core/fl_config.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "remote_query.h"

/* Error bodies larger than this are cut (they are one JSON message). */
#define ERROR_BODY_MAX 65536
/* A 429 is tried again this many times, waiting Retry-After (at most
 * MAX_RETRY_WAIT_S) between tries: about half a minute with the server's
 * Retry-After of 1 s, longer than the queries it waits for usually run. */
#define MAX_TRIES_429 30
#define MAX_RETRY_WAIT_S 5

struct sink {
    CURL  *curl;
    FILE  *out;
    int    checked;     /* status looked at */
    long   status;
    char  *err;         /* error body */
    size_t err_len;
    int    write_failed;
};


static size_t
on_data(char *p, size_t size, size_t n, void *ctx)
{
    struct sink *k = ctx;
    size_t len = size * n;
    if (!k->checked) {
        curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &k->status);
        k->checked = 1;
    }
    if (k->status == 200) {
        if (fwrite(p, 1, len, k->out) != len) {
            k->write_failed = 1;
            return 0;
        }
        return len;
    }
    size_t room = ERROR_BODY_MAX - k->err_len;
    size_t take = len < room ? len : room;
    char *q = fl_realloc(k->err, k->err_len + take + 1);
    if (q == NULL)
        return 0;
    k->err = q;
    memcpy(k->err + k->err_len, p, take);
    k->err_len += take;
    k->err[k->err_len] = '\0';
    return len;
}


/* One request to the server at base_url: POST of body to path when body
 * is not NULL, else GET of path; the 200 answer's body to out. */
static int
remote_call(const char *base_url, const char *path, const char *body,
            const char *bearer, FILE *out, char **out_err)
{
    struct sink k = { .out = out };
    struct curl_slist *hdrs = NULL;
    char *auth = NULL;
    char *url = NULL;
    char curl_err[CURL_ERROR_SIZE] = "";
    int rc = FL_OK;

    size_t blen = strlen(base_url);
    while (blen > 0 && base_url[blen - 1] == '/')
        blen--;
    size_t cap = blen + strlen(path) + 1;
    if ((url = fl_malloc(cap)) == NULL)
        return FL_ENOMEM;
    snprintf(url, cap, "%.*s%s", (int)blen, base_url, path);
    if ((k.curl = curl_easy_init()) == NULL) {
        fl_free(url);
        return FL_ENOMEM;
    }
    hdrs = curl_slist_append(NULL, body != NULL ? "Content-Type: text/plain"
                                                : "Accept: */*");
    if (hdrs != NULL && bearer != NULL && bearer[0] != '\0') {
        size_t alen = strlen(bearer) + 32;
        struct curl_slist *more = NULL;
        if ((auth = fl_malloc(alen)) != NULL) {
            snprintf(auth, alen, "Authorization: Bearer %s", bearer);
            more = curl_slist_append(hdrs, auth);
        }
        if (more == NULL) {
            curl_slist_free_all(hdrs);
            hdrs = NULL;
        }
    }
    if (hdrs == NULL) {
        curl_easy_cleanup(k.curl);
        fl_free(auth);
        fl_free(url);
        return FL_ENOMEM;
    }
    curl_easy_setopt(k.curl, CURLOPT_URL, url);
    if (body != NULL) {
        curl_easy_setopt(k.curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(k.curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)strlen(body));
    }
    curl_easy_setopt(k.curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(k.curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(k.curl, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(k.curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(k.curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc;
    for (int tries = 1;; tries++) {
        cc = curl_easy_perform(k.curl);
        if (!k.checked)
            curl_easy_getinfo(k.curl, CURLINFO_RESPONSE_CODE, &k.status);
        if (cc != CURLE_OK || k.status != 429 || tries == MAX_TRIES_429)
            break;
        curl_off_t wait_s = 1;
        if (curl_easy_getinfo(k.curl, CURLINFO_RETRY_AFTER, &wait_s) != CURLE_OK
            || wait_s < 1)
            wait_s = 1;
        if (wait_s > MAX_RETRY_WAIT_S)
            wait_s = MAX_RETRY_WAIT_S;
        struct timespec ts = { .tv_sec = (time_t)wait_s };
        nanosleep(&ts, NULL);
        fl_free(k.err);
        k.err = NULL;
        k.err_len = 0;
        k.checked = 0;
        k.status = 0;
    }

    if (k.write_failed) {
        rc = -EIO;
        *out_err = fl_strdup("cannot write the output");
    } else if (cc != CURLE_OK) {
        char msg[CURL_ERROR_SIZE + 300];
        snprintf(msg, sizeof msg, "cannot reach %.*s: %s", (int)blen, base_url,
                 curl_err[0] ? curl_err : curl_easy_strerror(cc));
        rc = FL_ECONFIG;
        *out_err = fl_strdup(msg);
    } else if (k.status != 200) {
        /* {"error": "..."}; anything else is shown as it came. */
        json_t *j = k.err ? json_loads(k.err, 0, NULL) : NULL;
        const char *m = j ? json_string_value(json_object_get(j, "error"))
                          : NULL;
        char msg[300];
        if (m == NULL) {
            snprintf(msg, sizeof msg, "the server answered HTTP %ld", k.status);
            m = k.err && k.err[0] ? k.err : msg;
        }
        *out_err = fl_strdup(m);
        json_decref(j);
        rc = FL_EDB;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(k.curl);
    fl_free(k.err);
    fl_free(auth);
    fl_free(url);
    return rc;
}


int
fl_remote_query(const char *base_url, const char *sql, const char *format,
                const char *bearer, FILE *out, char **out_err)
{
    char path[64];
    snprintf(path, sizeof path, "/api/query?format=%s", format);
    return remote_call(base_url, path, sql, bearer, out, out_err);
}


int
fl_remote_get(const char *base_url, const char *path, const char *bearer,
              FILE *out, char **out_err)
{
    return remote_call(base_url, path, NULL, bearer, out, out_err);
}

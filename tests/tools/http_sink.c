/* SPDX-License-Identifier: MIT
 *
 * http_sink.c -- a webhook receiver for the integration tests: listens on
 * 127.0.0.1 (a free port, written to PORT_FILE), answers the first FAILS
 * requests with 500 and the rest with 200, and appends every request as
 * one line "METHOD PATH BODY" to OUT_FILE (the body is the JSON an alarm
 * sends, one line). Runs until killed.
 *
 *   http_sink PORT_FILE OUT_FILE [FAILS]
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sink {
    const char *out;
    long        fails;
    long        seen;
};

struct req {
    char  *body;
    size_t len;
};


static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *data,
           size_t *size, void **req_cls)
{
    struct sink *s = cls;
    struct req *r = *req_cls;
    (void)version;
    if (r == NULL) {
        if ((r = calloc(1, sizeof *r)) == NULL)
            return MHD_NO;
        *req_cls = r;
        return MHD_YES;
    }
    if (*size > 0) {
        char *p = realloc(r->body, r->len + *size + 1);
        if (p == NULL)
            return MHD_NO;
        memcpy(p + r->len, data, *size);
        r->body = p;
        r->len += *size;
        r->body[r->len] = '\0';
        *size = 0;
        return MHD_YES;
    }
    FILE *f = fopen(s->out, "a");
    if (f != NULL) {
        fprintf(f, "%s %s %s\n", method, url, r->body ? r->body : "");
        fclose(f);
    }
    unsigned status = s->seen++ < s->fails ? 500 : 200;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}


static void
on_done(void *cls, struct MHD_Connection *c, void **req_cls,
        enum MHD_RequestTerminationCode toe)
{
    struct req *r = *req_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (r != NULL) {
        free(r->body);
        free(r);
    }
}


int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: http_sink PORT_FILE OUT_FILE [FAILS]\n");
        return 2;
    }
    struct sink s = { argv[2], argc > 3 ? strtol(argv[3], NULL, 10) : 0, 0 };
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, &s,
        MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "http_sink: cannot listen\n");
        return 1;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    FILE *f = fopen(argv[1], "w");
    if (f == NULL || info == NULL)
        return 1;
    fprintf(f, "%u\n", (unsigned)info->port);
    fclose(f);
    for (;;)
        pause();
}

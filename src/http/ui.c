/* SPDX-License-Identifier: MIT
 *
 * ui.c -- serves the web UI's static files (GET/HEAD /, /ui/...) from the
 * tables compiled into the binary (ui_assets.h).
 *
 * Each file exists twice in memory, plain and gzip-encoded, so a request
 * costs no compression and no copy: the response points at constant data.
 * The gzip form goes to a client whose Accept-Encoding admits it (every
 * browser); the plain form to the others (curl without --compressed).
 *
 * Caching: the URLs carry no version, so every response says
 * "Cache-Control: no-cache" -- the browser keeps the file but asks again
 * each time with If-None-Match, and an unchanged file costs a 304 with no
 * body. A new build changes the ETag (a hash of the content) and so is
 * picked up at the next load, never a stale mix of old and new files.
 *
 * The files hold no data, so they are served without the read key
 * (docs/security.md); every API call the page then makes carries it.
 */
#include "../core/fl_config.h"

#include <microhttpd.h>
#include <string.h>
#include <strings.h>

#include "../server/server_int.h"
#include "ui.h"

const struct fl_ui_asset *
fl_ui_find(const char *path)
{
    for (size_t i = 0; i < fl_ui_asset_count; i++)
        if (strcmp(fl_ui_assets[i].path, path) == 0)
            return &fl_ui_assets[i];
    return NULL;
}


static int
is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}


/* Whether the parameters of one list element (after the token, up to its
 * end) give q=0: "q=0", "q=0.0", "q=0.000". */
static int
q_is_zero(const char *p, const char *end)
{
    while (p < end) {
        while (p < end && (is_ows(*p) || *p == ';'))
            p++;
        const char *name = p;
        while (p < end && *p != '=' && *p != ';' && !is_ows(*p))
            p++;
        size_t nlen = (size_t)(p - name);
        while (p < end && is_ows(*p))
            p++;
        if (p >= end || *p != '=') {
            while (p < end && *p != ';')
                p++;
            continue;
        }
        p++;
        while (p < end && is_ows(*p))
            p++;
        const char *val = p;
        while (p < end && *p != ';' && !is_ows(*p))
            p++;
        if (nlen == 1 && (name[0] == 'q' || name[0] == 'Q')) {
            /* 0, 0., 0.0, 0.00, 0.000: zero; anything else is not. */
            const char *v = val;
            if (v >= p || *v != '0')
                return 0;
            for (v++; v < p; v++)
                if (*v != '.' && *v != '0')
                    return 0;
            return 1;
        }
    }
    return 0;
}


int
fl_ui_accepts_gzip(const char *ae)
{
    if (ae == NULL)
        return 0;
    int gzip = -1, star = -1;   /* -1 not named, 0 refused, 1 accepted */
    const char *p = ae;
    while (*p != '\0') {
        while (*p == ',' || is_ows(*p))
            p++;
        if (*p == '\0')
            break;
        const char *elem = p;
        while (*p != '\0' && *p != ',')
            p++;
        const char *end = p;
        const char *tok_end = elem;
        while (tok_end < end && *tok_end != ';' && !is_ows(*tok_end))
            tok_end++;
        size_t tlen = (size_t)(tok_end - elem);
        int ok = !q_is_zero(tok_end, end);
        if ((tlen == 4 && strncasecmp(elem, "gzip", 4) == 0)
            || (tlen == 6 && strncasecmp(elem, "x-gzip", 6) == 0))
            gzip = ok;
        else if (tlen == 1 && elem[0] == '*')
            star = ok;
    }
    /* A named gzip wins over "*" (RFC 9110 12.5.3). */
    return gzip >= 0 ? gzip : star > 0;
}


int
fl_ui_etag_matches(const char *inm, const char *etag)
{
    if (inm == NULL)
        return 0;
    size_t elen = strlen(etag);
    const char *p = inm;
    while (*p != '\0') {
        while (*p == ',' || is_ows(*p))
            p++;
        if (*p == '\0')
            break;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *tag = p;
        if (*p == '"') {
            /* An entity-tag is a quoted string without inner quotes. */
            p++;
            while (*p != '\0' && *p != '"')
                p++;
            if (*p == '"')
                p++;
        } else {
            while (*p != '\0' && *p != ',' && !is_ows(*p))
                p++;
        }
        size_t tlen = (size_t)(p - tag);
        if (tlen == elen && memcmp(tag, etag, elen) == 0)
            return 1;
        /* The gzip form's tag: etag's content + "-gz", quoted. */
        if (elen >= 2 && tlen == elen + 3
            && memcmp(tag, etag, elen - 1) == 0
            && memcmp(tag + elen - 1, "-gz\"", 4) == 0)
            return 1;
        while (*p != '\0' && *p != ',')
            p++;
    }
    return 0;
}


/* The headers every answer for a file carries; 0 when one could not be
 * added (out of memory in libmicrohttpd). */
static int
add_headers(struct MHD_Response *r, const struct fl_ui_asset *a,
            const char *etag, int gz)
{
    int html = strncmp(a->type, "text/html", 9) == 0;
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag) != MHD_YES
        || MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                                   "no-cache") != MHD_YES
        || MHD_add_response_header(r, MHD_HTTP_HEADER_VARY,
                                   "Accept-Encoding") != MHD_YES
        || MHD_add_response_header(r, "X-Content-Type-Options",
                                   "nosniff") != MHD_YES
        || MHD_add_response_header(r, "Referrer-Policy",
                                   "no-referrer") != MHD_YES)
        return 0;
    if (gz && MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING,
                                      "gzip") != MHD_YES)
        return 0;
    /* The page loads only its own files and talks only to this server:
     * no inline script or style, no other origin, never inside a frame
     * (styles set from script through element.style, as uPlot and the page scripts
     * do, are not inline styles). */
    if (html && MHD_add_response_header(r, "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; "
            "img-src 'self' data:; connect-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
            != MHD_YES)
        return 0;
    return 1;
}


enum MHD_Result
fl_ui_serve(struct MHD_Connection *c, const struct fl_ui_asset *a)
{
    int gz = fl_ui_accepts_gzip(MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING));
    /* The gzip form is another representation, so another ETag. */
    char etag[64];
    size_t elen = strlen(a->etag);
    if (elen < 2 || elen + 4 > sizeof etag)
        return MHD_NO;
    memcpy(etag, a->etag, elen + 1);
    if (gz)
        memcpy(etag + elen - 1, "-gz\"", 5);

    int not_modified = fl_ui_etag_matches(MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH), a->etag);
    struct MHD_Response *r;
    if (not_modified)
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    else
        r = MHD_create_response_from_buffer(
            gz ? a->gzip_len : a->plain_len,
            (void *)(uintptr_t)(gz ? a->gzip : a->plain),
            MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    if (!add_headers(r, a, etag, gz && !not_modified)
        || (!not_modified
            && MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                       a->type) != MHD_YES)) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    enum MHD_Result ret = MHD_queue_response(
        c, not_modified ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

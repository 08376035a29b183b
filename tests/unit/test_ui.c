/* SPDX-License-Identifier: MIT
 *
 * test_ui.c -- the web UI's static files (src/http/ui.c): the embedded
 * table has the files the page loads, each with a gzip form that inflates
 * back to the plain bytes, and the negotiation rules (Accept-Encoding,
 * If-None-Match) decide as RFC 9110 says.
 */
#include "../../src/core/fl_config.h"

#include <stdint.h>
#include <zlib.h>

#include "harness.h"
#include "http/ui.h"

static void
test_table(void)
{
    const char *want[] = { "/", "/ui/common.js", "/ui/dashboard.js",
                           "/ui/style.css", "/ui/uPlot.iife.min.js",
                           "/ui/uPlot.min.css" };
    /* Each page adds its own files; these are the ones every build has. */
    CHECK(fl_ui_asset_count >= sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct fl_ui_asset *a = fl_ui_find(want[i]);
        CHECK(a != NULL);
        CHECK(a->plain_len > 0);
        CHECK(a->gzip_len > 0 && a->gzip_len < a->plain_len);
        CHECK_EQ_INT(strlen(a->etag), 34);   /* quotes + 32 hex digits */
        CHECK(a->etag[0] == '"' && a->etag[33] == '"');
        CHECK(strstr(a->type, "charset=utf-8") != NULL);
        /* The gzip bytes are the plain bytes. */
        unsigned char *out = malloc(a->plain_len + 1);
        CHECK(out != NULL);
        z_stream z;
        memset(&z, 0, sizeof z);
        CHECK(inflateInit2(&z, 15 + 16) == Z_OK);
        z.next_in = (Bytef *)(uintptr_t)a->gzip;
        z.avail_in = (uInt)a->gzip_len;
        z.next_out = out;
        z.avail_out = (uInt)a->plain_len + 1;
        CHECK(inflate(&z, Z_FINISH) == Z_STREAM_END);
        CHECK_EQ_INT(z.total_out, a->plain_len);
        CHECK(memcmp(out, a->plain, a->plain_len) == 0);
        inflateEnd(&z);
        free(out);
    }
    CHECK_EQ_STR(fl_ui_find("/")->type, "text/html; charset=utf-8");
    CHECK_EQ_STR(fl_ui_find("/ui/dashboard.js")->type,
                 "text/javascript; charset=utf-8");
    CHECK(fl_ui_find("/ui/") == NULL);
    CHECK(fl_ui_find("/index.html") == NULL);
    CHECK(fl_ui_find("/ui/dashboard.js/") == NULL);
    CHECK(fl_ui_find("") == NULL);
}


static void
test_accepts_gzip(void)
{
    CHECK(!fl_ui_accepts_gzip(NULL));
    CHECK(!fl_ui_accepts_gzip(""));
    CHECK(fl_ui_accepts_gzip("gzip"));
    CHECK(fl_ui_accepts_gzip("gzip, deflate, br, zstd"));
    CHECK(fl_ui_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    CHECK(fl_ui_accepts_gzip("x-gzip"));
    CHECK(fl_ui_accepts_gzip("*"));
    CHECK(fl_ui_accepts_gzip("gzip;q=0.001"));
    CHECK(!fl_ui_accepts_gzip("gzip;q=0"));
    CHECK(!fl_ui_accepts_gzip("gzip; q=0.000"));
    CHECK(!fl_ui_accepts_gzip("identity"));
    CHECK(!fl_ui_accepts_gzip("deflate, br"));
    CHECK(!fl_ui_accepts_gzip("gzipped"));
    CHECK(!fl_ui_accepts_gzip("*;q=0"));
    /* A named gzip wins over the wildcard, either way. */
    CHECK(!fl_ui_accepts_gzip("*, gzip;q=0"));
    CHECK(fl_ui_accepts_gzip("*;q=0, gzip"));
}


static void
test_etag_matches(void)
{
    const char *e = "\"0123abcd\"";
    CHECK(!fl_ui_etag_matches(NULL, e));
    CHECK(!fl_ui_etag_matches("", e));
    CHECK(fl_ui_etag_matches("\"0123abcd\"", e));
    CHECK(fl_ui_etag_matches("W/\"0123abcd\"", e));
    CHECK(fl_ui_etag_matches("\"0123abcd-gz\"", e));
    CHECK(fl_ui_etag_matches("\"x\", \"0123abcd\"", e));
    CHECK(fl_ui_etag_matches("*", e));
    CHECK(!fl_ui_etag_matches("\"0123abce\"", e));
    CHECK(!fl_ui_etag_matches("\"0123abcd", e));
    CHECK(!fl_ui_etag_matches("0123abcd", e));
    CHECK(!fl_ui_etag_matches("\"0123abcd-br\"", e));
    CHECK(!fl_ui_etag_matches("\"0123abcdx\"", e));
    CHECK(!fl_ui_etag_matches("\"x\",\"y\"", e));
}


FL_TEST_MAIN(
    FL_TEST(test_table),
    FL_TEST(test_accepts_gzip),
    FL_TEST(test_etag_matches),
)

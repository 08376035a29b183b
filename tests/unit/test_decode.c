/* SPDX-License-Identifier: MIT
 *
 * test_decode.c -- the plain/gzip reader and the line splitter: gzip
 * edge cases (empty, concatenated, truncated, corrupt, padded, trailing
 * garbage), files and memory, line numbering and over-long lines.
 */
#include "../../src/core/fl_config.h"

#include <fcntl.h>
#include <zlib.h>

#include "harness.h"
#include "gzip_member.h"
#include "core/fl_error.h"
#include "core/fl_mem.h"
#include "decode/lines.h"
#include "decode/reader.h"

/* Reads everything from a memory reader; returns the final status. */
static int
read_all(const void *buf, size_t len, char *out, size_t cap, size_t *out_len,
         char *msg, size_t msglen)
{
    struct fl_reader *r = NULL;
    CHECK(fl_reader_open_mem(buf, len, &r) == 0);
    size_t total = 0;
    int rc;
    for (;;) {
        size_t n = 0;
        /* Small reads exercise the streaming paths. */
        size_t want = cap - total < 7 ? cap - total : 7;
        rc = fl_reader_read(r, out + total, want, &n);
        if (rc < 0 || n == 0)
            break;
        total += n;
        CHECK(total < cap);
    }
    out[total] = '\0';
    *out_len = total;
    if (msg != NULL)
        snprintf(msg, msglen, "%s", fl_reader_error(r));
    fl_reader_close(r);
    return rc;
}


static void
test_plain(void)
{
    char out[256];
    size_t n;
    const char *text = "line one\nline two\n";
    CHECK_EQ_INT(read_all(text, strlen(text), out, sizeof out, &n, NULL, 0), 0);
    CHECK_EQ_STR(out, text);
    /* Empty input: no bytes, no error. */
    CHECK_EQ_INT(read_all("", 0, out, sizeof out, &n, NULL, 0), 0);
    CHECK_EQ_INT(n, 0);
    /* A single 0x1f byte is plain text, not a broken gzip. */
    CHECK_EQ_INT(read_all("\x1f", 1, out, sizeof out, &n, NULL, 0), 0);
    CHECK_EQ_INT(n, 1);
}


static void
test_gzip_single_and_empty(void)
{
    char out[256];
    size_t n, glen;
    unsigned char *g = gz("hello\nworld\n", 12, &glen);
    CHECK_EQ_INT(read_all(g, glen, out, sizeof out, &n, NULL, 0), 0);
    CHECK_EQ_STR(out, "hello\nworld\n");
    free(g);
    /* A valid gzip member of zero bytes. */
    g = gz("", 0, &glen);
    CHECK_EQ_INT(read_all(g, glen, out, sizeof out, &n, NULL, 0), 0);
    CHECK_EQ_INT(n, 0);
    free(g);
}


static void
test_gzip_concatenated(void)
{
    char out[256];
    size_t n, l1, l2, l3;
    unsigned char *a = gz("a 1\n", 4, &l1);
    unsigned char *e = gz("", 0, &l2);
    unsigned char *b = gz("b 2\nc 3\n", 8, &l3);
    unsigned char buf[1024];
    memcpy(buf, a, l1);
    memcpy(buf + l1, e, l2);
    memcpy(buf + l1 + l2, b, l3);
    CHECK_EQ_INT(read_all(buf, l1 + l2 + l3, out, sizeof out, &n, NULL, 0), 0);
    CHECK_EQ_STR(out, "a 1\nb 2\nc 3\n");
    /* NUL padding after the last member is tolerated. */
    memset(buf + l1 + l2 + l3, 0, 16);
    CHECK_EQ_INT(read_all(buf, l1 + l2 + l3 + 16, out, sizeof out, &n, NULL, 0), 0);
    CHECK_EQ_STR(out, "a 1\nb 2\nc 3\n");
    /* Anything else after a member is an error, after the good data. */
    memcpy(buf + l1 + l2 + l3, "junk", 4);
    char msg[256];
    CHECK_EQ_INT(read_all(buf, l1 + l2 + l3 + 4, out, sizeof out, &n, msg, sizeof msg),
                 FL_ECORRUPT);
    CHECK(strstr(msg, "trailing data after the last gzip member") != NULL);
    free(a);
    free(e);
    free(b);
}


static void
test_gzip_truncated(void)
{
    char text[4096], out[8192], msg[256];
    size_t n, glen;
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + (i * 7) % 26);
    unsigned char *g = gz(text, sizeof text, &glen);
    /* Every truncation point is an error, never a silent short read. */
    for (size_t cut = 1; cut < glen; cut++) {
        int rc = read_all(g, cut, out, sizeof out, &n, msg, sizeof msg);
        if (cut < 2) {
            CHECK_EQ_INT(rc, 0);          /* one byte: plain text */
            continue;
        }
        if (rc != FL_ETRUNC) {
            fprintf(stderr, "  cut at %zu of %zu: rc %d (%s)\n", cut, glen, rc, msg);
            exit(1);
        }
        CHECK(strstr(msg, "gzip stream truncated at compressed byte") != NULL);
    }
    free(g);
}


static void
test_gzip_corrupt(void)
{
    char text[2048], out[4096], msg[256];
    size_t n, glen;
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('0' + i % 10);
    unsigned char *g = gz(text, sizeof text, &glen);
    /* Flip a byte of the trailer CRC: the data decodes but fails its check. */
    g[glen - 6] ^= 0xff;
    CHECK_EQ_INT(read_all(g, glen, out, sizeof out, &n, msg, sizeof msg), FL_ECORRUPT);
    CHECK(strstr(msg, "corrupt gzip data") != NULL);
    g[glen - 6] ^= 0xff;
    /* A bad block type in the deflate header. */
    g[10] = 0xff;
    CHECK_EQ_INT(read_all(g, glen, out, sizeof out, &n, msg, sizeof msg), FL_ECORRUPT);
    free(g);
}


static void
test_file_and_errors(void)
{
    char path[] = "/tmp/fl-test-decode-XXXXXX";
    int fd = mkstemp(path);
    size_t glen;
    CHECK(fd >= 0);
    unsigned char *g = gz("x y\n", 4, &glen);
    CHECK(write(fd, g, glen) == (ssize_t)glen);
    close(fd);
    free(g);

    struct fl_reader *r = NULL;
    char out[64];
    size_t n;
    CHECK_EQ_INT(fl_reader_open_path(path, &r), 0);
    CHECK_EQ_INT(fl_reader_enable_digest(r), 0);
    CHECK_EQ_INT(fl_reader_read(r, out, sizeof out, &n), 0);
    CHECK_EQ_MEM(out, n, "x y\n");
    CHECK(fl_reader_is_gzip(r));
    CHECK_EQ_INT(fl_reader_read(r, out, sizeof out, &n), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(fl_reader_raw_offset(r), glen);
    struct fl_digest d1, d2;
    CHECK_EQ_INT(fl_reader_digest(r, &d1), 0);
    CHECK_EQ_INT(fl_digest_file(path, &d2), 0);
    CHECK(d1.hi == d2.hi && d1.lo == d2.lo);
    fl_reader_close(r);
    unlink(path);

    r = NULL;
    CHECK_EQ_INT(fl_reader_open_path("/nonexistent/flowlake", &r), -ENOENT);
    CHECK(r == NULL);
}


static struct fl_lines *
lines_over(const char *text, size_t max_line)
{
    struct fl_reader *r = NULL;
    struct fl_lines *l = NULL;
    CHECK(fl_reader_open_mem(text, strlen(text), &r) == 0);
    CHECK(fl_lines_create(r, max_line, &l) == 0);
    return l;
}


static void
test_lines_blocks(void)
{
    struct fl_lines *l = lines_over("a\nb\r\nc\n\nd", 0);
    struct fl_line_block b;
    CHECK_EQ_INT(fl_lines_next(l, 2, &b), 0);
    CHECK_EQ_INT(b.nlines, 2);
    CHECK_EQ_INT(b.first_line, 1);
    CHECK_EQ_MEM(b.p, b.len, "a\nb\r\n");
    CHECK_EQ_INT(fl_lines_next(l, 10, &b), 0);
    CHECK_EQ_INT(b.nlines, 2);
    CHECK_EQ_INT(b.first_line, 3);
    CHECK_EQ_MEM(b.p, b.len, "c\n\n");
    /* Last line without a newline. */
    CHECK_EQ_INT(fl_lines_next(l, 10, &b), 0);
    CHECK_EQ_INT(b.nlines, 1);
    CHECK_EQ_INT(b.first_line, 5);
    CHECK_EQ_MEM(b.p, b.len, "d");
    CHECK_EQ_INT(fl_lines_next(l, 10, &b), 0);
    CHECK_EQ_INT(b.nlines, 0);
    fl_lines_destroy(l);
}


static void
test_lines_unread(void)
{
    struct fl_lines *l = lines_over("header\nrow\n", 0);
    struct fl_line_block b;
    CHECK_EQ_INT(fl_lines_next(l, 1, &b), 0);
    CHECK_EQ_MEM(b.p, b.len, "header\n");
    fl_lines_unread(l, &b);
    CHECK_EQ_INT(fl_lines_next(l, 5, &b), 0);
    CHECK_EQ_INT(b.first_line, 1);
    CHECK_EQ_MEM(b.p, b.len, "header\nrow\n");
    fl_lines_destroy(l);
}


static void
test_lines_bom(void)
{
    /* A byte-order mark at the start is skipped, also before a header
     * that is peeked at and given back; one further on is data. */
    struct fl_lines *l = lines_over("\xef\xbb\xbfheader\n\xef\xbb\xbfrow\n", 0);
    struct fl_line_block b;
    CHECK_EQ_INT(fl_lines_next(l, 1, &b), 0);
    CHECK_EQ_MEM(b.p, b.len, "header\n");
    fl_lines_unread(l, &b);
    CHECK_EQ_INT(fl_lines_next(l, 5, &b), 0);
    CHECK_EQ_INT(b.first_line, 1);
    CHECK_EQ_MEM(b.p, b.len, "header\n\xef\xbb\xbfrow\n");
    fl_lines_destroy(l);
    /* Inputs shorter than a mark, or only a mark. */
    l = lines_over("\xef\xbb", 0);
    CHECK_EQ_INT(fl_lines_next(l, 5, &b), 0);
    CHECK_EQ_MEM(b.p, b.len, "\xef\xbb");
    fl_lines_destroy(l);
    l = lines_over("\xef\xbb\xbf", 0);
    CHECK_EQ_INT(fl_lines_next(l, 5, &b), 0);
    CHECK_EQ_INT(b.nlines, 0);
    fl_lines_destroy(l);
}


static void
test_lines_overlong(void)
{
    /* max_line 64: a 200-byte line between two short ones. */
    char text[512];
    memset(text, 0, sizeof text);
    strcat(text, "short one\n");
    size_t o = strlen(text);
    memset(text + o, 'x', 200);
    strcpy(text + o + 200, "\nshort two\n");
    struct fl_lines *l = lines_over(text, 64);
    struct fl_line_block b;
    CHECK_EQ_INT(fl_lines_next(l, 10, &b), 0);
    CHECK_EQ_INT(b.nlines, 1);
    CHECK(!b.overlong);
    CHECK_EQ_INT(fl_lines_next(l, 10, &b), 0);
    CHECK(b.overlong);
    CHECK_EQ_INT(b.first_line, 2);
    CHECK_EQ_INT(b.len, 64);
    CHECK_EQ_INT(fl_lines_next(l, 10, &b), 0);
    CHECK(!b.overlong);
    CHECK_EQ_INT(b.first_line, 3);
    CHECK_EQ_MEM(b.p, b.len, "short two\n");
    CHECK_EQ_INT(fl_lines_next(l, 10, &b), 0);
    CHECK_EQ_INT(b.nlines, 0);
    fl_lines_destroy(l);
}


/* A large input through a file: bounded buffer, every line seen once. */
static void
test_lines_large_gzip_file(void)
{
    char path[] = "/tmp/fl-test-lines-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    gzFile gzf = gzdopen(fd, "wb1");
    CHECK(gzf != NULL);
    const unsigned long long total = 300000;
    for (unsigned long long i = 1; i <= total; i++)
        CHECK(gzprintf(gzf, "line %llu with some padding text\n", i) > 0);
    CHECK(gzclose(gzf) == Z_OK);

    struct fl_reader *r = NULL;
    struct fl_lines *l = NULL;
    CHECK_EQ_INT(fl_reader_open_path(path, &r), 0);
    CHECK_EQ_INT(fl_lines_create(r, 0, &l), 0);
    unsigned long long next = 1;
    size_t used_max = 0;
    for (;;) {
        struct fl_line_block b;
        CHECK_EQ_INT(fl_lines_next(l, 2048, &b), 0);
        if (b.nlines == 0)
            break;
        CHECK_EQ_INT(b.first_line, next);
        char want[64];
        snprintf(want, sizeof want, "line %llu ", next);
        CHECK(strncmp(b.p, want, strlen(want)) == 0);
        next += b.nlines;
        if (fl_mem_used() > used_max)
            used_max = fl_mem_used();
    }
    CHECK_EQ_INT(next, total + 1);
    CHECK(used_max < 4 * 1024 * 1024);
    fl_lines_destroy(l);
    unlink(path);
}


FL_TEST_MAIN(
    FL_TEST(test_plain),
    FL_TEST(test_gzip_single_and_empty),
    FL_TEST(test_gzip_concatenated),
    FL_TEST(test_gzip_truncated),
    FL_TEST(test_gzip_corrupt),
    FL_TEST(test_file_and_errors),
    FL_TEST(test_lines_blocks),
    FL_TEST(test_lines_unread),
    FL_TEST(test_lines_bom),
    FL_TEST(test_lines_overlong),
    FL_TEST(test_lines_large_gzip_file)
)

/* SPDX-License-Identifier: MIT
 *
 * reader.c -- plain or gzip byte streams (see reader.h), on ISA-L.
 *
 * Inflate is Intel's ISA-L (libisal, igzip): streaming, it checks the gzip
 * header and CRC trailer itself, and on x86-64 it inflates two to three
 * times as fast as zlib -- and decompression is the one sequential stage of
 * `convert`, so its speed bounds the whole pipeline (bench/README.md).
 * When a member ends (ISAL_BLOCK_FINISH) and more input follows, the next
 * bytes must be another gzip member; a run of NUL bytes after the last
 * member is tolerated (some tools pad to a block size), anything else is
 * reported as trailing garbage. Input that ends before a member's trailer is
 * a truncated stream.
 */
#include "../core/fl_config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <isa-l/igzip_lib.h>

#include "../core/fl_digest.h"
#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "reader.h"

#define IN_BUF (256 * 1024)
/* Compressed bytes per inflate step when peeking: a header line and a
 * few records (~1 KB of deflate output per 300 bytes of input). */
#define PEEK_IN 1024

struct fl_reader {
    int            fd;          /* -1 for memory input */
    int            own_fd;      /* close fd on destroy */
    const unsigned char *mem;   /* memory input */
    size_t         mem_len;
    size_t         mem_pos;

    unsigned char *in;          /* input buffer (file input) */
    size_t         in_len;      /* valid bytes in in[] / mem window */
    const unsigned char *next;  /* next unread input byte */
    size_t         avail;       /* unread input bytes */
    int            in_eof;

    int            peek;        /* fl_reader_set_peek */
    int            detected;    /* magic checked */
    int            gzip;
    int            member_done; /* between gzip members */
    struct inflate_state *z;    /* ISA-L state (~40 KB: heap, not stack) */

    uint64_t       raw_off;     /* input bytes consumed */
    struct fl_digest_state *dg; /* digest of the raw bytes, when asked */
    int            err;         /* sticky error code */
    char           msg[200];
};


/* One read() from the file into in[keep..), after the keep bytes already
 * at the front of in (a byte kept so that two magic bytes are seen
 * together); the digest gets only the new bytes. The one read of every
 * path, EINTR retried; on failure r->err and r->msg say so. */
static int
read_input(struct fl_reader *r, size_t keep)
{
    ssize_t n;
    do {
        n = read(r->fd, r->in + keep, IN_BUF - keep);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        r->err = -errno;
        snprintf(r->msg, sizeof r->msg, "read failed: %s", strerror(errno));
        return r->err;
    }
    if (n == 0)
        r->in_eof = 1;
    if (r->dg != NULL && n > 0)
        fl_digest_update(r->dg, r->in + keep, (size_t)n);
    r->next = r->in;
    r->avail = keep + (size_t)n;
    return FL_OK;
}


static int
fill(struct fl_reader *r)
{
    if (r->avail > 0 || r->in_eof)
        return FL_OK;
    if (r->fd < 0) {
        if (r->mem_pos == r->mem_len) {
            r->in_eof = 1;
            return FL_OK;
        }
        r->next = r->mem + r->mem_pos;
        r->avail = r->mem_len - r->mem_pos;
        if (r->dg != NULL)
            fl_digest_update(r->dg, r->next, r->avail);
        r->mem_pos = r->mem_len;
        return FL_OK;
    }
    return read_input(r, 0);
}


static int
fail(struct fl_reader *r, int code, const char *what)
{
    r->err = code;
    snprintf(r->msg, sizeof r->msg, "%s at compressed byte %llu", what,
             (unsigned long long)r->raw_off);
    return code;
}


static void
consume(struct fl_reader *r, size_t n)
{
    if (n == 0)
        return;                 /* next may still be NULL before any read */
    r->next += n;
    r->avail -= n;
    r->raw_off += n;
}


/* Decides plain vs gzip from the first two bytes. A one-byte input is
 * plain text: gzip needs at least a 10-byte header. */
static int
detect(struct fl_reader *r)
{
    int rc = fill(r);
    if (rc < 0)
        return rc;
    if (r->avail == 1 && !r->in_eof && r->fd >= 0) {
        /* Keep the first byte and read more so that both magic bytes are
         * seen together; IN_BUF is far larger than 2. */
        unsigned char first = r->next[0];
        r->in[0] = first;
        if ((rc = read_input(r, 1)) < 0)
            return rc;
    }
    r->detected = 1;
    r->gzip = r->avail >= 2 && r->next[0] == 0x1f && r->next[1] == 0x8b;
    if (r->gzip) {
        r->z = fl_malloc(sizeof *r->z);
        if (r->z == NULL)
            return fail(r, FL_ENOMEM, FL_OOM_TEXT);
        isal_inflate_init(r->z);
        r->z->crc_flag = ISAL_GZIP;
    }
    return FL_OK;
}


static int
read_plain(struct fl_reader *r, char *buf, size_t cap, size_t *out_n)
{
    int rc = fill(r);
    if (rc < 0)
        return rc;
    size_t n = r->avail < cap ? r->avail : cap;
    if (n == 0) {
        *out_n = 0;
        return FL_OK;
    }
    memcpy(buf, r->next, n);
    consume(r, n);
    *out_n = n;
    return FL_OK;
}


static const char *
isal_error(int rc)
{
    switch (rc) {
    case ISAL_INVALID_BLOCK:      return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:     return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:   return "invalid back-reference distance";
    case ISAL_INVALID_WRAPPER:    return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method";
    case ISAL_INCORRECT_CHECKSUM: return "CRC or length check failed";
    default:                      return "inflate error";
    }
}


static int
read_gzip(struct fl_reader *r, char *buf, size_t cap, size_t *out_n)
{
    struct inflate_state *z = r->z;
    uint32_t out_cap = (uint32_t)(cap > UINT32_MAX ? UINT32_MAX : cap);

    z->next_out = (uint8_t *)buf;
    z->avail_out = out_cap;

    while (z->avail_out > 0) {
        int rc = fill(r);
        if (rc < 0)
            return rc;
        if (r->member_done) {
            /* Between members: skip NUL padding, then expect a new one. */
            while (r->avail > 0 && r->next[0] == 0)
                consume(r, 1);
            if (r->avail == 0) {
                if (r->in_eof)
                    break;
                continue;
            }
            if (r->avail < 2 && !r->in_eof && r->fd >= 0) {
                /* Rare: a member boundary at the end of a read. Move the
                 * byte to the front and read more after it. */
                unsigned char b0 = r->next[0];
                r->in[0] = b0;
                if ((rc = read_input(r, 1)) < 0)
                    return fail(r, rc, "read failed");
            }
            if (r->avail < 2 || r->next[0] != 0x1f || r->next[1] != 0x8b)
                return fail(r, FL_ECORRUPT,
                            "trailing data after the last gzip member");
            isal_inflate_reset(z);
            z->crc_flag = ISAL_GZIP;
            r->member_done = 0;
        }
        if (r->avail == 0 && r->in_eof)
            return fail(r, FL_ETRUNC, "gzip stream truncated");

        uint32_t in_len = (uint32_t)(r->avail > UINT32_MAX ? UINT32_MAX
                                                           : r->avail);
        if (r->peek && in_len > PEEK_IN)
            in_len = PEEK_IN;
        z->next_in = (uint8_t *)(uintptr_t)r->next;
        z->avail_in = in_len;
        uint32_t out_before = z->avail_out;
        int zrc = isal_inflate(z);
        consume(r, in_len - z->avail_in);
        if (zrc < 0) {
            char what[120];
            snprintf(what, sizeof what, "corrupt gzip data (%s)",
                     isal_error(zrc));
            return fail(r, FL_ECORRUPT, what);
        }
        if (z->block_state == ISAL_BLOCK_FINISH) {
            r->member_done = 1;
            continue;
        }
        if (z->avail_in == 0 && r->in_eof && r->avail == 0
            && z->avail_out == out_before)
            return fail(r, FL_ETRUNC, "gzip stream truncated");
        /* Output produced: hand it out rather than blocking on more input,
         * so that a slow producer (stdin) still streams. */
        if (z->avail_out < out_cap && (r->avail == 0 || r->peek))
            break;
    }
    *out_n = out_cap - z->avail_out;
    return FL_OK;
}


void
fl_reader_set_peek(struct fl_reader *r)
{
    r->peek = 1;
}


int
fl_reader_read(struct fl_reader *r, char *buf, size_t cap, size_t *out_n)
{
    int rc;

    *out_n = 0;
    if (r->err)
        return r->err;
    if (cap == 0)
        return FL_OK;
    if (!r->detected && (rc = detect(r)) < 0)
        return rc;
    rc = r->gzip ? read_gzip(r, buf, cap, out_n)
                 : read_plain(r, buf, cap, out_n);
    if (rc < 0)
        *out_n = 0;
    return rc;
}


static int
create(struct fl_reader **out)
{
    struct fl_reader *r = fl_calloc(1, sizeof *r);
    if (r == NULL)
        return FL_ENOMEM;
    r->fd = -1;
    *out = r;
    return FL_OK;
}


int
fl_reader_open_path(const char *path, struct fl_reader **out)
{
    struct fl_reader *r = NULL;
    int rc = create(&r);
    if (rc < 0)
        return rc;
    r->in = fl_malloc(IN_BUF);
    if (r->in == NULL) {
        fl_reader_close(r);
        return FL_ENOMEM;
    }
    if (strcmp(path, "-") == 0) {
        r->fd = STDIN_FILENO;
    } else {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) {
            rc = -errno;
            fl_reader_close(r);
            return rc;
        }
        r->own_fd = 1;
#ifdef POSIX_FADV_SEQUENTIAL
        (void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    }
    *out = r;
    return FL_OK;
}


int
fl_reader_open_mem(const void *buf, size_t len, struct fl_reader **out)
{
    struct fl_reader *r = NULL;
    int rc = create(&r);
    if (rc < 0)
        return rc;
    r->mem = buf;
    r->mem_len = len;
    *out = r;
    return FL_OK;
}


int
fl_reader_enable_digest(struct fl_reader *r)
{
    if (r->dg != NULL)
        return FL_OK;
    return fl_digest_begin(&r->dg);
}


int
fl_reader_digest(const struct fl_reader *r, struct fl_digest *out)
{
    if (r->dg == NULL)
        return FL_ECONFIG;
    fl_digest_end(r->dg, out);
    return FL_OK;
}


int
fl_reader_is_gzip(const struct fl_reader *r)
{
    return r->gzip;
}


uint64_t
fl_reader_raw_offset(const struct fl_reader *r)
{
    return r->raw_off;
}


const char *
fl_reader_error(const struct fl_reader *r)
{
    return r->msg;
}


void
fl_reader_close(struct fl_reader *r)
{
    if (r == NULL)
        return;
    fl_free(r->z);
    if (r->own_fd && r->fd >= 0)
        close(r->fd);
    fl_digest_free(r->dg);
    fl_free(r->in);
    fl_free(r);
}

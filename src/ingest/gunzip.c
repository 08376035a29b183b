/* SPDX-License-Identifier: MIT
 *
 * gunzip.c -- bounded gunzip of a memory buffer (see gunzip.h), on the
 * ISA-L reader of src/decode/reader.c.
 *
 * The output buffer grows geometrically from a guess (four times the input,
 * at least 64 KiB) up to max_out. Inflating goes STEP bytes at a time and
 * after each step the output so far is compared with the compressed bytes
 * consumed so far (the reader's raw offset): past FL_GUNZIP_RATIO_FLOOR,
 * more than max_ratio times as much is refused there and then -- a bomb
 * costs about ratio * (what it took to see it is one), not max_out. When
 * exactly max_out bytes are out, one more byte is asked for: if the stream
 * has more, it is too big; if not, the reader has checked the trailer (CRC
 * and length) and the output is exactly at the ceiling, which is allowed.
 * No more than max_out bytes are ever inflated.
 */
#include "../core/fl_config.h"

#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../decode/reader.h"
#include "gunzip.h"
#include "ingest_int.h"

#define FIRST_GUESS (64 * 1024)

/* Output inflated per read, so the ceilings are checked at least this
 * often: a bomb is stopped within STEP bytes of crossing one. */
#define STEP (256 * 1024)


int
fl_gunzip_is_gzip(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}


/* True when out bytes from in compressed bytes break the ratio ceiling:
 * past the floor, more than ratio times the input consumed so far. */
static int
over_ratio(size_t out, uint64_t in, unsigned ratio)
{
    if (ratio == 0 || out <= FL_GUNZIP_RATIO_FLOOR)
        return 0;
    if (in > UINT64_MAX / ratio)
        return 0;
    return (uint64_t)out > in * ratio;
}


static int
reader_fail(struct fl_reader *r, int rc, struct fl_ingest_err *err)
{
    if (rc == FL_ENOMEM)
        fl_ingest_errf(err, "out of memory while inflating");
    else
        fl_ingest_errf(err, "%s", fl_reader_error(r));
    return rc;
}


int
fl_gunzip(const void *src, size_t len, size_t max_out, unsigned max_ratio,
          char **io_buf, size_t *io_cap, size_t *out_len,
          struct fl_ingest_err *err)
{
    struct fl_ingest_err dummy;
    struct fl_reader *r = NULL;
    size_t total = 0;
    int rc;

    if (err == NULL)
        err = &dummy;
    if (!fl_gunzip_is_gzip(src, len)) {
        fl_ingest_errf(err, "not gzip data (it does not start with 1f 8b)");
        return FL_ECORRUPT;
    }
    rc = fl_reader_open_mem(src, len, &r);
    if (rc < 0) {
        fl_ingest_errf(err, "out of memory while inflating");
        return rc;
    }
    for (;;) {
        size_t n = 0;
        if (total == *io_cap || total == max_out) {
            if (total == max_out) {
                /* At the ceiling: is there anything left? */
                char probe;
                rc = fl_reader_read(r, &probe, 1, &n);
                if (rc < 0) {
                    rc = reader_fail(r, rc, err);
                    goto out;
                }
                if (n > 0) {
                    fl_ingest_errf(err, "gzip data inflates to more than"
                                   " %zu bytes (the limit)", max_out);
                    rc = FL_ETOOBIG;
                    goto out;
                }
                break;
            }
            /* Doubling only after the buffer was filled -- and every
             * STEP of that filling passed the ratio check -- keeps the
             * buffer within twice what the ceilings allowed out. */
            size_t want = *io_cap * 2;
            if (want < FIRST_GUESS)
                want = FIRST_GUESS;
            if (*io_cap == 0 && len <= SIZE_MAX / 4 && want < len * 4)
                want = len * 4;
            if (want > max_out)
                want = max_out;
            rc = fl_ingest_reserve(io_buf, io_cap, want);
            if (rc < 0) {
                fl_ingest_errf(err, "out of memory while inflating");
                goto out;
            }
            continue;
        }
        size_t room = (*io_cap < max_out ? *io_cap : max_out) - total;
        if (room > STEP)
            room = STEP;
        rc = fl_reader_read(r, *io_buf + total, room, &n);
        if (rc < 0) {
            rc = reader_fail(r, rc, err);
            goto out;
        }
        if (n == 0)
            break;
        total += n;
        if (over_ratio(total, fl_reader_raw_offset(r), max_ratio)) {
            fl_ingest_errf(err, "gzip data inflates to more than %u times"
                           " its compressed size (%zu bytes from the first"
                           " %llu compressed bytes)", max_ratio, total,
                           (unsigned long long)fl_reader_raw_offset(r));
            rc = FL_ETOOBIG;
            goto out;
        }
    }
    *out_len = total;
    rc = FL_OK;
out:
    fl_reader_close(r);
    return rc;
}

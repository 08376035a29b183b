/* SPDX-License-Identifier: MIT
 *
 * fuzz_wal.c -- libFuzzer target for WAL recovery: the input is the byte
 * content of a segment file (wal-00000000000000000001.log), written into
 * a temporary WAL directory, then
 *   1. fl_wal_scan reports on it without changing it;
 *   2. fl_wal_open agrees: it succeeds exactly when the scan found no
 *      corruption, replays records 1, 2, 3, ... and as many as the scan
 *      counted, and fails with FL_ECORRUPT otherwise;
 *   3. fl_wal_open with FL_WAL_REPAIR always succeeds with the same
 *      records, and an append after it lands right behind them;
 *   4. a plain reopen then finds a clean WAL with one record more;
 *   5. no allocation is left behind.
 * Any broken promise aborts. Syncs are skipped (a test hook): this is
 * about the parser and the recovery logic, not the disk.
 */
#include "../src/core/fl_config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/core/fl_error.h"
#include "../src/core/fl_fs.h"
#include "../src/core/fl_mem.h"
#include "../src/wal/wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[128];

struct replay {
    uint64_t n;
    uint64_t last;
};


static int
no_sync(int fd)
{
    (void)fd;
    return 0;
}


static int
on_record(void *ctx, uint64_t seq, unsigned kind, const void *p, size_t len)
{
    struct replay *r = ctx;
    volatile unsigned sum = kind;
    if (seq != r->last + 1)
        abort();
    for (size_t i = 0; i < len; i++)
        sum += ((const unsigned char *)p)[i];
    (void)sum;
    r->last = seq;
    r->n++;
    return 0;
}


static void
remove_dir(void)
{
    fl_fs_remove_tree(dir);
}


static void
setup_dir(void)
{
    if (dir[0] == '\0') {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                                                         : "/tmp";
        snprintf(dir, sizeof dir, "%s/fl-fuzz-wal-XXXXXX", base);
        if (mkdtemp(dir) == NULL)
            abort();
        atexit(remove_dir);
    }
    if (fl_fs_remove_tree(dir) < 0 || fl_fs_mkdirs(dir) < 0)
        abort();
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl_wal_options opts = { .sync_fn = no_sync };
    struct fl_wal_recovery scan, rec;
    struct replay r = { 0, 0 };
    struct fl_wal *w = NULL;
    size_t before = fl_mem_used();
    char path[256];
    uint64_t seq = 0;
    int rc, fd;

    setup_dir();
    snprintf(path, sizeof path, "%s/wal-00000000000000000001.log", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || fl_fs_write_all(fd, data, size) < 0)
        abort();
    close(fd);

    /* 1 */
    if (fl_wal_scan(dir, NULL, NULL, &scan) < 0)
        abort();
    if (scan.records > 0 && (scan.first_seq != 1
                             || scan.last_seq != scan.records))
        abort();
    if ((scan.damage == FL_WAL_DAMAGE_NONE) != (scan.reason == NULL))
        abort();
    if (scan.dropped_bytes > size)
        abort();

    /* 2 */
    rc = fl_wal_open(dir, &opts, on_record, &r, &rec, &w);
    if (scan.damage == FL_WAL_DAMAGE_CORRUPT) {
        if (rc != FL_ECORRUPT || r.n != 0)
            abort();
    } else {
        if (rc != 0 || r.n != scan.records || rec.next_seq != r.n + 1)
            abort();
        if (fl_wal_close(w) != 0)
            abort();
    }

    /* 3: the scan now sees at most a clean log (a torn tail was cut). */
    opts.flags = FL_WAL_REPAIR;
    r.n = r.last = 0;
    w = NULL;
    if (fl_wal_open(dir, &opts, on_record, &r, &rec, &w) != 0)
        abort();
    if (r.n != scan.records || rec.next_seq != r.n + 1)
        abort();
    if (fl_wal_append(w, 1, "fuzz", 4, &seq) != 0 || seq != r.n + 1)
        abort();
    if (fl_wal_commit(w, seq) != 0 || fl_wal_close(w) != 0)
        abort();

    /* 4 */
    opts.flags = 0;
    r.n = r.last = 0;
    w = NULL;
    if (fl_wal_open(dir, &opts, on_record, &r, &rec, &w) != 0)
        abort();
    if (rec.damage != FL_WAL_DAMAGE_NONE || r.n != scan.records + 1)
        abort();
    if (fl_wal_close(w) != 0)
        abort();

    /* 5 */
    if (fl_mem_used() != before)
        abort();
    return 0;
}

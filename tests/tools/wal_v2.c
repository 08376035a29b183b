/* SPDX-License-Identifier: MIT
 *
 * wal_v2.c -- writes a write-ahead log as the server before provenance
 * did, for the upgrade test (test_serve_provenance.sh): one block record
 * of version 2 (36-byte header, no provenance section), byte by byte as
 * that version's encoder laid it out, holding the lines of TEXT_FILE in
 * the default format, as if POST /ingest had taken them.
 *
 *   wal_v2 WAL_DIR TEXT_FILE
 */
#include "../../src/core/fl_config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/fl_endian.h"
#include "core/fl_mem.h"
#include "wal/wal.h"

int
main(int argc, char **argv)
{
    static char text[65536];
    static unsigned char rec[65536 + 128];
    const char *source = "POST /ingest from 127.0.0.1";
    if (argc != 3) {
        fprintf(stderr, "usage: wal_v2 WAL_DIR TEXT_FILE\n");
        return 2;
    }
    FILE *f = fopen(argv[2], "rb");
    if (f == NULL) {
        perror(argv[2]);
        return 1;
    }
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    uint64_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += text[i] == '\n';

    size_t s = strlen(source);
    memset(rec, 0, 36);
    rec[0] = 2;                                /* version */
    fl_put_le16(rec + 4, 0);                   /* source kind: /ingest */
    fl_put_le16(rec + 6, 0);                   /* default format */
    fl_put_le16(rec + 8, (unsigned)s);
    fl_put_le16(rec + 10, 0);                  /* piece 0 */
    fl_put_le64(rec + 12, lines);
    fl_put_le32(rec + 20, 0);                  /* no dedupe keys */
    fl_put_le16(rec + 24, 1);                  /* of 1 */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    fl_put_le64(rec + 28, (uint64_t)now.tv_sec * 1000);
    memcpy(rec + 36, source, s);
    memcpy(rec + 36 + s, text, n);

    struct fl_wal *w = NULL;
    uint64_t seq = 0;
    int rc = fl_wal_open(argv[1], NULL, NULL, NULL, NULL, &w);
    if (rc == 0)
        rc = fl_wal_append(w, 1, rec, 36 + s + n, &seq);
    if (rc == 0)
        rc = fl_wal_commit(w, seq);
    int crc = w != NULL ? fl_wal_close(w) : 0;
    if (rc < 0 || crc < 0) {
        fprintf(stderr, "wal_v2: %s: error %d\n", argv[1], rc < 0 ? rc : crc);
        return 1;
    }
    return 0;
}

/* SPDX-License-Identifier: MIT
 *
 * fuzz_query_job.c -- libFuzzer target for the query message a server
 * hands its query worker (src/query/job.h). The input is a message; the
 * decoder must refuse it or accept it without reading out of bounds, and
 * an accepted message must encode back to exactly the same bytes (the
 * format has one spelling of each job), with nothing left allocated.
 */
#include "../src/core/fl_config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/fl_error.h"
#include "../src/query/job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan sees any read past the end. */
    char *msg = malloc(size ? size : 1);
    struct fl_query_job job;
    char err[160];
    if (msg == NULL)
        return 0;
    memcpy(msg, data, size);
    int rc = fl_query_job_read(msg, size, &job, err, sizeof err);
    if (rc == 0) {
        char *again = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&again, &len);
        if (f == NULL || fl_query_job_write(f, &job) != 0 || fclose(f) != 0)
            abort();
        if (len != size || memcmp(again, msg, size) != 0)
            abort();
        free(again);
        fl_query_job_clear(&job);
    } else if (rc != FL_ECORRUPT && rc != FL_ENOMEM) {
        abort();
    }
    free(msg);
    return 0;
}

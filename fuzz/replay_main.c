/* SPDX-License-Identifier: MIT
 *
 * replay_main.c -- runs a libFuzzer target over a committed corpus without
 * libFuzzer (SQLite fuzzcheck style), so that `make check` exercises every
 * fuzz target with gcc, and under ASan/UBSan with `make SANITIZE=...`.
 * Usage: <target>-replay DIR|FILE ...; prints "N passed, 0 failed" (a
 * crash aborts the process, which the runner counts as a failure).
 */
#include "../src/core/fl_config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    if (buf == NULL) {
        fclose(f);
        return -1;
    }
    for (;;) {
        if (len == cap) {
            uint8_t *p = realloc(buf, cap *= 2);
            if (p == NULL) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = p;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    /* Copy to an exact-size buffer so ASan sees reads past the end. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

int
main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            perror(argv[i]);
            failed++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) == 0) passed++; else failed++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        if (d == NULL) {
            failed++;
            continue;
        }
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            if (run_file(path) == 0) passed++; else failed++;
        }
        closedir(d);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

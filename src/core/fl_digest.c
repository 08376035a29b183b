/* SPDX-License-Identifier: MIT
 *
 * fl_digest.c -- XXH3-128 content digests (see fl_digest.h).
 */
#include "fl_config.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <xxhash.h>

#include "fl_digest.h"
#include "fl_error.h"
#include "fl_mem.h"

struct fl_digest_state {
    XXH3_state_t *x;
};


int
fl_digest_begin(struct fl_digest_state **out)
{
    struct fl_digest_state *s = fl_calloc(1, sizeof *s);
    if (s == NULL)
        return FL_ENOMEM;
    s->x = XXH3_createState();
    if (s->x == NULL || XXH3_128bits_reset(s->x) != XXH_OK) {
        fl_digest_free(s);
        return FL_ENOMEM;
    }
    *out = s;
    return FL_OK;
}


void
fl_digest_update(struct fl_digest_state *s, const void *p, size_t len)
{
    (void)XXH3_128bits_update(s->x, p, len);
}


void
fl_digest_end(struct fl_digest_state *s, struct fl_digest *out)
{
    XXH128_hash_t h = XXH3_128bits_digest(s->x);
    out->hi = h.high64;
    out->lo = h.low64;
}


void
fl_digest_free(struct fl_digest_state *s)
{
    if (s == NULL)
        return;
    if (s->x != NULL)
        XXH3_freeState(s->x);
    fl_free(s);
}


int
fl_digest_file(const char *path, struct fl_digest *out)
{
    struct fl_digest_state *s = NULL;
    char *buf = NULL;
    int fd = -1, rc;
    const size_t cap = 1 << 20;

    if ((rc = fl_digest_begin(&s)) < 0)
        return rc;
    buf = fl_malloc(cap);
    if (buf == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            goto out;
        }
        if (n == 0)
            break;
        fl_digest_update(s, buf, (size_t)n);
    }
    fl_digest_end(s, out);
    rc = FL_OK;
out:
    if (fd >= 0)
        close(fd);
    fl_free(buf);
    fl_digest_free(s);
    return rc;
}


void
fl_digest_hex(const struct fl_digest *d, char out[FL_DIGEST_HEX])
{
    snprintf(out, FL_DIGEST_HEX, "%016llx%016llx",
             (unsigned long long)d->hi, (unsigned long long)d->lo);
}


int
fl_digest_from_hex(const char *hex, struct fl_digest *out)
{
    uint64_t part[2] = { 0, 0 };
    for (int i = 0; i < 32; i++) {
        char c = hex[i];
        unsigned v;
        if (c >= '0' && c <= '9')
            v = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = (unsigned)(c - 'a' + 10);
        else
            return FL_EPARSE;
        part[i / 16] = part[i / 16] << 4 | v;
    }
    out->hi = part[0];
    out->lo = part[1];
    return FL_OK;
}

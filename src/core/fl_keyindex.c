/* SPDX-License-Identifier: MIT
 *
 * fl_keyindex.c -- the key index of fl_keyindex.h. At most half full, so
 * a probe ends soon; grown by rehashing every key from the caller's array.
 */
#include "fl_config.h"

#include <string.h>

#include <xxhash.h>

#include "fl_error.h"
#include "fl_keyindex.h"
#include "fl_mem.h"


static size_t
home(const char *key, size_t n_slots)
{
    return (size_t)XXH3_64bits(key, strlen(key)) & (n_slots - 1);
}


static int
grow(struct fl_keyindex *ix, fl_keyindex_key_fn *key_of, const void *ctx)
{
    size_t n = ix->n_slots ? ix->n_slots * 2 : 256;
    if (n > SIZE_MAX / sizeof *ix->slots || ix->n >= UINT32_MAX)
        return FL_ENOMEM;
    uint32_t *slots = fl_calloc(n, sizeof *slots);
    if (slots == NULL)
        return FL_ENOMEM;
    for (size_t i = 0; i < ix->n; i++) {
        size_t h = home(key_of(ctx, (uint32_t)i), n);
        while (slots[h] != 0)
            h = (h + 1) & (n - 1);
        slots[h] = (uint32_t)i + 1;
    }
    fl_free(ix->slots);
    ix->slots = slots;
    ix->n_slots = n;
    return FL_OK;
}


long
fl_keyindex_find(struct fl_keyindex *ix, const char *key,
                 fl_keyindex_key_fn *key_of, const void *ctx, size_t *slot)
{
    int rc;
    if (2 * (ix->n + 1) > ix->n_slots && (rc = grow(ix, key_of, ctx)) < 0)
        return rc;
    size_t h = home(key, ix->n_slots);
    for (; ix->slots[h] != 0; h = (h + 1) & (ix->n_slots - 1))
        if (strcmp(key_of(ctx, ix->slots[h] - 1), key) == 0)
            return (long)ix->slots[h] - 1;
    *slot = h;
    return -1;
}


void
fl_keyindex_put(struct fl_keyindex *ix, size_t slot, uint32_t pos)
{
    ix->slots[slot] = pos + 1;
    ix->n++;
}


void
fl_keyindex_free(struct fl_keyindex *ix)
{
    fl_free(ix->slots);
    memset(ix, 0, sizeof *ix);
}

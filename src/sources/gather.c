/* SPDX-License-Identifier: MIT
 *
 * gather.c -- a delivery's lines, keys and provenance gathered into one
 * body (see gather.h).
 */
#include "../core/fl_config.h"

#include <string.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "../pipeline/dedupe.h"
#include "gather.h"

/* Longest CloudWatch Logs name kept as provenance (bytes). */
#define PROV_MAX_VALUE 1024


void
fl_gather_init(struct fl_gather *g, struct fl_dedupe *dedupe,
               uint64_t wait_ms)
{
    memset(g, 0, sizeof *g);
    g->dedupe = dedupe;
    g->wait_ms = wait_ms;
}


static int
same(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}


static void
drop_segs_from(struct fl_gather *g, size_t off)
{
    while (g->n_segs > 0 && g->segs[g->n_segs - 1].off >= off) {
        g->n_segs--;
        for (int k = 0; k < 3; k++)
            fl_free(g->own[3 * g->n_segs + k]);
    }
}


/* Starts a provenance run at the end of the text unless the last run has
 * the same origin as a line from cwl (NULL: a text line). */
static int
prov_for_line(struct fl_gather *g, const struct fl_cwl_meta *cwl)
{
    const char *group = cwl ? cwl->log_group : NULL;
    const char *stream = cwl ? cwl->log_stream : NULL;
    const char *owner = cwl ? cwl->owner : NULL;
    /* AWS's names are at most 512 characters (logGroup, logStream) or 12
     * digits (owner); a longer one is not AWS's and is left out rather
     * than let it crowd the lines out of a WAL record. */
    if (group != NULL && strlen(group) > PROV_MAX_VALUE)
        group = NULL;
    if (stream != NULL && strlen(stream) > PROV_MAX_VALUE)
        stream = NULL;
    if (owner != NULL && strlen(owner) > PROV_MAX_VALUE)
        owner = NULL;
    if (g->n_segs > 0) {
        char **o = g->own + 3 * (g->n_segs - 1);
        if (same(o[0], group) && same(o[1], stream) && same(o[2], owner))
            return FL_OK;
    }
    drop_segs_from(g, g->text.len);     /* a run that got no line */
    if (g->n_segs == g->cap_segs) {
        size_t cap = g->cap_segs;
        struct fl_prov_seg *p = fl_grow(g->segs, &cap, g->n_segs + 1,
                                        sizeof *p, 4);
        if (p == NULL)
            return FL_ENOMEM;
        g->segs = p;
        char **q = fl_realloc(g->own, 3 * cap * sizeof *q);
        if (q == NULL)
            return FL_ENOMEM;
        g->own = q;
        g->cap_segs = cap;
    }
    char **o = g->own + 3 * g->n_segs;
    o[0] = group ? fl_strdup(group) : NULL;
    o[1] = stream ? fl_strdup(stream) : NULL;
    o[2] = owner ? fl_strdup(owner) : NULL;
    if ((group && o[0] == NULL) || (stream && o[1] == NULL)
        || (owner && o[2] == NULL)) {
        for (int k = 0; k < 3; k++)
            fl_free(o[k]);
        return FL_ENOMEM;
    }
    struct fl_prov_seg *sg = &g->segs[g->n_segs++];
    memset(sg, 0, sizeof *sg);
    sg->off = g->text.len;
    sg->prov.v[FL_PROV_LOG_GROUP] = o[0];
    sg->prov.v[FL_PROV_LOG_STREAM] = o[1];
    sg->prov.v[FL_PROV_DELIVERY_STREAM] = g->delivery_stream;
    sg->prov.v[FL_PROV_DELIVERY_ATTRIBUTES] = g->attributes;
    /* The log's owner is the account the flow log is in; the delivery
     * stream's account is where it was delivered from. */
    sg->prov.v[FL_PROV_ACCOUNT] = o[2] ? o[2] : g->stream_account;
    sg->prov.v[FL_PROV_REGION] = g->stream_region;
    return FL_OK;
}


int
fl_gather_add_key(struct fl_gather *g, uint64_t key, size_t start)
{
    if (g->n_keys == g->cap_keys) {
        size_t cap = g->cap_keys;
        uint64_t *p = fl_grow(g->keys, &cap, g->n_keys + 1, sizeof *p, 64);
        if (p == NULL)
            return FL_ENOMEM;
        g->keys = p;
        size_t *q = fl_realloc(g->key_start, cap * sizeof *q);
        if (q == NULL)
            return FL_ENOMEM;
        g->key_start = q;
        if ((q = fl_realloc(g->key_end, cap * sizeof *q)) == NULL)
            return FL_ENOMEM;
        g->key_end = q;
        g->cap_keys = cap;
    }
    g->key_start[g->n_keys] = start;
    g->key_end[g->n_keys] = g->text.len;
    g->keys[g->n_keys++] = key;
    return FL_OK;
}


int
fl_gather_on_line(void *ctx, const struct fl_ingest_line *line)
{
    struct fl_gather *g = ctx;
    size_t start = g->text.len;
    int rc = prov_for_line(g, line->cwl);
    if (rc < 0)
        return rc;
    fl_buf_add(&g->text, line->p, line->len);
    if ((rc = fl_buf_addc(&g->text, '\n')) < 0)
        return rc;
    if (line->id != NULL)
        rc = fl_gather_add_key(g, fl_dedupe_source_key(FL_DEDUPE_CWL,
                                                       line->id,
                                                       strlen(line->id)),
                               start);
    return rc;
}


int
fl_gather_add_text(struct fl_gather *g, const char *p, size_t n)
{
    int rc = prov_for_line(g, NULL);
    if (rc < 0 || n == 0)
        return rc;
    fl_buf_add(&g->text, p, n);
    return p[n - 1] == '\n' ? g->text.err : fl_buf_addc(&g->text, '\n');
}


void
fl_gather_truncate(struct fl_gather *g, size_t len, size_t n_keys)
{
    g->text.len = len;
    if (g->text.p != NULL)
        g->text.p[len] = '\0';           /* fl_buf's own invariant */
    g->n_keys = n_keys;
    drop_segs_from(g, len);
}


int
fl_gather_claim(struct fl_gather *g)
{
    /* Claimed from here on even with no key yet: a key added later (the
     * request id) is the caller's claim, ended with the others. */
    if (g->n_keys == 0) {
        g->claimed = 1;
        return FL_OK;
    }
    unsigned char *found = fl_malloc(g->n_keys);
    if (found == NULL)
        return FL_ENOMEM;
    int rc = fl_dedupe_claim(g->dedupe, g->keys, g->n_keys, g->wait_ms,
                             found);
    if (rc < 0) {
        fl_free(found);
        return rc;
    }
    g->claimed = 1;
    if (memchr(found, 1, g->n_keys) == NULL) {
        fl_free(found);
        return FL_OK;
    }
    /* Rewrite the text in place without the spans of found keys; spans
     * are in text order and apart, so one forward pass does. Provenance
     * runs and the kept keys' spans move with their text. */
    size_t r = 0, w = 0, kw = 0, si = 0;
    for (size_t k = 0; k <= g->n_keys; k++) {
        size_t start = k < g->n_keys ? g->key_start[k] : g->text.len;
        size_t end = k < g->n_keys ? g->key_end[k] : g->text.len;
        /* The text before this span, and this span unless found. */
        size_t keep_to = k < g->n_keys && found[k] ? start : end;
        if (k < g->n_keys && !found[k]) {
            g->keys[kw] = g->keys[k];
            g->key_start[kw] = w + (start - r);
            g->key_end[kw++] = w + (end - r);
        } else if (k < g->n_keys) {
            g->duplicates++;
        }
        size_t w0 = w;
        if (keep_to > r)
            memmove(g->text.p + w, g->text.p + r, keep_to - r);
        w += keep_to - r;
        for (; si < g->n_segs && g->segs[si].off < end; si++) {
            size_t off = g->segs[si].off;
            g->segs[si].off = off < keep_to ? w0 + (off - r) : w;
        }
        r = end;
    }
    while (si < g->n_segs)
        g->segs[si++].off = w;
    g->text.len = w;
    if (g->text.p != NULL)
        g->text.p[w] = '\0';             /* fl_buf's own invariant */
    /* The found keys are not ours: they are not committed or aborted. */
    g->n_keys = kw;
    fl_free(found);
    return FL_OK;
}


void
fl_gather_end_claims(struct fl_gather *g, int ok)
{
    if (!g->claimed)
        return;
    if (ok)
        fl_dedupe_commit(g->dedupe, g->keys, g->n_keys);
    else
        fl_dedupe_abort(g->dedupe, g->keys, g->n_keys);
    g->claimed = 0;
}


void
fl_gather_free(struct fl_gather *g)
{
    fl_gather_end_claims(g, 0);
    drop_segs_from(g, 0);
    fl_free(g->segs);
    fl_free(g->own);
    fl_buf_free(&g->text);
    fl_free(g->keys);
    fl_free(g->key_start);
    fl_free(g->key_end);
    memset(g, 0, sizeof *g);
}

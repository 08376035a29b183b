/* SPDX-License-Identifier: MIT
 *
 * tail_db.c -- the folder source's journal of taken offsets (see
 * tail_db.h): parser, formatter, and the sorted entry table.
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "../core/fl_buf.h"
#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "tail_db.h"


static int
cmp_id(uint64_t dev, uint64_t ino, const struct fl_tail_entry *e)
{
    if (dev != e->dev)
        return dev < e->dev ? -1 : 1;
    if (ino != e->ino)
        return ino < e->ino ? -1 : 1;
    return 0;
}


/* Index of (dev, ino), or of where it would go; *found says which. */
static size_t
search(const struct fl_tail_db *db, uint64_t dev, uint64_t ino, int *found)
{
    size_t lo = 0, hi = db->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_id(dev, ino, &db->v[mid]);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *found = 0;
    return lo;
}


struct fl_tail_entry *
fl_tail_db_find(struct fl_tail_db *db, uint64_t dev, uint64_t ino)
{
    int found;
    size_t i = search(db, dev, ino, &found);
    return found ? &db->v[i] : NULL;
}


int
fl_tail_db_put(struct fl_tail_db *db, const struct fl_tail_entry *e,
               struct fl_tail_entry **out)
{
    int found;
    size_t i = search(db, e->dev, e->ino, &found);
    char *path = fl_strdup(e->path ? e->path : "");
    if (path == NULL)
        return FL_ENOMEM;
    if (!found) {
        if (db->n == db->cap) {
            struct fl_tail_entry *v = fl_grow(db->v, &db->cap, db->n + 1,
                                              sizeof *v, 16);
            if (v == NULL) {
                fl_free(path);
                return FL_ENOMEM;
            }
            db->v = v;
        }
        memmove(&db->v[i + 1], &db->v[i], (db->n - i) * sizeof *db->v);
        memset(&db->v[i], 0, sizeof db->v[i]);
        db->n++;
    }
    struct fl_tail_entry *d = &db->v[i];
    fl_free(d->path);          /* e may be d itself: path is a copy */
    d->dev = e->dev;
    d->ino = e->ino;
    d->fp_len = e->fp_len;
    d->fp = e->fp;
    d->offset = e->offset;
    d->pend_end = e->pend_end;
    d->pend_key = e->pend_key;
    d->hdr_off = e->hdr_off;
    d->pend_hdr = e->pend_hdr;
    d->path = path;
    if (out != NULL)
        *out = d;
    return FL_OK;
}


void
fl_tail_db_del(struct fl_tail_db *db, uint64_t dev, uint64_t ino)
{
    int found;
    size_t i = search(db, dev, ino, &found);
    if (!found)
        return;
    fl_free(db->v[i].path);
    memmove(&db->v[i], &db->v[i + 1], (db->n - i - 1) * sizeof *db->v);
    db->n--;
}


void
fl_tail_db_free(struct fl_tail_db *db)
{
    if (db == NULL)
        return;
    for (size_t i = 0; i < db->n; i++)
        fl_free(db->v[i].path);
    fl_free(db->v);
    memset(db, 0, sizeof *db);
}


/* ---- formatting ------------------------------------------------------ */

/* The journal is built in an fl_buf without a ceiling: one line per
 * file the source follows, each bounded by its path. */

/* One line: checksum, space, body, newline. */
static void
put_line(struct fl_buf *o, const char *body, size_t n)
{
    char sum[16];
    snprintf(sum, sizeof sum, "%08x ", (unsigned)XXH32(body, n, 0));
    fl_buf_add(o, sum, 9);
    fl_buf_add(o, body, n);
    fl_buf_add(o, "\n", 1);
}


static void
entry_body(struct fl_buf *b, const struct fl_tail_entry *e, int deleted)
{
    char head[200];
    int n;
    if (deleted) {
        n = snprintf(head, sizeof head, "D %llu %llu",
                     (unsigned long long)e->dev, (unsigned long long)e->ino);
        fl_buf_add(b, head, (size_t)n);
        return;
    }
    n = snprintf(head, sizeof head, "T %llu %llu %llu %016llx %llu %llu"
                 " %016llx %llu %llu ", (unsigned long long)e->dev,
                 (unsigned long long)e->ino, (unsigned long long)e->fp_len,
                 (unsigned long long)e->fp, (unsigned long long)e->offset,
                 (unsigned long long)e->pend_end,
                 (unsigned long long)e->pend_key,
                 (unsigned long long)e->hdr_off,
                 (unsigned long long)e->pend_hdr);
    fl_buf_add(b, head, (size_t)n);
    for (const char *p = e->path ? e->path : ""; *p != '\0'; p++) {
        if (*p == '\\')
            fl_buf_add(b, "\\\\", 2);
        else if (*p == '\n')
            fl_buf_add(b, "\\n", 2);
        else
            fl_buf_add(b, p, 1);
    }
}


static int
add_entry_line(struct fl_buf *o, const struct fl_tail_entry *e, int deleted)
{
    struct fl_buf b = FL_BUF_INIT(0);
    entry_body(&b, e, deleted);
    if (b.err) {
        fl_buf_free(&b);
        return FL_ENOMEM;
    }
    put_line(o, b.p, b.len);
    fl_buf_free(&b);
    return o->err ? FL_ENOMEM : FL_OK;
}


int
fl_tail_db_line(const struct fl_tail_entry *e, int deleted, char **out,
                size_t *out_len)
{
    struct fl_buf o = FL_BUF_INIT(0);
    if (add_entry_line(&o, e, deleted) < 0) {
        fl_buf_free(&o);
        return FL_ENOMEM;
    }
    if ((*out = fl_buf_take(&o, out_len)) == NULL)
        return FL_ENOMEM;
    return FL_OK;
}


int
fl_tail_db_dump(const struct fl_tail_db *db, char **out, size_t *out_len)
{
    struct fl_buf o = FL_BUF_INIT(0);
    fl_buf_add(&o, FL_TAIL_DB_HEADER "\n", sizeof FL_TAIL_DB_HEADER);
    for (size_t i = 0; i < db->n && !o.err; i++)
        if (add_entry_line(&o, &db->v[i], 0) < 0)
            fl_buf_fail(&o, FL_ENOMEM);
    /* o has no ceiling: its only error is FL_ENOMEM. */
    if ((*out = fl_buf_take(&o, out_len)) == NULL)
        return FL_ENOMEM;
    return FL_OK;
}


/* ---- parsing ---------------------------------------------------------- */

static int
bad(struct fl_tail_db_err *err, unsigned line, const char *reason)
{
    err->line = line;
    snprintf(err->reason, sizeof err->reason, "%s", reason);
    return FL_ECORRUPT;
}


/* A decimal u64 ending at a space (or at end when last); advances *p. */
static int
dec_field(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (s == end || *s < '0' || *s > '9')
        return -1;
    while (s < end && *s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
        s++;
    }
    if (s < end && *s != ' ')
        return -1;
    *p = s < end ? s + 1 : s;
    *out = v;
    return 0;
}


/* Exactly 16 hex digits then a space. */
static int
hex_field(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (end - s < 17 || s[16] != ' ')
        return -1;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return -1;
        v = v << 4 | d;
    }
    *p = s + 17;
    *out = v;
    return 0;
}


/* Decodes the body of one line (without checksum and newline) of a
 * journal of the given version. Returns 0, -1 with *why set for a
 * malformed body, or FL_ENOMEM. */
static int
apply(struct fl_tail_db *db, int version, const char *s, const char *end,
      const char **why)
{
    struct fl_tail_entry e;
    memset(&e, 0, sizeof e);
    if (end - s < 2 || s[1] != ' ' || (s[0] != 'T' && s[0] != 'D')) {
        *why = "expected 'T ' or 'D ' after the checksum";
        return -1;
    }
    int deleted = s[0] == 'D';
    const char *p = s + 2;
    if (dec_field(&p, end, &e.dev) < 0 || dec_field(&p, end, &e.ino) < 0) {
        *why = "bad device or inode number";
        return -1;
    }
    if (deleted) {
        if (p != end) {
            *why = "unexpected text after a D line's inode";
            return -1;
        }
        fl_tail_db_del(db, e.dev, e.ino);
        return 0;
    }
    if (dec_field(&p, end, &e.fp_len) < 0 || hex_field(&p, end, &e.fp) < 0
        || dec_field(&p, end, &e.offset) < 0
        || dec_field(&p, end, &e.pend_end) < 0
        || hex_field(&p, end, &e.pend_key) < 0) {
        *why = "bad fingerprint, offset or pending piece field";
        return -1;
    }
    if (version >= 2 && (dec_field(&p, end, &e.hdr_off) < 0
                         || dec_field(&p, end, &e.pend_hdr) < 0)) {
        *why = "bad header offset field";
        return -1;
    }
    if (e.hdr_off > e.offset
        || (e.pend_end != 0 && e.pend_hdr >= e.pend_end)) {
        *why = "header offset past the offset it governs";
        return -1;
    }
    if (e.fp_len > e.offset || (e.pend_end != 0 && e.pend_end <= e.offset)) {
        *why = "fingerprint past the offset, or a pending piece that ends"
               " before it starts";
        return -1;
    }
    /* The path, unescaped. */
    char *path = fl_malloc((size_t)(end - p) + 1);
    size_t n = 0;
    if (path == NULL)
        return FL_ENOMEM;
    for (; p < end; p++) {
        if (*p != '\\') {
            path[n++] = *p;
            continue;
        }
        if (p + 1 == end || (p[1] != '\\' && p[1] != 'n')) {
            fl_free(path);
            *why = "bad escape in the path";
            return -1;
        }
        path[n++] = p[1] == 'n' ? '\n' : '\\';
        p++;
    }
    path[n] = '\0';
    e.path = path;
    int rc = fl_tail_db_put(db, &e, NULL);
    fl_free(path);
    return rc;
}


static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}


int
fl_tail_db_parse(const char *buf, size_t len, struct fl_tail_db *db,
                 struct fl_tail_db_err *err)
{
    const char *p = buf, *end = buf + len;
    unsigned line = 0;
    int version = 0;

    memset(err, 0, sizeof *err);
    if (len == 0)
        return FL_OK;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        line++;
        int last = nl == NULL || nl + 1 == end;
        if (nl == NULL) {
            if (line == 1)
                return bad(err, line, "not a flowlake tail state file"
                           " (expected \"" FL_TAIL_DB_HEADER "\")");
            db->torn++;              /* an append cut short by a crash */
            break;
        }
        size_t n = (size_t)(nl - p);
        if (line == 1) {
            if (n == sizeof FL_TAIL_DB_HEADER - 1
                && memcmp(p, FL_TAIL_DB_HEADER, n) == 0)
                version = 2;
            else if (n == sizeof FL_TAIL_DB_HEADER_V1 - 1
                     && memcmp(p, FL_TAIL_DB_HEADER_V1, n) == 0)
                version = 1;
            else
                return bad(err, line, "not a flowlake tail state file"
                           " (expected \"" FL_TAIL_DB_HEADER "\")");
            p = nl + 1;
            continue;
        }
        /* Checksum: 8 hex digits and a space. */
        uint32_t sum = 0;
        int ok = n >= 9 && p[8] == ' ';
        for (int i = 0; ok && i < 8; i++) {
            int d = hexval(p[i]);
            if (d < 0)
                ok = 0;
            else
                sum = sum << 4 | (uint32_t)d;
        }
        if (ok && (uint32_t)XXH32(p + 9, n - 9, 0) != sum)
            ok = 0;
        if (!ok) {
            if (last) {
                db->torn++;
                break;
            }
            return bad(err, line, "checksum mismatch (the file is damaged)");
        }
        const char *why = NULL;
        int rc = apply(db, version, p + 9, nl, &why);
        if (rc == FL_ENOMEM)
            return rc;
        if (rc < 0)
            return bad(err, line, why);
        db->lines++;
        p = nl + 1;
    }
    return FL_OK;
}

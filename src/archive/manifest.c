/* SPDX-License-Identifier: MIT
 *
 * manifest.c -- the archive's record of converted inputs, by content
 * digest, so that the same file given twice is not converted twice.
 *
 * On disk: ARCHIVE/_flowlake/inputs.tsv, one line per converted input:
 *     <digest hex32> TAB <bytes> TAB <run id> TAB <converted at> TAB <path>
 * appended and fsynced only after that input's Parquet files are
 * published, and, for the live server, lines
 *     wal TAB <sequence> TAB <run id> TAB <published at>
 * saying that every write-ahead-log record up to <sequence> is in the
 * archive. Both kinds go through the publish journal (publish.c), so they
 * become true together with the files. In memory: an open-addressing hash
 * set of digests and the highest WAL sequence.
 */
#include "../core/fl_config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_mem.h"
#include "archive_int.h"

struct slot {
    struct fl_digest d;
    char            *run_id;     /* NULL = empty slot */
    int              on_disk;    /* in inputs.tsv (else only this run) */
};

struct fl_manifest {
    char        *path;
    struct slot *slots;
    size_t       cap;            /* power of two */
    size_t       n;
    uint64_t     wal_seq;        /* highest published WAL sequence */
};


static size_t
slot_of(const struct fl_manifest *m, const struct fl_digest *d)
{
    size_t i = (size_t)(d->lo ^ (d->hi >> 7)) & (m->cap - 1);
    while (m->slots[i].run_id != NULL
           && (m->slots[i].d.hi != d->hi || m->slots[i].d.lo != d->lo))
        i = (i + 1) & (m->cap - 1);
    return i;
}


static int
grow(struct fl_manifest *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    struct slot *old = m->slots;
    size_t ocap = m->cap;
    struct slot *ns = fl_calloc(ncap, sizeof *ns);
    if (ns == NULL)
        return FL_ENOMEM;
    m->slots = ns;
    m->cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i].run_id != NULL)
            m->slots[slot_of(m, &old[i].d)] = old[i];
    }
    fl_free(old);
    return FL_OK;
}


int
fl_manifest_remember(struct fl_manifest *m, const struct fl_digest *d,
                     const char *run_id, int on_disk)
{
    if ((m->n + 1) * 2 > m->cap) {
        int rc = grow(m);
        if (rc < 0)
            return rc;
    }
    size_t i = slot_of(m, d);
    if (m->slots[i].run_id != NULL) {
        m->slots[i].on_disk |= on_disk;
        return FL_OK;
    }
    char *id = fl_strdup(run_id);
    if (id == NULL)
        return FL_ENOMEM;
    m->slots[i].d = *d;
    m->slots[i].run_id = id;
    m->slots[i].on_disk = on_disk;
    m->n++;
    return FL_OK;
}


const char *
fl_manifest_find(const struct fl_manifest *m, const struct fl_digest *d)
{
    if (m->cap == 0)
        return NULL;
    return m->slots[slot_of(m, d)].run_id;
}


int
fl_manifest_on_disk(const struct fl_manifest *m, const struct fl_digest *d)
{
    if (m->cap == 0)
        return 0;
    const struct slot *sl = &m->slots[slot_of(m, d)];
    return sl->run_id != NULL && sl->on_disk;
}


int
fl_manifest_load(const char *meta_dir, struct fl_manifest **out)
{
    struct fl_manifest *m = fl_calloc(1, sizeof *m);
    FILE *f = NULL;
    char line[8192];
    int rc = FL_OK;

    if (m == NULL)
        return FL_ENOMEM;
    m->path = fl_fs_join(meta_dir, "inputs.tsv");
    if (m->path == NULL || (rc = grow(m)) < 0) {
        rc = FL_ENOMEM;
        goto fail;
    }
    f = fopen(m->path, "r");
    if (f == NULL) {
        if (errno == ENOENT) {
            *out = m;
            return FL_OK;
        }
        rc = -errno;
        goto fail;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        struct fl_digest d;
        uint64_t seq;
        if (fl_manifest_parse_wal(line, &seq) == 0) {
            if (seq > m->wal_seq)
                m->wal_seq = seq;
            continue;
        }
        char *run = NULL, *t1, *t2;
        /* digest TAB bytes TAB run ...; lines that do not parse (a torn
         * last line after a crash) are ignored. */
        if (strlen(line) < 34 || line[32] != '\t'
            || fl_digest_from_hex(line, &d) < 0)
            continue;
        t1 = strchr(line + 33, '\t');
        if (t1 == NULL)
            continue;
        run = t1 + 1;
        t2 = strchr(run, '\t');
        if (t2 != NULL)
            *t2 = '\0';
        if ((rc = fl_manifest_remember(m, &d, run, 1)) < 0)
            goto fail;
    }
    if (ferror(f))
        rc = -EIO;
    fclose(f);
    f = NULL;
    if (rc < 0)
        goto fail;
    *out = m;
    return FL_OK;

fail:
    if (f != NULL)
        fclose(f);
    fl_manifest_destroy(m);
    return rc;
}


int
fl_manifest_parse_wal(const char *line, uint64_t *out)
{
    if (strncmp(line, "wal\t", 4) != 0)
        return FL_EPARSE;
    const char *p = line + 4;
    uint64_t v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 20) {
        v = v * 10 + (uint64_t)(*p++ - '0');
        digits++;
    }
    if (digits == 0 || (*p != '\t' && *p != '\n' && *p != '\0'))
        return FL_EPARSE;
    *out = v;
    return FL_OK;
}


uint64_t
fl_manifest_wal_seq(const struct fl_manifest *m)
{
    return m->wal_seq;
}


void
fl_manifest_note_wal(struct fl_manifest *m, uint64_t seq)
{
    if (seq > m->wal_seq)
        m->wal_seq = seq;
}


int
fl_manifest_append(struct fl_manifest *m, const char *text)
{
    int fd = open(m->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int rc = fl_fs_write_all(fd, text, strlen(text));
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}


void
fl_manifest_destroy(struct fl_manifest *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->cap; i++)
        fl_free(m->slots[i].run_id);
    fl_free(m->slots);
    fl_free(m->path);
    fl_free(m);
}

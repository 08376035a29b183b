/* SPDX-License-Identifier: MIT
 *
 * tenure.h -- which consumer's commit covered which Kafka offsets: the
 * history every flowlake consumer writes into the metadata of its offset
 * commits, and the rule that settles a batch made durable whose commit's
 * outcome is not known (the consumer died, or the commit failed).
 *
 * A tenure is one consumer's hold of one partition, from an assignment to
 * the revocation; it starts at the partition's committed offset at that
 * moment. The group refuses commits from a consumer once the partition
 * has been given to another (a new generation), so the committed offset
 * only ever moves within the tenure of the partition's current owner, and
 * the next tenure starts where the last one's commits ended. Hence, for a
 * batch of tenure T whose last offset in the partition is L:
 *
 *   T's commit of the batch went through  <=>  the tenure after T starts
 *   past L (or T is still the last, and the committed offset is past L).
 *
 * Each commit carries the history: "fl1 ID@START ID@START ..." (oldest
 * first; "fl1+" once older entries were dropped to stay within Kafka's
 * offset.metadata.max.bytes), an entry for every tenure that committed.
 * A batch records its tenure and the tenure before it (the history's last
 * entry at the assignment: a tenure that never committed is absent, and
 * the one after its predecessor is then the one after it).
 */
#ifndef FL_TENURE_H
#define FL_TENURE_H

#include <stddef.h>
#include <stdint.h>

#define FL_TENURE_ID_LEN 12          /* hex digits */
#define FL_TENURE_MAX    64          /* entries kept */
#define FL_TENURE_TEXT_MAX 2048      /* the metadata's bytes, at most */

struct fl_tenure_entry {
    char    id[FL_TENURE_ID_LEN + 1];
    int64_t start;
};

struct fl_tenure_history {
    size_t                 n;
    int                    truncated;  /* older entries are gone */
    struct fl_tenure_entry e[FL_TENURE_MAX];
};

/* Parses commit metadata (len bytes, not NUL-terminated). Metadata that
 * is not a flowlake history (none, or another consumer's) gives an empty
 * history marked truncated: nothing is known of the tenures before.
 * Returns 0, or FL_EPARSE for such metadata (h is still set). */
int  fl_tenure_parse(const char *meta, size_t len,
                     struct fl_tenure_history *h);

/* Appends tenure id starting at start (dropping the oldest entries past
 * FL_TENURE_MAX or FL_TENURE_TEXT_MAX) and writes the metadata of its
 * commits into out (cap >= FL_TENURE_TEXT_MAX + 1). */
void fl_tenure_begin(struct fl_tenure_history *h, const char *id,
                     int64_t start, char *out, size_t cap);

/* A new tenure id (FL_TENURE_ID_LEN hex digits and a NUL). */
void fl_tenure_new_id(char out[FL_TENURE_ID_LEN + 1]);

enum fl_tenure_verdict {
    FL_TENURE_KEEP,       /* the batch's commit went through */
    FL_TENURE_DROP,       /* it did not: the messages are read again */
    FL_TENURE_UNKNOWN     /* the history no longer tells */
};

/* The rule above: a batch of tenure `tenure` (preceded by `pred`, "" for
 * none) ending at offset last, judged on the partition's committed offset
 * now (< 0: none) and its history. */
enum fl_tenure_verdict fl_tenure_judge(const struct fl_tenure_history *h,
                                       int64_t committed,
                                       const char *tenure, const char *pred,
                                       int64_t last);

#endif /* FL_TENURE_H */

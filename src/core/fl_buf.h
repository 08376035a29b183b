/* SPDX-License-Identifier: MIT
 *
 * fl_buf.h -- the growable byte buffer of flowlake, with a size ceiling.
 *
 * After curl's dynbuf (lib/dynbuf.c): every buffer is given the most it
 * may ever hold, so input that would make an answer, a key or a message
 * grow without bound stops with FL_ETOOBIG instead of eating the memory.
 * Unlike dynbuf, a failure is sticky rather than freeing the bytes: the
 * first error (FL_ENOMEM or FL_ETOOBIG) is kept in err and turns every
 * later append into a no-op returning it, so a writer that appends many
 * pieces checks once at the end. fl_buf_take and fl_buf_free still free
 * or hand over what was written.
 *
 * A buffer starts as FL_BUF_INIT(max) or fl_buf_init(); a zeroed one
 * ({ 0 }) has no ceiling but SIZE_MAX, for callers that bound the size
 * another way. p stays NULL until the first append; after any successful
 * append p[len] is '\0', so p is a C string when the bytes have no NUL.
 *
 * Thread: one buffer, one thread at a time.
 */
#ifndef FL_BUF_H
#define FL_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "fl_compiler.h"

struct fl_buf {
    char   *p;       /* the bytes, NUL-terminated; NULL before any */
    size_t  len;     /* bytes written, without the NUL */
    size_t  cap;     /* bytes allocated at p */
    size_t  max;     /* most bytes len may reach; 0 = no ceiling */
    int     err;     /* 0, or the first FL_ENOMEM / FL_ETOOBIG */
};

#define FL_BUF_INIT(max_len) { NULL, 0, 0, (max_len), 0 }

void fl_buf_init(struct fl_buf *b, size_t max);

/* Append n bytes of s / the string s / the character c / printf output.
 * Return 0, or the buffer's error: FL_ENOMEM when memory ran out,
 * FL_ETOOBIG when len would pass max (nothing of that append is written
 * then), or the error of an earlier append. */
int  fl_buf_add(struct fl_buf *b, const void *s, size_t n);
int  fl_buf_adds(struct fl_buf *b, const char *s);
int  fl_buf_addc(struct fl_buf *b, char c);
int  fl_buf_addf(struct fl_buf *b, const char *fmt, ...) FL_PRINTF(2, 3);
int  fl_buf_vaddf(struct fl_buf *b, const char *fmt, va_list ap)
    FL_PRINTF(2, 0);

/* fl_buf_add for a writer that takes a callback and a context, such as
 * the generator's fl_gen_write (gen/generate.h): buf is the struct
 * fl_buf. Collects a writer's whole output in memory. */
int  fl_buf_sink(void *buf, const char *s, size_t n);

/* Makes room for n more bytes (and the NUL) without writing them: for a
 * writer that fills p + len itself and then moves len. Same returns. */
int  fl_buf_reserve(struct fl_buf *b, size_t n);

/* Records err (when b has none yet) as if an append had failed: for a
 * caller whose own step failed while building b's content. */
void fl_buf_fail(struct fl_buf *b, int err);

/* The bytes, for the caller to fl_free, NUL-terminated (an empty buffer
 * gives an allocated ""), with their length in *len when len is not NULL;
 * b is left empty and without error, its ceiling kept. NULL when b holds
 * an error (its bytes are freed, as an incomplete text is of no use) or
 * when allocating "" failed. */
char *fl_buf_take(struct fl_buf *b, size_t *len);

/* Empties b, keeping its memory, its ceiling and its error. */
void fl_buf_reset(struct fl_buf *b);
/* Frees b's memory; b is empty and without error, its ceiling kept. */
void fl_buf_free(struct fl_buf *b);

#endif /* FL_BUF_H */

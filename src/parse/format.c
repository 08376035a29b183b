/* SPDX-License-Identifier: MIT
 *
 * format.c -- building flow log formats from the default, a format string
 * or an S3 header line (see format.h).
 */
#include "../core/fl_config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../core/fl_error.h"
#include "../core/fl_mem.h"
#include "format.h"

struct name_list {
    size_t      n;
    const char *p[FL_FORMAT_MAX_FIELDS];
    size_t      len[FL_FORMAT_MAX_FIELDS];
};


static int
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


static int
is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || c == '-' || c == '_';
}


/* Turns a list of names into a format. Duplicate names are refused: a
 * column cannot be filled twice from one line. */
static int
build(const struct name_list *names, struct fl_format **out,
      struct fl_parse_err *err)
{
    struct fl_format *f = NULL;
    int rc = FL_ENOMEM;

    for (size_t i = 0; i < names->n; i++) {
        for (size_t j = 0; j < i; j++) {
            int fi = fl_field_lookup(names->p[i], names->len[i]);
            int fj = fl_field_lookup(names->p[j], names->len[j]);
            if ((fi >= 0 && fi == fj)
                || (names->len[i] == names->len[j]
                    && memcmp(names->p[i], names->p[j], names->len[i]) == 0)) {
                snprintf(err->reason, sizeof err->reason,
                         "field %zu: '%.*s' appears twice", i + 1,
                         (int)names->len[i], names->p[i]);
                err->field = (int)(i + 1);
                return FL_ECONFIG;
            }
        }
    }

    f = fl_calloc(1, sizeof *f);
    if (f == NULL)
        goto fail;
    f->field = fl_calloc(names->n, sizeof *f->field);
    f->name = fl_calloc(names->n, sizeof *f->name);
    if (f->field == NULL || f->name == NULL)
        goto fail;
    f->n = names->n;
    f->version = 2;
    for (size_t i = 0; i < names->n; i++) {
        f->name[i] = fl_strndup(names->p[i], names->len[i]);
        if (f->name[i] == NULL)
            goto fail;
        f->field[i] = fl_field_lookup(names->p[i], names->len[i]);
        if (f->field[i] >= 0) {
            int v = fl_field_get(f->field[i])->version;
            if (v > f->version)
                f->version = v;
        }
    }
    *out = f;
    return FL_OK;

fail:
    fl_format_destroy(f);
    snprintf(err->reason, sizeof err->reason, FL_OOM_TEXT);
    return rc;
}


int
fl_format_default(struct fl_format **out)
{
    struct name_list names = { .n = FL_DEFAULT_FIELD_COUNT };
    struct fl_parse_err err;

    for (int i = 0; i < FL_DEFAULT_FIELD_COUNT; i++) {
        names.p[i] = fl_field_get(i)->aws_name;
        names.len[i] = strlen(names.p[i]);
    }
    return build(&names, out, &err);
}


static int
add_name(struct name_list *names, const char *p, size_t len,
         struct fl_parse_err *err)
{
    if (len == 0) {
        snprintf(err->reason, sizeof err->reason,
                 "field %zu: empty field name", names->n + 1);
        return FL_ECONFIG;
    }
    if (len > FL_FORMAT_MAX_NAME) {
        snprintf(err->reason, sizeof err->reason,
                 "field %zu: name longer than %d characters", names->n + 1,
                 FL_FORMAT_MAX_NAME);
        return FL_ECONFIG;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_name_char(p[i])) {
            snprintf(err->reason, sizeof err->reason,
                     "field %zu: invalid character '%c' in field name",
                     names->n + 1, p[i]);
            return FL_ECONFIG;
        }
    }
    if (names->n == FL_FORMAT_MAX_FIELDS) {
        snprintf(err->reason, sizeof err->reason,
                 "more than %d fields", FL_FORMAT_MAX_FIELDS);
        return FL_ECONFIG;
    }
    names->p[names->n] = p;
    names->len[names->n] = len;
    names->n++;
    return FL_OK;
}


int
fl_format_parse(const char *spec, struct fl_format **out,
                struct fl_parse_err *err)
{
    struct name_list names = { .n = 0 };
    const char *p = spec;
    int rc;

    memset(err, 0, sizeof *err);
    for (;;) {
        while (is_blank(*p))
            p++;
        if (*p == '\0')
            break;
        if (p[0] != '$' || p[1] != '{') {
            snprintf(err->reason, sizeof err->reason,
                     "field %zu: expected '${' at offset %zu, found '%c'",
                     names.n + 1, (size_t)(p - spec), *p);
            err->field = (int)(names.n + 1);
            return FL_ECONFIG;
        }
        const char *name = p + 2;
        const char *close = strchr(name, '}');
        if (close == NULL) {
            snprintf(err->reason, sizeof err->reason,
                     "field %zu: '${' at offset %zu is never closed by '}'",
                     names.n + 1, (size_t)(p - spec));
            err->field = (int)(names.n + 1);
            return FL_ECONFIG;
        }
        rc = add_name(&names, name, (size_t)(close - name), err);
        if (rc < 0) {
            err->field = (int)(names.n + 1);
            return rc;
        }
        p = close + 1;
        if (*p != '\0' && !is_blank(*p)) {
            snprintf(err->reason, sizeof err->reason,
                     "field %zu: expected a space after '}' at offset %zu",
                     names.n, (size_t)(p - spec));
            err->field = (int)names.n;
            return FL_ECONFIG;
        }
    }
    if (names.n == 0) {
        snprintf(err->reason, sizeof err->reason,
                 "a format needs at least one ${field}");
        return FL_ECONFIG;
    }
    return build(&names, out, err);
}


int
fl_format_is_header(const char *line, size_t len)
{
    const char *p = line, *end = line + len;
    int tokens = 0, known = 0;

    while (p < end) {
        while (p < end && is_blank(*p))
            p++;
        if (p == end)
            break;
        const char *tok = p;
        /* Field names start with a letter; AWS writes them in lower case
         * but the names match in any case (fl_field_lookup). */
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return 0;
        while (p < end && !is_blank(*p)) {
            if (!is_name_char(*p))
                return 0;
            p++;
        }
        tokens++;
        if (fl_field_lookup(tok, (size_t)(p - tok)) >= 0)
            known++;
    }
    return tokens > 0 && known > 0;
}


/* The next blank-separated word of [*p, end), its length in *len; NULL
 * when there is none. Moves *p past it. */
static const char *
next_word(const char **p, const char *end, size_t *len)
{
    const char *q = *p;
    while (q < end && is_blank(*q))
        q++;
    if (q == end) {
        *p = q;
        return NULL;
    }
    const char *w = q;
    while (q < end && !is_blank(*q))
        q++;
    *len = (size_t)(q - w);
    *p = q;
    return w;
}


int
fl_format_from_header(const char *line, size_t len, struct fl_format **out,
                      struct fl_parse_err *err)
{
    struct name_list names = { .n = 0 };
    const char *p = line, *end = line + len;
    int rc;

    memset(err, 0, sizeof *err);
    const char *tok;
    size_t tl;
    while ((tok = next_word(&p, end, &tl)) != NULL) {
        rc = add_name(&names, tok, tl, err);
        if (rc < 0) {
            err->field = (int)(names.n + 1);
            return rc;
        }
    }
    if (names.n == 0) {
        snprintf(err->reason, sizeof err->reason, "empty header line");
        return FL_ECONFIG;
    }
    return build(&names, out, err);
}


int
fl_format_header_line(const struct fl_format *cur, const char *line,
                      size_t len, char *reason, size_t reason_cap)
{
    const char *p = line, *end = line + len;
    size_t n = 0;
    int same = 1;

    while (end > p && is_blank(end[-1]))
        end--;
    if (!fl_format_is_header(p, (size_t)(end - p)))
        return 0;
    const char *tok;
    size_t tl;
    while ((tok = next_word(&p, end, &tl)) != NULL) {
        if (n >= cur->n) {
            same = 0;
        } else if (same) {
            int id = fl_field_lookup(tok, tl);
            if (id >= 0 ? id != cur->field[n]
                        : (cur->field[n] >= 0 || strlen(cur->name[n]) != tl
                           || strncasecmp(cur->name[n], tok, tl) != 0))
                same = 0;
        }
        n++;
    }
    if (same && n == cur->n)
        return 1;
    snprintf(reason, reason_cap, "header line names other fields than the "
             "input's format (%zu here, %zu there): the format cannot change "
             "inside one input; split the input at this line", n, cur->n);
    return 2;
}


char *
fl_format_to_string(const struct fl_format *fmt)
{
    size_t cap = 1;
    for (size_t i = 0; i < fmt->n; i++)
        cap += strlen(fmt->name[i]) + 4;
    char *s = fl_malloc(cap), *p = s;
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < fmt->n; i++) {
        int w = snprintf(p, cap - (size_t)(p - s), "%s${%s}", i ? " " : "",
                         fmt->name[i]);
        p += w;
    }
    *p = '\0';
    return s;
}


void
fl_format_destroy(struct fl_format *fmt)
{
    if (fmt == NULL)
        return;
    if (fmt->name != NULL) {
        for (size_t i = 0; i < fmt->n; i++)
            fl_free(fmt->name[i]);
    }
    fl_free(fmt->name);
    fl_free(fmt->field);
    fl_free(fmt);
}

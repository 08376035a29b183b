/* SPDX-License-Identifier: MIT
 *
 * embed_assets.c -- build-time generator of the web UI's embedded files.
 *
 *   embed_assets OUT.c URL FILE TYPE [URL FILE TYPE]...
 *
 * Writes OUT.c defining fl_ui_assets[] (src/http/ui_assets.h): for each
 * file its URL path, content type, the plain bytes, the same bytes
 * gzip-compressed (level 9) and an ETag (the first 128 bits of the
 * SHA-256 of the plain bytes). The server then answers from constant
 * memory: nothing is read from disk or compressed at run time, and the
 * binary works alone, offline.
 *
 * The output depends only on the inputs (the gzip header carries no time
 * and no file name), so rebuilding from the same files gives the same
 * binary and the same ETags. OUT.c is written to a temporary name and
 * renamed, so an interrupted build never leaves half a file for make to
 * think up to date.
 *
 * Built by the Makefile before the library (it is not part of it) and
 * linked with fl_mem.c and fl_sha256.c only.
 */
#include "../core/fl_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "../core/fl_mem.h"
#include "../core/fl_sha256.h"

/* Larger than every asset by far (uPlot's minified script is ~50 KB): a
 * file past it is a mistake in the Makefile, not something to embed. */
#define MAX_ASSET (8u << 20)

static int
read_all(const char *path, unsigned char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "embed_assets: cannot open %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    size_t cap = 65536, n = 0;
    unsigned char *buf = fl_malloc(cap);
    if (buf == NULL)
        goto oom;
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_ASSET) {
                fprintf(stderr, "embed_assets: %s is larger than %u bytes\n",
                        path, MAX_ASSET);
                goto fail;
            }
            unsigned char *p = fl_realloc(buf, cap * 2);
            if (p == NULL)
                goto oom;
            buf = p;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                fprintf(stderr, "embed_assets: cannot read %s\n", path);
                goto fail;
            }
            break;
        }
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "embed_assets: cannot read %s\n", path);
        fl_free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
oom:
    fprintf(stderr, "embed_assets: out of memory reading %s\n", path);
fail:
    fl_free(buf);
    fclose(f);
    return -1;
}


/* gzip (RFC 1952) of in, header without time or name: deterministic. */
static int
gzip_bytes(const unsigned char *in, size_t len, unsigned char **out,
           size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY)
        != Z_OK)
        return -1;
    size_t cap = deflateBound(&z, (uLong)len) + 64;
    unsigned char *buf = fl_malloc(cap);
    if (buf == NULL) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t n = cap - z.avail_out;
    if (deflateEnd(&z) != Z_OK || rc != Z_STREAM_END) {
        fl_free(buf);
        return -1;
    }
    *out = buf;
    *outlen = n;
    return 0;
}


static int
write_bytes(FILE *f, const char *name, const unsigned char *b, size_t n)
{
    if (fprintf(f, "static const unsigned char %s[%zu] = {", name,
                n ? n : 1) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (fprintf(f, "%s%u,", i % 20 == 0 ? "\n" : "", b[i]) < 0)
            return -1;
    return fprintf(f, "%s\n};\n", n ? "" : "0") < 0 ? -1 : 0;
}


/* A C string literal of s (URLs and content types: printable ASCII). */
static int
write_cstr(FILE *f, const char *s)
{
    if (fputc('"', f) == EOF)
        return -1;
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch >= 0x7f) {
            fprintf(stderr, "embed_assets: non-printable byte in '%s'\n", s);
            return -1;
        }
        if ((ch == '"' || ch == '\\') && fputc('\\', f) == EOF)
            return -1;
        if (fputc(ch, f) == EOF)
            return -1;
    }
    return fputc('"', f) == EOF ? -1 : 0;
}


int
main(int argc, char **argv)
{
    if (argc < 5 || (argc - 2) % 3 != 0) {
        fprintf(stderr, "usage: embed_assets OUT.c URL FILE TYPE "
                "[URL FILE TYPE]...\n");
        return 2;
    }
    const char *outpath = argv[1];
    int n = (argc - 2) / 3;
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", outpath) >= sizeof tmp) {
        fprintf(stderr, "embed_assets: output path too long\n");
        return 1;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "embed_assets: cannot create %s: %s\n", tmp,
                strerror(errno));
        return 1;
    }
    int bad = fprintf(f, "/* Generated by src/tools/embed_assets.c from the "
                      "web UI's files: do not edit. */\n"
                      "#include \"http/ui_assets.h\"\n\n") < 0;
    char (*etags)[40] = fl_calloc((size_t)n, sizeof *etags);
    size_t *plain_len = fl_calloc((size_t)n, sizeof *plain_len);
    size_t *gz_len = fl_calloc((size_t)n, sizeof *gz_len);
    if (etags == NULL || plain_len == NULL || gz_len == NULL) {
        fprintf(stderr, "embed_assets: out of memory\n");
        bad = 1;
    }
    for (int i = 0; i < n && !bad; i++) {
        const char *file = argv[2 + 3 * i + 1];
        unsigned char *raw = NULL, *gz = NULL;
        size_t len = 0, glen = 0;
        if (read_all(file, &raw, &len) < 0) {
            bad = 1;
            break;
        }
        if (gzip_bytes(raw, len, &gz, &glen) < 0) {
            fprintf(stderr, "embed_assets: cannot compress %s\n", file);
            fl_free(raw);
            bad = 1;
            break;
        }
        unsigned char d[FL_SHA256_LEN];
        fl_sha256(raw, len, d);
        /* A quoted strong ETag: 128 bits of the content's hash. */
        char *e = etags[i];
        e[0] = '"';
        for (int k = 0; k < 16; k++)
            snprintf(e + 1 + 2 * k, 3, "%02x", d[k]);
        e[33] = '"';
        e[34] = '\0';
        char name[32];
        snprintf(name, sizeof name, "raw%d", i);
        if (write_bytes(f, name, raw, len) < 0)
            bad = 1;
        snprintf(name, sizeof name, "gz%d", i);
        if (write_bytes(f, name, gz, glen) < 0)
            bad = 1;
        plain_len[i] = len;
        gz_len[i] = glen;
        fl_free(raw);
        fl_free(gz);
    }
    if (!bad && fprintf(f, "\nconst struct fl_ui_asset fl_ui_assets[] = {\n")
                < 0)
        bad = 1;
    for (int i = 0; i < n && !bad; i++) {
        if (fputs("    { ", f) == EOF
            || write_cstr(f, argv[2 + 3 * i]) < 0
            || fputs(", ", f) == EOF
            || write_cstr(f, argv[2 + 3 * i + 2]) < 0
            || fputs(", ", f) == EOF
            || write_cstr(f, etags[i]) < 0
            || fprintf(f, ",\n      raw%d, %zu, gz%d, %zu },\n", i,
                       plain_len[i], i, gz_len[i]) < 0)
            bad = 1;
    }
    if (!bad && fprintf(f, "};\n\nconst size_t fl_ui_asset_count = %d;\n", n)
                < 0)
        bad = 1;
    fl_free(etags);
    fl_free(plain_len);
    fl_free(gz_len);
    if (fclose(f) != 0)
        bad = 1;
    if (bad || rename(tmp, outpath) != 0) {
        if (!bad)
            fprintf(stderr, "embed_assets: cannot rename %s: %s\n", tmp,
                    strerror(errno));
        else
            fprintf(stderr, "embed_assets: cannot write %s\n", outpath);
        remove(tmp);
        return 1;
    }
    return 0;
}

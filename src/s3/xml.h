/* SPDX-License-Identifier: MIT
 *
 * xml.h -- the few things read from S3's XML answers: one element's text
 * (an error's Code and Message, a multipart upload's UploadId) and the
 * pages of a ListObjectsV2 listing. S3's answers are flat and generated,
 * so a scan for <Tag>...</Tag> is all they need; entities are decoded.
 * Anything else in the answer is ignored, and an answer that is not XML
 * at all gives "not found", never a crash (fuzz/fuzz_s3_xml.c).
 *
 * Thread: any (no state).
 */
#ifndef FL_S3_XML_H
#define FL_S3_XML_H

#include <stddef.h>
#include <stdint.h>

/* The text of the first <tag>...</tag> at or after *from (xml when from
 * is NULL) in the NUL-terminated xml, entities decoded, cut to cap - 1
 * bytes, into out; *from moves past it. Returns 0, or -ENOENT. */
int fl_s3_xml_value(const char *xml, const char **from, const char *tag,
                    char *out, size_t cap);

/* One page of a ListObjectsV2 answer: fn(ctx, key, size) for every
 * <Contents> with a <Key> and a <Size> (a non-zero return stops and is
 * returned); then *truncated and, when it is 1, token (the next page's
 * continuation token, cut to token_cap - 1). */
typedef int fl_s3_xml_object_fn(void *ctx, const char *key, uint64_t size);
int fl_s3_xml_list_page(const char *xml, fl_s3_xml_object_fn *fn, void *ctx,
                        int *truncated, char *token, size_t token_cap);

#endif /* FL_S3_XML_H */

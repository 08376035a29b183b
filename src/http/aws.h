/* SPDX-License-Identifier: MIT
 *
 * aws.h -- the endpoints AWS delivers to (aws.c): POST /firehose (the
 * Kinesis Data Firehose HTTP endpoint delivery protocol) and POST /cwl
 * (CloudWatch Logs subscription payloads). http.c routes to them once the
 * whole body is in and the caller's key was checked.
 */
#ifndef FL_HTTP_AWS_H
#define FL_HTTP_AWS_H

#include <microhttpd.h>
#include <stddef.h>

#include "../sources/source.h"

/* The request body is raw[0..raw_len) (Content-Encoding: gzip is undone
 * here); the answer is queued on c. */
enum MHD_Result fl_aws_firehose(const struct fl_source_env *env,
                                struct MHD_Connection *c, const char *raw,
                                size_t raw_len);
enum MHD_Result fl_aws_cwl(const struct fl_source_env *env,
                           struct MHD_Connection *c, const char *raw,
                           size_t raw_len);

/* A Firehose error answer (errorMessage msg, the request's id echoed)
 * for a request refused before its body was read. */
enum MHD_Result fl_aws_firehose_error(struct MHD_Connection *c,
                                      unsigned int status, const char *msg);

#endif /* FL_HTTP_AWS_H */

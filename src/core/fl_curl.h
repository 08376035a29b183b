/* SPDX-License-Identifier: MIT
 *
 * fl_curl.h -- libcurl's process-wide initialisation, done once whoever
 * needs libcurl first (the alarm webhooks, the S3 client).
 *
 * Thread: any.
 */
#ifndef FL_CURL_H
#define FL_CURL_H

/* curl_global_init, once. Returns 0, or FL_ENOMEM when it failed. */
int fl_curl_init(void);

#endif /* FL_CURL_H */

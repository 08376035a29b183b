/* SPDX-License-Identifier: MIT
 *
 * fl_curl.c -- curl_global_init once per process (fl_curl.h). libcurl
 * asks for it before any other thread uses libcurl; pthread_once makes
 * the first caller do it whichever thread that is.
 */
#include "fl_config.h"

#include <curl/curl.h>
#include <pthread.h>

#include "fl_curl.h"
#include "fl_error.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_rc;     /* written once, under curl_once */


static void
curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK
                   ? FL_OK : FL_ENOMEM;
}


int
fl_curl_init(void)
{
    pthread_once(&curl_once, curl_init_once);
    return curl_init_rc;
}

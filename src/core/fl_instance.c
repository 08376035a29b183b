/* SPDX-License-Identifier: MIT
 *
 * fl_instance.c -- the process's instance id (fl_instance.h). A global,
 * on purpose: it is the process's identity, set once before any thread
 * starts and then only read, and every writer of archive files needs it
 * (convert, the server's publishes, compaction) without it being passed
 * through each of them.
 */
#include "fl_config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fl_error.h"
#include "fl_instance.h"

static char instance_id[FL_INSTANCE_MAX + 1];


int
fl_instance_valid(const char *id)
{
    size_t len = id != NULL ? strlen(id) : 0;
    if (len == 0 || len > FL_INSTANCE_MAX)
        return 0;
    return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789-") == len;
}


/* The host name made into an id ("localhost" if it has none). */
static void
from_hostname(char *out)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) < 0 || host[0] == '\0')
        snprintf(host, sizeof host, "localhost");
    size_t o = 0;
    for (const char *p = host; *p != '\0' && o < FL_INSTANCE_MAX; p++) {
        char c = *p;
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                 || (c >= '0' && c <= '9') || c == '-';
        out[o++] = ok ? c : '-';
    }
    out[o] = '\0';
}


int
fl_instance_set(const char *id)
{
    if (id == NULL || id[0] == '\0') {
        from_hostname(instance_id);
        return FL_OK;
    }
    if (!fl_instance_valid(id))
        return FL_ECONFIG;
    snprintf(instance_id, sizeof instance_id, "%s", id);
    return FL_OK;
}


const char *
fl_instance_id(void)
{
    if (instance_id[0] == '\0')
        from_hostname(instance_id);
    return instance_id;
}

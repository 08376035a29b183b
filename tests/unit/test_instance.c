/* SPDX-License-Identifier: MIT
 *
 * test_instance.c -- the instance id (src/core/fl_instance.h): what is a
 * valid id; the host name made into one by default; an id that is set is
 * what run ids -- and so every file name -- carry.
 */
#include "../../src/core/fl_config.h"

#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "archive/archive_int.h"
#include "archive/convert.h"
#include "core/fl_error.h"
#include "core/fl_instance.h"


static void
test_valid_ids(void)
{
    CHECK(fl_instance_valid("collector-a"));
    CHECK(fl_instance_valid("A1"));
    CHECK(fl_instance_valid("abcdefghijklmnopqrstuvwxyz012345"));      /* 32 */
    CHECK(!fl_instance_valid("abcdefghijklmnopqrstuvwxyz0123456"));    /* 33 */
    CHECK(!fl_instance_valid(""));
    CHECK(!fl_instance_valid(NULL));
    CHECK(!fl_instance_valid("a_b"));
    CHECK(!fl_instance_valid("a.b"));
    CHECK(!fl_instance_valid("a/b"));
    CHECK_EQ_INT(fl_instance_set("a b"), FL_ECONFIG);
}


static void
test_default_is_the_host_name(void)
{
    char host[256] = "";
    CHECK_EQ_INT(gethostname(host, sizeof host - 1), 0);
    CHECK_EQ_INT(fl_instance_set(""), 0);
    const char *id = fl_instance_id();
    CHECK(fl_instance_valid(id));
    CHECK_EQ_INT(strlen(id), strlen(host) < 32 ? strlen(host) : 32);
    for (size_t i = 0; id[i] != '\0'; i++)
        CHECK(id[i] == host[i] || (id[i] == '-' && strchr("-", host[i]) == NULL));
}


static void
test_run_ids_carry_it(void)
{
    char run[FL_ARCHIVE_RUN_ID_MAX];
    CHECK_EQ_INT(fl_instance_set("collector-a"), 0);
    CHECK_EQ_STR(fl_instance_id(), "collector-a");
    fl_archive_run_id(run, sizeof run);
    /* YYYYMMDDTHHMMSSZ-collector-a-xxxxxxxx */
    CHECK_EQ_INT(strlen(run), 17 + 11 + 9);
    CHECK(run[8] == 'T' && run[15] == 'Z' && run[16] == '-');
    CHECK(strncmp(run + 17, "collector-a-", 12) == 0);
    CHECK(strspn(run + 29, "0123456789abcdef") == 8);
    /* The longest id still fits. */
    CHECK_EQ_INT(fl_instance_set("abcdefghijklmnopqrstuvwxyz012345"), 0);
    fl_archive_run_id(run, sizeof run);
    CHECK_EQ_INT(strlen(run), 17 + 33 + 8);
}


FL_TEST_MAIN(
    FL_TEST(test_valid_ids),
    FL_TEST(test_default_is_the_host_name),
    FL_TEST(test_run_ids_carry_it)
)

/* SPDX-License-Identifier: MIT
 *
 * test_error.c -- core/fl_error: every return code has a text and an HTTP
 * status (both come from the one table of fl_error.h), and the pairs the
 * server's clients see keep their values; the error carrier struct fl_err.
 */
#include "../../src/core/fl_config.h"

#include <string.h>

#include "harness.h"
#include "core/fl_error.h"


static void
test_every_code(void)
{
#define ROW_(name, value, text, status) { name, #name },
    static const struct { int rc; const char *name; } codes[] = {
        FL_ERROR_CODES(ROW_)
    };
#undef ROW_
    size_t n = sizeof codes / sizeof codes[0];
    CHECK(n >= 7);
    for (size_t i = 0; i < n; i++) {
        const char *t = fl_strerror(codes[i].rc);
        unsigned st = fl_http_status(codes[i].rc);
        CHECK(codes[i].rc < -4095);
        CHECK(t != NULL && t[0] != '\0');
        CHECK(strcmp(t, "unknown error") != 0);
        CHECK(st >= 400 && st <= 599);
        /* One value per code. */
        for (size_t j = 0; j < i; j++)
            CHECK(codes[j].rc != codes[i].rc);
    }
}


static void
test_exact_pairs(void)
{
    CHECK_EQ_STR(fl_strerror(FL_OK), "ok");
    CHECK_EQ_INT(fl_http_status(FL_OK), 200);
    CHECK_EQ_INT(fl_http_status(1), 200);
    CHECK_EQ_INT(FL_EPARSE, -4096);
    CHECK_EQ_INT(FL_ETRUNC, -4102);
    CHECK_EQ_STR(fl_strerror(FL_EPARSE), "parse error");
    CHECK_EQ_INT(fl_http_status(FL_EPARSE), 400);
    CHECK_EQ_STR(fl_strerror(FL_ETOOBIG), "too big");
    CHECK_EQ_INT(fl_http_status(FL_ETOOBIG), 413);
    CHECK_EQ_STR(fl_strerror(FL_ECORRUPT), "corrupt input");
    CHECK_EQ_INT(fl_http_status(FL_ECORRUPT), 400);
    CHECK_EQ_STR(fl_strerror(FL_EDB), "SQL engine error");
    CHECK_EQ_INT(fl_http_status(FL_EDB), 500);
    CHECK_EQ_STR(fl_strerror(FL_ETRUNC), "truncated input");
    CHECK_EQ_INT(fl_http_status(FL_ETRUNC), 400);
}


static void
test_errno_codes(void)
{
    /* errno values keep strerror's text; 503 only where retrying helps. */
    CHECK_EQ_STR(fl_strerror(FL_ENOMEM), strerror(ENOMEM));
    CHECK_EQ_STR(fl_strerror(-ENOSPC), strerror(ENOSPC));
    CHECK_EQ_INT(fl_http_status(FL_ENOMEM), 503);
    CHECK_EQ_INT(fl_http_status(FL_EAGAIN), 503);
    CHECK_EQ_INT(fl_http_status(-ENOSPC), 500);
    CHECK_EQ_INT(fl_http_status(-EACCES), 500);
    CHECK_EQ_INT(fl_http_status(-EIO), 500);
    /* Neither errno nor in the table. */
    CHECK_EQ_STR(fl_strerror(-5000), "unknown error");
    CHECK_EQ_INT(fl_http_status(-5000), 500);
}


static void
test_carrier(void)
{
    struct fl_err e = FL_ERR_INIT;
    CHECK_EQ_STR(fl_err_msg(&e), "ok");
    CHECK_EQ_INT(fl_err_set(&e, FL_EPARSE, "line %d: %s", 3, "bad"),
                 FL_EPARSE);
    CHECK_EQ_INT(e.code, FL_EPARSE);
    CHECK_EQ_STR(fl_err_msg(&e), "line 3: bad");
    CHECK_EQ_INT(fl_err_oom(&e), FL_ENOMEM);
    CHECK_EQ_STR(e.msg, "out of memory");
    /* Without a message, the code's text. */
    e.msg[0] = '\0';
    e.code = FL_ETOOBIG;
    CHECK_EQ_STR(fl_err_msg(&e), "too big");
    /* Truncated to fit; NULL is allowed and only returns the code. */
    char big[FL_ERR_MSG_MAX + 100];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    fl_err_set(&e, FL_ECONFIG, "%s", big);
    CHECK_EQ_INT(strlen(e.msg), FL_ERR_MSG_MAX - 1);
    CHECK_EQ_INT(fl_err_set(NULL, FL_EDB, "x"), FL_EDB);
    CHECK_EQ_INT(fl_err_oom(NULL), FL_ENOMEM);
}


FL_TEST_MAIN(
    FL_TEST(test_every_code),
    FL_TEST(test_exact_pairs),
    FL_TEST(test_errno_codes),
    FL_TEST(test_carrier)
)

/* SPDX-License-Identifier: MIT
 *
 * test_dashboards.c -- the rules of the web UI's dashboards
 * (src/http/dashboards.c): which names may be saved, which documents are
 * dashboards (and what the refusal says), and that the embedded default
 * dashboard passes its own checks.
 */
#include "../../src/core/fl_config.h"

#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "http/dashboards.h"
#include "http/ui.h"

static void
test_names(void)
{
    char long_name[80];
    CHECK(fl_dashboard_name_ok("VPC-Flow-Log-Analysis"));
    CHECK(fl_dashboard_name_ok("ops_2.v1"));
    CHECK(fl_dashboard_name_ok("a"));
    CHECK(!fl_dashboard_name_ok(""));
    CHECK(!fl_dashboard_name_ok(NULL));
    CHECK(!fl_dashboard_name_ok(".hidden"));
    CHECK(!fl_dashboard_name_ok(".."));
    CHECK(!fl_dashboard_name_ok("../x"));
    CHECK(!fl_dashboard_name_ok("a/b"));
    CHECK(!fl_dashboard_name_ok("a b"));
    CHECK(!fl_dashboard_name_ok("caf\xc3\xa9"));
    memset(long_name, 'n', 64);
    long_name[64] = '\0';
    CHECK(fl_dashboard_name_ok(long_name));
    long_name[64] = 'n';
    long_name[65] = '\0';
    CHECK(!fl_dashboard_name_ok(long_name));
}


/* Whether text is refused with a message containing want (NULL: taken). */
static void
check_doc(const char *text, const char *want)
{
    struct fl_err err = FL_ERR_INIT;
    int rc = fl_dashboard_validate(text, strlen(text), &err);
    if (want == NULL) {
        CHECK_EQ_INT(rc, 0);
        return;
    }
    CHECK_EQ_INT(rc, FL_EPARSE);
    CHECK_EQ_INT(err.code, FL_EPARSE);
    if (strstr(err.msg, want) == NULL)
        fprintf(stderr, "  got \"%s\", wanted \"%s\"\n", err.msg, want);
    CHECK(strstr(err.msg, want) != NULL);
}


static void
test_validate(void)
{
    check_doc("{\"widgets\":[]}", NULL);
    check_doc("{\"name\":\"x\",\"title\":\"t\",\"widgets\":[{\"id\":\"a\","
              "\"type\":\"sql\",\"sql\":\"SELECT 1\",\"w\":12,\"h\":1,"
              "\"x\":0,\"y\":0,\"options\":{}}]}", NULL);
    check_doc("{\"widgets\":[", "not JSON");
    check_doc("", "not JSON");
    check_doc("[]", "a dashboard is a JSON object");
    check_doc("{\"title\":1,\"widgets\":[]}", "\"title\" must be a string");
    check_doc("{}", "needs a \"widgets\" array");
    check_doc("{\"widgets\":{}}", "needs a \"widgets\" array");
    check_doc("{\"widgets\":[1]}", "widget 0 is not an object");
    check_doc("{\"widgets\":[{\"w\":1,\"h\":1,\"x\":0,\"y\":0}]}",
              "widget 0: \"type\" must be a string");
    check_doc("{\"widgets\":[{\"type\":\"pie\",\"w\":1,\"h\":1,\"x\":0,"
              "\"y\":0}]}", "widget 0: unknown type \"pie\"");
    check_doc("{\"widgets\":[{\"type\":\"metric\",\"w\":\"4\",\"h\":1,"
              "\"x\":0,\"y\":0}]}", "widget 0: \"w\" must be a number");
    check_doc("{\"widgets\":[{\"type\":\"metric\",\"w\":13,\"h\":1,"
              "\"x\":0,\"y\":0}]}", "\"w\" must be a whole number from 1 to 12");
    check_doc("{\"widgets\":[{\"type\":\"metric\",\"w\":1.5,\"h\":1,"
              "\"x\":0,\"y\":0}]}", "\"w\" must be a whole number");
    check_doc("{\"widgets\":[{\"type\":\"metric\",\"w\":1,\"h\":1,"
              "\"x\":0}]}", "\"y\" must be a number");
    check_doc("{\"widgets\":[{\"type\":\"top\",\"metrics\":\"a\",\"w\":1,"
              "\"h\":1,\"x\":0,\"y\":0}]}", "\"metrics\" must be an array");
    check_doc("{\"widgets\":[{\"type\":\"top\",\"dims\":[],\"w\":1,"
              "\"h\":1,\"x\":0,\"y\":0}]}", "\"dims\" must be an object");
    check_doc("{\"widgets\":[],\"widgets\":[]}", "not JSON");
    /* options.chart: line or bar, nothing else. */
    check_doc("{\"widgets\":[{\"type\":\"metric\",\"w\":1,\"h\":1,"
              "\"x\":0,\"y\":0,\"options\":{\"chart\":\"bar\"}}]}", NULL);
    check_doc("{\"widgets\":[{\"type\":\"metric\",\"w\":1,\"h\":1,"
              "\"x\":0,\"y\":0,\"options\":{\"chart\":\"line\"}}]}", NULL);
    check_doc("{\"widgets\":[{\"type\":\"alarms\",\"w\":1,\"h\":1,"
              "\"x\":0,\"y\":0},{\"type\":\"metric\",\"w\":1,\"h\":1,"
              "\"x\":0,\"y\":0,\"options\":{\"chart\":\"pie\"}}]}",
              "widget 1: \"options.chart\" must be \"line\" or \"bar\"");
    check_doc("{\"widgets\":[{\"type\":\"metric\",\"w\":1,\"h\":1,"
              "\"x\":0,\"y\":0,\"options\":{\"chart\":1}}]}",
              "widget 0: \"options.chart\" must be");
    check_doc("{\"widgets\":[{\"type\":\"metric\",\"w\":1,\"h\":1,"
              "\"x\":0,\"y\":0,\"options\":{\"chart\":\"Bar\"}}]}",
              "\"options.chart\" must be");

    /* 100 widgets are taken, 101 are not. */
    const char *one = "{\"type\":\"alarms\",\"w\":1,\"h\":1,\"x\":0,\"y\":0}";
    static char doc[101 * 64 + 32];
    size_t o = (size_t)snprintf(doc, sizeof doc, "{\"widgets\":[");
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(doc + o, sizeof doc - o, "%s%s", i ? "," : "",
                              one);
    snprintf(doc + o, sizeof doc - o, "]}");
    check_doc(doc, NULL);
    snprintf(doc + o, sizeof doc - o, ",%s]}", one);
    check_doc(doc, "101 widgets: at most 100");
}


static void
test_default(void)
{
    const struct fl_ui_asset *a = fl_ui_find("/ui/dashboard-default.json");
    struct fl_err err = FL_ERR_INIT;
    CHECK(a != NULL);
    CHECK(strstr(a->type, "application/json") != NULL);
    CHECK_EQ_INT(fl_dashboard_validate((const char *)a->plain, a->plain_len,
                                       &err), 0);
    CHECK(a->plain_len <= FL_DASHBOARD_MAX_BYTES);
}


FL_TEST_MAIN(
    FL_TEST(test_names),
    FL_TEST(test_validate),
    FL_TEST(test_default),
)

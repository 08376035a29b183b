/* SPDX-License-Identifier: MIT
 *
 * test_outbox.c -- the archive's outbox (src/archive/outbox.h) and its
 * change files (change.c): an archive without an outbox records nothing;
 * enabling it makes the archive's Parquet files (and nothing of its own
 * folders) the first change, as hard links; a prepared change is invisible
 * until committed, then listed after every earlier one; a discarded one is
 * gone, and the clean-up of prepared changes keeps what it is told to
 * keep; change files parse to exactly their lines, and a bad line, a path
 * leaving the prefix or a torn file is refused with where.
 */
#include "../../src/core/fl_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "archive/outbox.h"
#include "core/fl_error.h"
#include "core/fl_fs.h"
#include "core/fl_mem.h"

#define HOUR0 "year=2024/month=05/day=01/hour=00"


static void
write_file(const char *rel, const char *text)
{
    char *dir = fl_strdup(fl_test_at(rel));
    CHECK(dir != NULL);
    *strrchr(dir, '/') = '\0';
    CHECK_EQ_INT(fl_fs_mkdirs(dir), 0);
    fl_free(dir);
    CHECK_EQ_INT(fl_fs_write_atomic(fl_test_at(rel), text, strlen(text)), 0);
}


static char *
read_text(const char *path)
{
    char *text = NULL;
    CHECK_EQ_INT(fl_fs_read_file(path, 1 << 20, &text, NULL), 0);
    return text;
}


/* The committed changes' names, ' '-joined, each without its sequence. */
static void
listed(char *out, size_t cap)
{
    char **names = NULL;
    size_t n = 0, o = 0;
    CHECK_EQ_INT(fl_outbox_list(fl_test_root, &names, &n), 0);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? " " : "",
                              strchr(names[i], '-') + 1);
    fl_outbox_names_free(names);
}


static void
test_disabled_records_nothing(void)
{
    struct fl_err err = FL_ERR_INIT;
    fl_test_dir_setup("outbox");
    write_file(HOUR0 "/part-a-0.parquet", "A");
    CHECK_EQ_INT(fl_outbox_enabled(fl_test_root), 0);
    CHECK_EQ_INT(fl_outbox_prepare(fl_test_root, "r1", fl_test_root,
                                   HOUR0 "/part-a-0.parquet\n", "", NULL,
                                   &err), 0);
    CHECK_EQ_INT(fl_outbox_commit(fl_test_root, "r1", &err), 0);
    struct stat st;
    CHECK(stat(fl_test_at(FL_OUTBOX_DIR), &st) < 0);
    fl_test_dir_teardown();
}


static void
test_enable_takes_the_archive(void)
{
    struct fl_err err = FL_ERR_INIT;
    char names[512];
    fl_test_dir_setup("outbox");
    write_file(HOUR0 "/part-a-0.parquet", "AAAA");
    write_file("year=2024/month=05/day=01/hour=01/part-a-0.parquet", "BB");
    write_file("_metrics/final-1.parquet", "metric");
    write_file("_errors/convert-x.jsonl", "{}");
    write_file(HOUR0 "/notes.txt", "not data");
    CHECK_EQ_INT(fl_outbox_enable(fl_test_root, &err), 0);
    CHECK_EQ_INT(fl_outbox_enabled(fl_test_root), 1);
    listed(names, sizeof names);
    CHECK_EQ_STR(names, "initial");
    char **list = NULL;
    size_t n = 0;
    CHECK_EQ_INT(fl_outbox_list(fl_test_root, &list, &n), 0);
    char dir[256];
    snprintf(dir, sizeof dir, FL_OUTBOX_DIR "/%s", list[0]);
    fl_outbox_names_free(list);
    char path[512];
    snprintf(path, sizeof path, "%s/change", fl_test_at(dir));
    char *text = read_text(path);
    /* The walk's order is the file system's: both lines, in either. */
    CHECK(strstr(text, "\t4\t" HOUR0 "/part-a-0.parquet\n") != NULL);
    CHECK(strstr(text, "\t2\tyear=2024/month=05/day=01/hour=01/part-a-0.parquet\n") != NULL);
    CHECK(strstr(text, "_metrics") == NULL && strstr(text, "notes") == NULL);
    struct fl_change_item *items = NULL;
    size_t ni = 0;
    CHECK_EQ_INT(fl_change_parse(path, text, &items, &ni, &err), 0);
    CHECK_EQ_INT(ni, 2);
    /* Hard links: the same inode as the archive's file. */
    struct stat a, l;
    snprintf(path, sizeof path, "%s/files/%u", fl_test_at(dir),
             strstr(items[0].rel, "hour=00") ? items[0].index : items[1].index);
    CHECK_EQ_INT(stat(path, &l), 0);
    CHECK_EQ_INT(stat(fl_test_at(HOUR0 "/part-a-0.parquet"), &a), 0);
    CHECK_EQ_INT(a.st_ino, l.st_ino);
    fl_free(items);
    fl_free(text);
    /* Enabling again changes nothing. */
    CHECK_EQ_INT(fl_outbox_enable(fl_test_root, &err), 0);
    listed(names, sizeof names);
    CHECK_EQ_STR(names, "initial");
    fl_test_dir_teardown();
}


static void
test_prepare_commit_discard(void)
{
    struct fl_err err = FL_ERR_INIT;
    char names[512];
    fl_test_dir_setup("outbox");
    CHECK_EQ_INT(fl_outbox_enable(fl_test_root, &err), 0);
    listed(names, sizeof names);
    CHECK_EQ_STR(names, "");                 /* an empty archive */
    write_file("staging/fl_hour=1/part-r1-0.parquet", "R1");
    CHECK_EQ_INT(fl_outbox_prepare(fl_test_root, "r1", fl_test_at("staging"),
                                   "fl_hour=1/part-r1-0.parquet\t" HOUR0
                                   "/part-r1-0.parquet\nEND\n", "", NULL,
                                   &err), 0);
    listed(names, sizeof names);
    CHECK_EQ_STR(names, "");                 /* prepared: not yet there */
    write_file("staging/m.parquet", "M");
    CHECK_EQ_INT(fl_outbox_prepare(fl_test_root, "compact-x-1",
                                   fl_test_at("staging"), "m.parquet\n",
                                   HOUR0 "/", HOUR0 "/part-r1-0.parquet\n",
                                   &err), 0);
    CHECK_EQ_INT(fl_outbox_commit(fl_test_root, "r1", &err), 0);
    CHECK_EQ_INT(fl_outbox_commit(fl_test_root, "compact-x-1", &err), 0);
    CHECK_EQ_INT(fl_outbox_commit(fl_test_root, "never-prepared", &err), 0);
    listed(names, sizeof names);
    CHECK_EQ_STR(names, "r1 compact-x-1");   /* in commit order */

    char **list = NULL;
    size_t n = 0;
    CHECK_EQ_INT(fl_outbox_list(fl_test_root, &list, &n), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/%s/change", fl_test_at(FL_OUTBOX_DIR),
             list[1]);
    char *text = read_text(path);
    CHECK_EQ_STR(text, "put\t0\t1\t" HOUR0 "/m.parquet\n"
                       "delete\t" HOUR0 "/part-r1-0.parquet\nend\n");
    fl_free(text);
    snprintf(path, sizeof path, "%s/%s/change", fl_test_at(FL_OUTBOX_DIR),
             list[0]);
    text = read_text(path);
    CHECK_EQ_STR(text, "put\t0\t2\t" HOUR0 "/part-r1-0.parquet\nend\n");
    fl_free(text);
    fl_outbox_names_free(list);

    /* Prepared, then dropped; the clean-up keeps what keep() says. */
    CHECK_EQ_INT(fl_outbox_prepare(fl_test_root, "r2", fl_test_root, NULL,
                                   "", "x/\n", &err), 0);
    CHECK_EQ_INT(fl_outbox_prepare(fl_test_root, "compact-y-1", fl_test_root,
                                   NULL, "", "y/\n", &err), 0);
    fl_outbox_discard(fl_test_root, "r2");
    struct stat st;
    CHECK(stat(fl_test_at(FL_OUTBOX_DIR "/.new-r2"), &st) < 0);
    CHECK_EQ_INT(fl_outbox_prepare(fl_test_root, "r3", fl_test_root, NULL,
                                   "", "z/\n", &err), 0);
    fl_outbox_discard_prepared(fl_test_root, "r", NULL, NULL);
    CHECK(stat(fl_test_at(FL_OUTBOX_DIR "/.new-r3"), &st) < 0);
    CHECK_EQ_INT(stat(fl_test_at(FL_OUTBOX_DIR "/.new-compact-y-1"), &st), 0);
    fl_outbox_discard_prepared(fl_test_root, "compact-", NULL, NULL);
    CHECK(stat(fl_test_at(FL_OUTBOX_DIR "/.new-compact-y-1"), &st) < 0);
    listed(names, sizeof names);
    CHECK_EQ_STR(names, "r1 compact-x-1");

    /* A file that is not there: the prepare fails, saying which. */
    CHECK(fl_outbox_prepare(fl_test_root, "r4", fl_test_root,
                            "no/such.parquet\n", "", NULL, &err) == -ENOENT);
    CHECK(strstr(err.msg, "no/such.parquet") != NULL);
    CHECK(stat(fl_test_at(FL_OUTBOX_DIR "/.new-r4"), &st) < 0);
    fl_test_dir_teardown();
}


static void
test_change_files(void)
{
    struct fl_change_item *items = NULL;
    size_t n = 0;
    struct fl_err err = FL_ERR_INIT;
    char good[] = "put\t0\t10\ta/b.parquet\nput\t1\t0\ta/c.parquet\n"
                  "delete\ta/old.parquet\ndelete\tyear=2024/hour=01/\nend\n";
    CHECK_EQ_INT(fl_change_parse("c", good, &items, &n, &err), 0);
    CHECK_EQ_INT(n, 4);
    CHECK(items[0].put && items[0].index == 0 && items[0].bytes == 10);
    CHECK_EQ_STR(items[0].rel, "a/b.parquet");
    CHECK(items[1].put && items[1].index == 1 && items[1].bytes == 0);
    CHECK(!items[2].put);
    CHECK_EQ_STR(items[2].rel, "a/old.parquet");
    CHECK_EQ_STR(items[3].rel, "year=2024/hour=01/");
    fl_free(items);

    static const struct { const char *text; int rc; const char *msg; } bad[] = {
        { "put\t0\t10\ta/b\n", FL_ETRUNC, "c: no \"end\" line" },
        { "put\t0\t10\ta/b\nend", FL_ETRUNC, "no \"end\" line" },
        { "put\t0\t10\ta/b\nput\t2\t1\tc\nend\n", FL_ECORRUPT, "c:2: not a change line" },
        { "put\t0\tten\ta/b\nend\n", FL_ECORRUPT, "c:1:" },
        { "put\t0\t1\ta/../../etc/passwd\nend\n", FL_ECORRUPT, "c:1:" },
        { "delete\t/etc\nend\n", FL_ECORRUPT, "c:1:" },
        { "put\t0\t1\ta/\nend\n", FL_ECORRUPT, "c:1:" },
        { "delete\ta//b\nend\n", FL_ECORRUPT, "c:1:" },
        { "move\ta\tb\nend\n", FL_ECORRUPT, "c:1:" },
        { "end\ndelete\ta\n", FL_ECORRUPT, "c:2: a line after \"end\"" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *t = fl_strdup(bad[i].text);
        struct fl_err e = FL_ERR_INIT;
        int rc = fl_change_parse("c", t, &items, &n, &e);
        if (rc != bad[i].rc || strstr(e.msg, bad[i].msg) == NULL)
            fprintf(stderr, "  case %zu: rc %d, \"%s\"\n", i, rc, e.msg);
        CHECK_EQ_INT(rc, bad[i].rc);
        CHECK(strstr(e.msg, bad[i].msg) != NULL);
        CHECK(items == NULL && n == 0);
        fl_free(t);
    }
}


FL_TEST_MAIN(
    FL_TEST(test_disabled_records_nothing),
    FL_TEST(test_enable_takes_the_archive),
    FL_TEST(test_prepare_commit_discard),
    FL_TEST(test_change_files)
)

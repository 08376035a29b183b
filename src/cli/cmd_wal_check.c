/* SPDX-License-Identifier: MIT
 *
 * cmd_wal_check.c -- `flowlake wal-check DIR`: the redis-check-aof of
 * flowlake's write-ahead log (src/wal/, docs/wal.md).
 *
 * Without --fix it only reads (fl_wal_scan takes no lock and writes
 * nothing): it lists the segment files, counts the valid records, shows
 * their sequence range and the checkpoint, and reports a torn tail or a
 * corruption with the segment, byte offset and what recovery would drop.
 * With --fix it opens the WAL the way `flowlake serve` does, which cuts a
 * torn tail off; with --fix --force it opens it with FL_WAL_REPAIR, which
 * also cuts the log at a corruption. It refuses to fix a WAL that a
 * running process holds open.
 *
 * Exit status: 0 clean (or made clean by --fix); 1 problems found, or the
 * fix failed or was refused; 2 usage error.
 */
#include "../core/fl_config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../core/fl_error.h"
#include "../wal/wal.h"
#include "cli.h"
#include "commands.h"

#define PROG "flowlake wal-check"

static const char usage_text[] =
"usage: flowlake wal-check [options] DIR\n"
"\n"
"Check the write-ahead log in DIR (the WAL directory of 'flowlake serve')\n"
"without changing it: list its segment files, count the records, show the\n"
"sequence range and the checkpoint, and report a torn tail or corruption\n"
"with its byte offset and what recovery would drop.\n"
"\n"
"options:\n"
"  --fix        cut a torn tail off (what 'flowlake serve' does when it\n"
"               starts); a corruption is left alone unless --force is\n"
"               given too\n"
"  --force      with --fix, also cut the log at the first corruption: the\n"
"               damaged record and everything after it are deleted (the\n"
"               report says whether valid records were among them)\n"
"  -q, --quiet  print only problems and the final status line\n"
"  -h, --help   show this help and exit\n"
"  --version    show the version of flowlake and exit\n"
"\n"
"A torn tail is what a crash during a write leaves; it was never\n"
"acknowledged. Stop the server before --fix: a WAL in use is refused.\n"
"\n"
"Exit status: 0 clean (or made clean by --fix), 1 problems found or the\n"
"fix failed, 2 usage error.\n";


static const char *
state_name(enum fl_wal_segment_state st)
{
    switch (st) {
    case FL_WAL_SEG_OK:        return "ok";
    case FL_WAL_SEG_PUBLISHED: return "published";
    case FL_WAL_SEG_DAMAGED:   return "DAMAGED";
    case FL_WAL_SEG_DROPPED:   return "DROPPED";
    }
    return "?";
}


static int
print_segment(void *ctx, const struct fl_wal_segment *seg)
{
    (void)ctx;
    printf("segment %s  %-9s ", seg->name, state_name(seg->state));
    switch (seg->state) {
    case FL_WAL_SEG_PUBLISHED:
        printf("%" PRIu64 " bytes, all records <= checkpoint (not read)\n",
               seg->size);
        break;
    case FL_WAL_SEG_DROPPED:
        printf("%" PRIu64 " bytes after the damage (not trusted)\n",
               seg->size);
        break;
    default:
        if (seg->records > 0)
            printf("seq %" PRIu64 "..%" PRIu64 ", %" PRIu64 " records, ",
                   seg->first_seq, seg->last_seq, seg->records);
        else
            printf("no records, ");
        if (seg->state == FL_WAL_SEG_DAMAGED)
            printf("%" PRIu64 " of %" PRIu64 " bytes valid\n",
                   seg->valid_bytes, seg->size);
        else
            printf("%" PRIu64 " bytes\n", seg->size);
        break;
    }
    return 0;
}


static int
has_problems(const struct fl_wal_recovery *r)
{
    return r->damage != FL_WAL_DAMAGE_NONE || r->checkpoint_damaged
           || r->missing > 0;
}


/* Prints the report; returns 1 when it shows problems. */
static int
report(const char *dir, const struct fl_wal_recovery *r, int quiet)
{
    if (!quiet) {
        if (r->checkpoint_damaged)
            printf("checkpoint  DAMAGED (unreadable checkpoint file)\n");
        else if (r->checkpoint > 0)
            printf("checkpoint  %" PRIu64 " (records <= %" PRIu64
                   " are published)\n", r->checkpoint, r->checkpoint);
        else
            printf("checkpoint  none\n");
        printf("segments    %" PRIu64 " (%" PRIu64 " published), %" PRIu64
               " bytes\n", r->segments, r->published_segments, r->bytes);
        if (r->records > 0) {
            uint64_t above = r->last_seq > r->checkpoint
                ? r->last_seq - (r->first_seq > r->checkpoint
                                 ? r->first_seq - 1 : r->checkpoint)
                : 0;
            printf("records     %" PRIu64 " valid, seq %" PRIu64 "..%" PRIu64
                   ", %" PRIu64 " not yet published\n", r->records,
                   r->first_seq, r->last_seq, above);
        } else {
            printf("records     0 valid\n");
        }
    }
    if (r->in_use)
        printf("note: the WAL is in use by a running process; its last "
               "frame may still be in flight\n");
    if (r->missing > 0)
        printf("%s: %" PRIu64 " records between the checkpoint and the first "
               "segment are missing (a segment file was removed?)\n", dir,
               r->missing);
    if (r->checkpoint_damaged)
        printf("%s: the checkpoint file is damaged; --fix --force replays "
               "every record still in the WAL (duplicates possible)\n", dir);
    if (r->damage != FL_WAL_DAMAGE_NONE) {
        printf("%s: %s in %s at byte %" PRIu64 " (expected seq %" PRIu64
               "): %s; %" PRIu64 " bytes would be dropped",
               dir, fl_wal_damage_name(r->damage), r->damage_segment,
               r->damage_offset, r->damage_seq, r->reason, r->dropped_bytes);
        if (r->dropped_segments > 0)
            printf(", with %" PRIu64 " later segment%s", r->dropped_segments,
                   r->dropped_segments == 1 ? "" : "s");
        printf("\n");
        if (r->valid_after)
            printf("%s: valid data follows the damage: cutting it off loses "
                   "records that may have been acknowledged\n", dir);
    }
    return has_problems(r);
}


static void
print_status(const struct fl_wal_recovery *r)
{
    if (!has_problems(r))
        printf("status: clean\n");
    else if (r->damage == FL_WAL_DAMAGE_TORN && !r->checkpoint_damaged
             && r->missing == 0)
        printf("status: torn tail (normal after a crash; 'flowlake serve' "
               "cuts it off when it starts, or run with --fix)\n");
    else if (r->damage == FL_WAL_DAMAGE_CORRUPT || r->checkpoint_damaged)
        printf("status: CORRUPT ('flowlake serve' refuses to start; "
               "--fix --force cuts the log at the damage)\n");
    else
        printf("status: records missing\n");
}


static int
fix(const char *dir, const struct fl_wal_recovery *r, int force)
{
    struct fl_wal_options opts;
    struct fl_wal_recovery after;
    struct fl_wal *w = NULL;
    int rc;

    if (r->damage == FL_WAL_DAMAGE_NONE && !r->checkpoint_damaged) {
        printf("nothing to fix%s\n", r->missing ? " (missing records cannot "
               "be restored)" : "");
        return has_problems(r);
    }
    if (r->in_use) {
        fprintf(stderr, PROG ": %s is in use by a running process; stop it "
                "before --fix\n", dir);
        return 1;
    }
    if ((r->damage == FL_WAL_DAMAGE_CORRUPT || r->checkpoint_damaged)
        && !force) {
        printf("not fixed: corruption is cut off only with --fix --force\n");
        return 1;
    }
    memset(&opts, 0, sizeof opts);
    opts.flags = force ? FL_WAL_REPAIR : 0;
    rc = fl_wal_open(dir, &opts, NULL, NULL, &after, &w);
    if (rc == -EBUSY) {
        fprintf(stderr, PROG ": %s is in use by a running process; stop it "
                "first\n", dir);
        return 1;
    }
    if (rc < 0) {
        fprintf(stderr, PROG ": %s: fix failed: %s\n", dir, fl_strerror(rc));
        return 1;
    }
    rc = fl_wal_close(w);
    if (rc < 0) {
        fprintf(stderr, PROG ": %s: fix failed: %s\n", dir, fl_strerror(rc));
        return 1;
    }
    if (r->damage != FL_WAL_DAMAGE_NONE)
        printf("fixed: dropped %" PRIu64 " bytes from %s byte %" PRIu64 "\n",
               r->dropped_bytes, r->damage_segment, r->damage_offset);
    if (r->checkpoint_damaged)
        printf("fixed: rewrote the checkpoint as %" PRIu64 "\n",
               after.checkpoint);
    printf("the next record gets seq %" PRIu64 "\n", after.next_seq);

    /* Check again, from scratch, that the result is clean. */
    rc = fl_wal_scan(dir, NULL, NULL, &after);
    if (rc < 0) {
        fprintf(stderr, PROG ": %s: %s\n", dir, fl_strerror(rc));
        return 1;
    }
    report(dir, &after, 1);
    print_status(&after);
    return has_problems(&after);
}


int
fl_cmd_wal_check(int argc, char **argv)
{
    const char *dir = NULL;
    int do_fix = 0, force = 0, quiet = 0, opts_done = 0;
    struct fl_wal_recovery rec;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && a[0] == '-' && a[1] != '\0') {
            if (strcmp(a, "--") == 0) {
                opts_done = 1;
            } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                return fl_cli_help(usage_text);
            } else if (strcmp(a, "--version") == 0) {
                return fl_cli_version();
            } else if (strcmp(a, "--fix") == 0) {
                do_fix = 1;
            } else if (strcmp(a, "--force") == 0) {
                force = 1;
            } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
                quiet = 1;
            } else {
                return fl_cli_unknown_option("wal-check", a);
            }
            continue;
        }
        if (dir != NULL)
            return fl_cli_usage_error("wal-check", "one directory only ('%s' "
                                      "and '%s')", dir, a);
        dir = a;
    }
    if (dir == NULL)
        return fl_cli_usage_error("wal-check", "missing DIR");
    if (force && !do_fix)
        return fl_cli_usage_error("wal-check", "--force only goes with "
                                  "--fix");

    if (!quiet)
        printf("WAL %s\n", dir);
    int rc = fl_wal_scan(dir, quiet ? NULL : print_segment, NULL, &rec);
    if (rc < 0) {
        fprintf(stderr, PROG ": %s: %s\n", dir, fl_strerror(rc));
        return 1;
    }
    int problems = report(dir, &rec, quiet);
    if (!do_fix) {
        print_status(&rec);
        return problems ? 1 : 0;
    }
    return fix(dir, &rec, force) ? 1 : 0;
}

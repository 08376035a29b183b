/* SPDX-License-Identifier: MIT
 *
 * cmd_upload.c -- `flowlake upload`: brings an object store in step with
 * the archive once (src/s3/uploader.h, docs/s3.md): the first time, every
 * Parquet file of the archive; after that, what publishes, compactions
 * and retention changed since, in order. A running `flowlake serve` with
 * s3.url set does the same by itself.
 *
 * Exit status: 0 the store holds everything; 1 an upload failed (what is
 * left stays in the outbox for the next run); 2 usage error.
 */
#include "../core/fl_config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../config/config.h"
#include "../core/fl_error.h"
#include "../core/fl_instance.h"
#include "../s3/uploader.h"
#include "cli.h"
#include "commands.h"

#define CMD "upload"

static const char usage_text[] =
"usage: flowlake upload [options]\n"
"\n"
"Copies the archive to S3-compatible object storage, under s3.url with\n"
"the archive's own layout (year=/month=/day=/hour=/part-*.parquet), and\n"
"keeps it in step: the first run uploads every file; from then on each\n"
"publish, compaction and retention of the archive is recorded in\n"
"ARCHIVE/_flowlake/outbox/ and carried over in order -- files uploaded and\n"
"verified, then the change's manifest (_flowlake/runs/*.json), then the\n"
"objects it replaces deleted. Requests are signed with AWS Signature\n"
"Version 4 and retried with backoff.\n"
"\n"
"options:\n"
"  --archive DIR     the archive (default: archive.dir, ./flowlake-data)\n"
"  --config FILE     read the [s3] and archive.* keys from this INI file\n"
"  --url URL         s3.url: s3://BUCKET/PREFIX/\n"
"  --endpoint URL    s3.endpoint: http(s)://HOST[:PORT] of an S3-compatible\n"
"                    store (default: AWS's endpoint for s3.region)\n"
"  --region REGION   s3.region (default us-east-1)\n"
"  --path-style      s3.path_style = true (ENDPOINT/BUCKET/KEY)\n"
"  -h, --help        this text\n"
"  --version         the version of flowlake\n"
"\n"
"Credentials: s3.access_key_id and s3.secret_access_key, else the\n"
"environment's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and\n"
"AWS_SESSION_TOKEN).\n"
"\n"
"Exit status: 0 everything uploaded, 1 an upload failed (the rest waits\n"
"in the outbox), 2 usage error.\n";


static int
parse_args(int argc, char **argv, struct fl_config *cfg)
{
    enum { OPT_ARCHIVE = 256, OPT_CONFIG, OPT_URL, OPT_ENDPOINT, OPT_REGION,
           OPT_PATH_STYLE, OPT_VERSION };
    static const struct option longopts[] = {
        { "archive",    required_argument, NULL, OPT_ARCHIVE },
        { "config",     required_argument, NULL, OPT_CONFIG },
        { "url",        required_argument, NULL, OPT_URL },
        { "endpoint",   required_argument, NULL, OPT_ENDPOINT },
        { "region",     required_argument, NULL, OPT_REGION },
        { "path-style", no_argument,       NULL, OPT_PATH_STYLE },
        { "help",       no_argument,       NULL, 'h' },
        { "version",    no_argument,       NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 }
    };
    /* Each flag sets the key of the same meaning. */
    static const char *const key_of[] = {
        [OPT_ARCHIVE - OPT_ARCHIVE] = "archive.dir",
        [OPT_URL - OPT_ARCHIVE] = "s3.url",
        [OPT_ENDPOINT - OPT_ARCHIVE] = "s3.endpoint",
        [OPT_REGION - OPT_ARCHIVE] = "s3.region",
        [OPT_PATH_STYLE - OPT_ARCHIVE] = "s3.path_style",
    };
    char err[512];
    int c, rc = 0;

    if ((rc = fl_cli_config_pass(CMD, argc, argv, longopts, OPT_CONFIG,
                                 OPT_VERSION, usage_text, cfg, 0))
        != FL_CLI_GO_ON)
        return rc;
    rc = 0;
    while (rc == 0
           && (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c < OPT_ARCHIVE || c > OPT_PATH_STYLE || c == OPT_CONFIG)
            continue;
        rc = fl_config_set(cfg, key_of[c - OPT_ARCHIVE],
                           c == OPT_PATH_STYLE ? "true" : optarg, err,
                           sizeof err);
    }
    if (rc < 0)
        return fl_cli_usage_error(CMD, "%s", err);
    if (cfg->s3_url[0] == '\0')
        return fl_cli_usage_error(CMD, "no object store: give --url "
                                  "s3://BUCKET/PREFIX/ or s3.url in --config");
    return FL_CLI_GO_ON;
}


int
fl_cmd_upload(int argc, char **argv)
{
    struct fl_config cfg;
    struct fl_s3_config s3cfg;
    struct fl_uploader *u = NULL;
    struct fl_upload_stats st;
    struct fl_err err = FL_ERR_INIT;

    if (fl_config_init(&cfg) < 0) {
        fprintf(stderr, "flowlake " CMD ": %s\n", FL_OOM_TEXT);
        return 1;
    }
    int status = parse_args(argc, argv, &cfg);
    if (status != FL_CLI_GO_ON) {
        fl_config_free(&cfg);
        return status;
    }
    (void)fl_instance_set(cfg.instance_id);   /* checked with the file */
    fl_s3_config_from(&s3cfg, &cfg);
    int rc = fl_uploader_create(&s3cfg, cfg.archive_dir, &u, &err);
    if (rc == 0)
        rc = fl_uploader_run(u, &err);
    if (u != NULL) {
        fl_uploader_get_stats(u, &st);
        printf("upload to %s: %llu change%s, %llu file%s (%.1f MB) "
               "uploaded, %llu object%s deleted, %llu old manifest%s "
               "deleted, %llu request%s (%llu retried) in %.2f s; %llu "
               "change%s pending\n",
               fl_uploader_url(u), (unsigned long long)st.changes_done,
               st.changes_done == 1 ? "" : "s",
               (unsigned long long)st.files_uploaded,
               st.files_uploaded == 1 ? "" : "s", st.bytes_uploaded / 1e6,
               (unsigned long long)st.objects_deleted,
               st.objects_deleted == 1 ? "" : "s",
               (unsigned long long)st.manifests_deleted,
               st.manifests_deleted == 1 ? "" : "s",
               (unsigned long long)st.s3.requests,
               st.s3.requests == 1 ? "" : "s",
               (unsigned long long)st.s3.retries, st.seconds,
               (unsigned long long)st.pending, st.pending == 1 ? "" : "s");
    }
    if (rc < 0)
        fprintf(stderr, "flowlake " CMD ": %s\n", fl_err_msg(&err));
    fl_uploader_destroy(u);
    fl_config_free(&cfg);
    return rc < 0 ? (rc == FL_ECONFIG ? 2 : 1) : 0;
}

/* SPDX-License-Identifier: MIT
 *
 * test_s3_xml.c -- what is read of S3's answers (src/s3/xml.h): an
 * error's Code and Message with entities decoded, a value cut to its
 * buffer, an element that is not there; a ListObjectsV2 page's keys and
 * sizes, its continuation token, a Contents without a Size skipped
 * without borrowing the next one's, a stop passed back.
 */
#include "../../src/core/fl_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "s3/xml.h"


static void
test_values(void)
{
    const char *xml = "<?xml version=\"1.0\"?>\n<Error><Code>SignatureDoesNotMatch"
                      "</Code><Message>a &quot;b&quot; &amp; &lt;c&gt; &apos;d&apos; &bogus;"
                      "</Message></Error>";
    char v[64], tiny[5];
    CHECK_EQ_INT(fl_s3_xml_value(xml, NULL, "Code", v, sizeof v), 0);
    CHECK_EQ_STR(v, "SignatureDoesNotMatch");
    CHECK_EQ_INT(fl_s3_xml_value(xml, NULL, "Message", v, sizeof v), 0);
    CHECK_EQ_STR(v, "a \"b\" & <c> 'd' &bogus;");
    CHECK_EQ_INT(fl_s3_xml_value(xml, NULL, "Code", tiny, sizeof tiny), 0);
    CHECK_EQ_STR(tiny, "Sign");
    CHECK_EQ_INT(fl_s3_xml_value(xml, NULL, "UploadId", v, sizeof v), -ENOENT);
    CHECK_EQ_INT(fl_s3_xml_value("<Code>open", NULL, "Code", v, sizeof v),
                 -ENOENT);
    /* from: one after another. */
    const char *two = "<K>1</K><K>2</K>";
    const char *at = two;
    CHECK_EQ_INT(fl_s3_xml_value(two, &at, "K", v, sizeof v), 0);
    CHECK_EQ_STR(v, "1");
    CHECK_EQ_INT(fl_s3_xml_value(two, &at, "K", v, sizeof v), 0);
    CHECK_EQ_STR(v, "2");
    CHECK_EQ_INT(fl_s3_xml_value(two, &at, "K", v, sizeof v), -ENOENT);
}


struct seen {
    char     text[512];
    size_t   o;
    int      stop_at;
    int      n;
};


static int
note(void *ctx, const char *key, uint64_t size)
{
    struct seen *s = ctx;
    s->o += (size_t)snprintf(s->text + s->o, sizeof s->text - s->o,
                             "%s=%llu;", key, (unsigned long long)size);
    return ++s->n == s->stop_at ? 7 : 0;
}


static void
test_list_page(void)
{
    const char *page =
        "<ListBucketResult><Name>flows</Name>"
        "<Contents><Key>vpc/a.parquet</Key><Size>10</Size></Contents>"
        "<Contents><Key>vpc/no-size</Key></Contents>"
        "<Contents><Key>vpc/b&amp;c</Key><LastModified>x</LastModified>"
        "<Size>0</Size></Contents>"
        "<IsTruncated>true</IsTruncated>"
        "<NextContinuationToken>1/abc=</NextContinuationToken>"
        "</ListBucketResult>";
    struct seen s = { .stop_at = -1 };
    int truncated = -1;
    char token[64];
    CHECK_EQ_INT(fl_s3_xml_list_page(page, note, &s, &truncated, token,
                                     sizeof token), 0);
    CHECK_EQ_STR(s.text, "vpc/a.parquet=10;vpc/b&c=0;");
    CHECK_EQ_INT(truncated, 1);
    CHECK_EQ_STR(token, "1/abc=");

    struct seen stop = { .stop_at = 1 };
    CHECK_EQ_INT(fl_s3_xml_list_page(page, note, &stop, &truncated, token,
                                     sizeof token), 7);
    CHECK_EQ_STR(stop.text, "vpc/a.parquet=10;");

    struct seen none = { .stop_at = -1 };
    CHECK_EQ_INT(fl_s3_xml_list_page("<ListBucketResult><IsTruncated>false"
                                     "</IsTruncated></ListBucketResult>",
                                     note, &none, &truncated, token,
                                     sizeof token), 0);
    CHECK_EQ_INT(truncated, 0);
    CHECK_EQ_INT(none.n, 0);
    CHECK_EQ_INT(fl_s3_xml_list_page("not xml at all", note, &none,
                                     &truncated, token, sizeof token), 0);
    CHECK_EQ_INT(truncated, 0);
}


FL_TEST_MAIN(
    FL_TEST(test_values),
    FL_TEST(test_list_page)
)

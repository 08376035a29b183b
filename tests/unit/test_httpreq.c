/* SPDX-License-Identifier: MIT
 *
 * test_httpreq.c -- SHA-256 against the FIPS 180-2 examples and the
 * padding boundaries, and the server's request checks: which raw request
 * targets are plain paths, how an Authorization header yields a bearer
 * token, and key comparison by digest.
 */
#include "../../src/core/fl_config.h"

#include "harness.h"
#include "core/fl_httpreq.h"
#include "core/fl_sha256.h"


static void
hex(const unsigned char *d, char *out)
{
    for (int i = 0; i < FL_SHA256_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}


static void
check_sha(const char *data, size_t len, const char *want)
{
    unsigned char d[FL_SHA256_LEN];
    char h[2 * FL_SHA256_LEN + 1];
    fl_sha256(data, len, d);
    hex(d, h);
    CHECK_EQ_STR(h, want);
}


static void
test_sha256_vectors(void)
{
    char a[1000];
    memset(a, 'a', sizeof a);
    check_sha("", 0,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha("abc", 3,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* 55 bytes pad into one block, 56 need two; 64 and 119 likewise. */
    check_sha(a, 55,
        "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    check_sha(a, 56,
        "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    check_sha(a, 64,
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
    check_sha(a, 119,
        "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb");
    check_sha(a, 1000,
        "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}


static void
test_target_ok(void)
{
    static const char *const good[] = {
        "/", "/healthz", "/api/query", "/ingest?format=${version}%20${srcaddr}",
        "/ingest?format=%00", "/api/metrics?metric=a&from=2024-05-01T00:00:00Z",
        "/a.b/c..d/...", "/healthz/",
    };
    static const char *const bad[] = {
        "", "healthz", "*", "http://h/healthz", "/api/query%00.css",
        "/ingest%00/x", "/api/%71uery", "/%2e%2e/x", "//healthz", "/a//b",
        "/api/../api/query", "/..", "/.", "/./healthz", "/a/.?x=1",
        "/healthz\\x", "/heal thz", "/healthz\x01", "/healthz\x7f",
        "/h\xc3\xa9", "/healthz#frag", "/ingest?format=a b",
        "/ingest?x=\x01",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!fl_httpreq_target_ok(good[i])) {
            fprintf(stderr, "  refused good target '%s'\n", good[i]);
            CHECK(0);
        }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (fl_httpreq_target_ok(bad[i])) {
            fprintf(stderr, "  took bad target '%s'\n", bad[i]);
            CHECK(0);
        }
    CHECK(!fl_httpreq_target_ok(NULL));
}


static void
test_bearer(void)
{
    const char *tok = NULL;
    size_t len = 0;
    CHECK(fl_httpreq_bearer("Bearer abc.DEF-_~+/=", &tok, &len));
    CHECK_EQ_MEM(tok, len, "abc.DEF-_~+/=");
    CHECK(fl_httpreq_bearer("  bEARER \t k1  ", &tok, &len));
    CHECK_EQ_MEM(tok, len, "k1");
    CHECK(!fl_httpreq_bearer(NULL, &tok, &len));
    CHECK(!fl_httpreq_bearer("", &tok, &len));
    CHECK(!fl_httpreq_bearer("Bearer", &tok, &len));
    CHECK(!fl_httpreq_bearer("Bearer   ", &tok, &len));
    CHECK(!fl_httpreq_bearer("Bearerabc", &tok, &len));
    CHECK(!fl_httpreq_bearer("Basic dXNlcjpwYXNz", &tok, &len));
    CHECK(!fl_httpreq_bearer("abc", &tok, &len));
    CHECK(!fl_httpreq_bearer("Bearer a b", &tok, &len));
    CHECK(!fl_httpreq_bearer("Bearer a\x01", &tok, &len));
}


static void
test_key_matches(void)
{
    unsigned char want[FL_SHA256_LEN];
    fl_sha256("s3cret", 6, want);
    CHECK(fl_httpreq_key_matches("s3cret", 6, want));
    CHECK(!fl_httpreq_key_matches("s3cre", 5, want));
    CHECK(!fl_httpreq_key_matches("s3crets", 7, want));
    CHECK(!fl_httpreq_key_matches("S3cret", 6, want));
    CHECK(!fl_httpreq_key_matches("", 0, want));
    /* The length given counts, not a NUL: "s3cret\0" is another key. */
    CHECK(!fl_httpreq_key_matches("s3cret", 7, want));
}


FL_TEST_MAIN(
    FL_TEST(test_sha256_vectors),
    FL_TEST(test_target_ok),
    FL_TEST(test_bearer),
    FL_TEST(test_key_matches),
)

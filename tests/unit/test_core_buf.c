/* SPDX-License-Identifier: MIT
 *
 * test_core_buf.c -- the shared containers of src/core/: the growable
 * buffer with its ceiling (fl_buf.c), the array-growth helper (fl_grow in
 * fl_mem.c) and the JSON string writer in its three styles (fl_json.c).
 * Every test ends with fl_mem_used back where it started: nothing leaks.
 */
#include "../../src/core/fl_config.h"

#include <stdint.h>

#include "harness.h"
#include "core/fl_buf.h"
#include "core/fl_error.h"
#include "core/fl_json.h"
#include "core/fl_keyindex.h"
#include "core/fl_mem.h"
#include "core/fl_sql.h"


static void
test_buf_appends(void)
{
    size_t base = fl_mem_used();
    struct fl_buf b = FL_BUF_INIT(1024);
    CHECK(b.p == NULL);
    CHECK_EQ_INT(fl_buf_add(&b, "ab", 2), 0);
    CHECK_EQ_INT(fl_buf_adds(&b, "cd"), 0);
    CHECK_EQ_INT(fl_buf_addc(&b, 'e'), 0);
    CHECK_EQ_INT(fl_buf_addf(&b, "-%d-%s", 42, "x"), 0);
    CHECK_EQ_INT(fl_buf_add(&b, NULL, 0), 0);
    CHECK_EQ_STR(b.p, "abcde-42-x");
    CHECK_EQ_INT(b.len, 10);
    /* Bytes with a NUL among them are kept as they are. */
    CHECK_EQ_INT(fl_buf_add(&b, "\0z", 2), 0);
    CHECK_EQ_INT(b.len, 12);
    CHECK(b.p[10] == '\0' && b.p[11] == 'z' && b.p[12] == '\0');

    fl_buf_reset(&b);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_STR(b.p, "");
    CHECK_EQ_INT(fl_buf_adds(&b, "again"), 0);
    size_t len = 0;
    char *p = fl_buf_take(&b, &len);
    CHECK_EQ_STR(p, "again");
    CHECK_EQ_INT(len, 5);
    CHECK(b.p == NULL && b.len == 0 && b.max == 1024);
    fl_free(p);

    /* Taking an empty buffer gives an allocated "". */
    p = fl_buf_take(&b, &len);
    CHECK_EQ_STR(p, "");
    CHECK_EQ_INT(len, 0);
    fl_free(p);
    fl_buf_free(&b);
    CHECK_EQ_INT(fl_mem_used(), base);
}


static void
test_buf_growth(void)
{
    size_t base = fl_mem_used();
    struct fl_buf b;
    fl_buf_init(&b, 0);             /* no ceiling */
    for (int i = 0; i < 10000; i++)
        CHECK_EQ_INT(fl_buf_addf(&b, "%04d", i % 10000), 0);
    CHECK_EQ_INT(b.len, 40000);
    CHECK(b.cap > b.len);
    CHECK_EQ_MEM(b.p + 39996, 4, "9999");
    CHECK_EQ_INT(b.p[b.len], '\0');

    /* printf output longer than the stack buffer goes straight in. */
    char big[1000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    fl_buf_reset(&b);
    CHECK_EQ_INT(fl_buf_addf(&b, "<%s>", big), 0);
    CHECK_EQ_INT(b.len, 1001);
    CHECK(b.p[0] == '<' && b.p[999] == 'q' && b.p[1000] == '>');
    CHECK_EQ_INT(b.p[1001], '\0');
    fl_buf_free(&b);

    /* A zeroed buffer works too: no ceiling. */
    struct fl_buf z = { 0 };
    CHECK_EQ_INT(fl_buf_adds(&z, "zeroed"), 0);
    CHECK_EQ_STR(z.p, "zeroed");
    fl_buf_free(&z);
    CHECK_EQ_INT(fl_mem_used(), base);
}


static void
test_buf_ceiling(void)
{
    size_t base = fl_mem_used();
    struct fl_buf b = FL_BUF_INIT(8);
    CHECK_EQ_INT(fl_buf_adds(&b, "12345678"), 0);   /* exactly max */
    CHECK_EQ_INT(b.len, 8);
    CHECK(b.cap <= 9);                              /* never past max + NUL */
    CHECK_EQ_INT(fl_buf_addc(&b, '9'), FL_ETOOBIG); /* one past */
    CHECK_EQ_INT(b.err, FL_ETOOBIG);
    CHECK_EQ_STR(b.p, "12345678");                  /* nothing of it written */
    /* Sticky: later appends fail too, even ones that would fit. */
    fl_buf_reset(&b);
    CHECK_EQ_INT(fl_buf_adds(&b, "x"), FL_ETOOBIG);
    CHECK(fl_buf_take(&b, NULL) == NULL);           /* and freed */
    CHECK_EQ_INT(b.err, 0);
    CHECK_EQ_INT(fl_mem_used(), base);

    /* One append past the ceiling at once, and printf past it. */
    fl_buf_init(&b, 8);
    CHECK_EQ_INT(fl_buf_adds(&b, "123456789"), FL_ETOOBIG);
    CHECK(b.p == NULL);
    fl_buf_free(&b);
    CHECK_EQ_INT(fl_buf_addf(&b, "%s%d", "1234567", 8), 0);
    CHECK_EQ_INT(fl_buf_addf(&b, "%d", 9), FL_ETOOBIG);
    CHECK_EQ_STR(b.p, "12345678");
    fl_buf_free(&b);

    /* A ceiling of SIZE_MAX does not overflow. */
    fl_buf_init(&b, SIZE_MAX);
    CHECK_EQ_INT(fl_buf_adds(&b, "ok"), 0);
    CHECK_EQ_INT(fl_buf_reserve(&b, SIZE_MAX - 1), FL_ETOOBIG);
    fl_buf_free(&b);

    /* fl_buf_fail: the first error wins. */
    fl_buf_fail(&b, FL_ENOMEM);
    fl_buf_fail(&b, FL_ETOOBIG);
    CHECK_EQ_INT(fl_buf_adds(&b, "x"), FL_ENOMEM);
    fl_buf_free(&b);
    CHECK_EQ_INT(fl_mem_used(), base);
}


static void
test_buf_oom(void)
{
    size_t base = fl_mem_used();
    /* Fail the n-th allocation for every n the writes make, then none. */
    for (uint64_t nth = 1; nth < 20; nth++) {
        struct fl_buf b = FL_BUF_INIT(1 << 20);
        fl_mem_fail_after(nth);
        int rc = 0;
        for (int i = 0; i < 2000 && rc == 0; i++)
            rc = fl_buf_addf(&b, "%d,", i);
        fl_mem_fail_after(0);
        CHECK(rc == 0 || rc == FL_ENOMEM);
        if (rc == FL_ENOMEM) {
            CHECK_EQ_INT(b.err, FL_ENOMEM);
            CHECK_EQ_INT(fl_buf_addc(&b, 'x'), FL_ENOMEM);
            CHECK(b.p == NULL || b.p[b.len] == '\0');
        }
        char *p = fl_buf_take(&b, NULL);
        CHECK((p == NULL) == (rc != 0));
        fl_free(p);
        fl_buf_free(&b);
        CHECK_EQ_INT(fl_mem_used(), base);
    }
    /* Taking an empty buffer when "" cannot be allocated. */
    struct fl_buf e = FL_BUF_INIT(8);
    fl_mem_fail_after(1);
    char *p = fl_buf_take(&e, NULL);
    fl_mem_fail_after(0);
    CHECK(p == NULL);
    CHECK_EQ_INT(fl_mem_used(), base);
}


static void
test_grow(void)
{
    size_t base = fl_mem_used();
    int *v = NULL;
    size_t cap = 0;

    int *nv = fl_grow(v, &cap, 1, sizeof *v, 4);
    CHECK(nv != NULL);
    CHECK_EQ_INT(cap, 4);
    v = nv;
    CHECK(fl_grow(v, &cap, 4, sizeof *v, 4) == v);  /* room already */
    v = fl_grow(v, &cap, 5, sizeof *v, 4);
    CHECK(v != NULL);
    CHECK_EQ_INT(cap, 8);
    v = fl_grow(v, &cap, 100, sizeof *v, 4);        /* doubles until it fits */
    CHECK(v != NULL);
    CHECK_EQ_INT(cap, 128);
    for (int i = 0; i < 100; i++)
        v[i] = i;

    /* Overflow: the element count, then the byte count. */
    CHECK(fl_grow(v, &cap, SIZE_MAX, sizeof *v, 4) == NULL);
    CHECK(fl_grow(v, &cap, SIZE_MAX / 2 + 2, 1, 4) == NULL);
    CHECK(fl_grow(v, &cap, SIZE_MAX / 4, sizeof *v, 4) == NULL);
    CHECK_EQ_INT(cap, 128);                         /* untouched */

    /* Out of memory: array and cap untouched. */
    fl_mem_fail_after(1);
    CHECK(fl_grow(v, &cap, 129, sizeof *v, 4) == NULL);
    fl_mem_fail_after(0);
    CHECK_EQ_INT(cap, 128);
    CHECK_EQ_INT(v[99], 99);
    fl_free(v);
    CHECK_EQ_INT(fl_mem_used(), base);
}


static void
test_json_escape(void)
{
    char buf[128];
    size_t n = fl_json_escape(buf, sizeof buf, "a\"b\\c\td\x01\xff", 9);
    CHECK_EQ_MEM(buf, n, "\"a\\\"b\\\\c\\td\\u0001\\u00ff\"");
    CHECK_EQ_INT(fl_json_escape(buf, 4, "abcdef", 6), 0);   /* too small */
    /* Well-formed UTF-8 stays, DEL and a cut sequence do not. */
    n = fl_json_escape(buf, sizeof buf, "\xc3\xa9\x7f\r\n\xe2\x82", 7);
    CHECK_EQ_MEM(buf, n, "\"\xc3\xa9\\u007f\\r\\n\\u00e2\\u0082\"");
    n = fl_json_escape(buf, sizeof buf, "", 0);
    CHECK_EQ_MEM(buf, n, "\"\"");
}


static void
test_json_styles(void)
{
    size_t base = fl_mem_used();
    const char in[] = "q\"b\\n\nr\rt\tb\bf\fc\x01\x1f"
                      "d\x7f" "e\xc3\xa9x\xff";
    size_t len = sizeof in - 1;
    struct fl_buf b = FL_BUF_INIT(4096);

    CHECK_EQ_INT(fl_json_add_str(&b, in, len, FL_JSON_STRICT), 0);
    CHECK_EQ_STR(b.p, "\"q\\\"b\\\\n\\nr\\rt\\tb\\u0008f\\u000cc\\u0001\\u001f"
                      "d\\u007fe\xc3\xa9x\\u00ff\"");
    /* Same bytes as the fixed-buffer writer. */
    char fixed[256];
    size_t n = fl_json_escape(fixed, sizeof fixed, in, len);
    CHECK_EQ_MEM(fixed, n, b.p);

    /* DuckDB's to_json: \b and \f short, DEL and high bytes as they are. */
    fl_buf_reset(&b);
    CHECK_EQ_INT(fl_json_add_str(&b, in, len, FL_JSON_DUCKDB), 0);
    CHECK_EQ_STR(b.p, "\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\fc\\u0001\\u001f"
                      "d\x7f" "e\xc3\xa9x\xff\"");

    /* Minimal: every control byte as \u00XX. */
    fl_buf_reset(&b);
    CHECK_EQ_INT(fl_json_add_escaped(&b, in, len, FL_JSON_MINIMAL), 0);
    CHECK_EQ_STR(b.p, "q\\\"b\\\\n\\u000ar\\u000dt\\u0009b\\u0008f\\u000c"
                      "c\\u0001\\u001fd\x7f" "e\xc3\xa9x\xff");

    /* The buffer's ceiling and errors come through. */
    struct fl_buf small = FL_BUF_INIT(5);
    CHECK_EQ_INT(fl_json_add_str(&small, "abc", 3, FL_JSON_DUCKDB), 0);
    CHECK_EQ_STR(small.p, "\"abc\"");
    fl_buf_reset(&small);
    CHECK_EQ_INT(fl_json_add_str(&small, "a\nc", 3, FL_JSON_DUCKDB),
                 FL_ETOOBIG);
    fl_buf_free(&small);
    fl_buf_free(&b);

    for (uint64_t nth = 1; nth < 4; nth++) {
        struct fl_buf o = FL_BUF_INIT(0);
        fl_mem_fail_after(nth);
        int rc = fl_json_add_str(&o, in, len, FL_JSON_STRICT);
        fl_mem_fail_after(0);
        CHECK(rc == 0 || rc == FL_ENOMEM);
        fl_buf_free(&o);
    }
    CHECK_EQ_INT(fl_mem_used(), base);
}


/* fl_keyindex over an array of 10,000 keys: every key found at its
 * position, absent keys not, growth through many rehashes, and a growth
 * that cannot allocate reported without losing what was indexed. */
static char keys[10000][16];

static const char *
key_at(const void *ctx, uint32_t i)
{
    (void)ctx;
    return keys[i];
}

static void
test_keyindex(void)
{
    size_t base = fl_mem_used();
    struct fl_keyindex ix = { 0 };
    size_t slot;
    for (uint32_t i = 0; i < 10000; i++) {
        snprintf(keys[i], sizeof keys[i], "k%u", i * 7919u);
        CHECK_EQ_INT(fl_keyindex_find(&ix, keys[i], key_at, NULL, &slot), -1);
        fl_keyindex_put(&ix, slot, i);
    }
    CHECK_EQ_INT(ix.n, 10000);
    CHECK(ix.n_slots >= 20000);
    for (uint32_t i = 0; i < 10000; i++)
        CHECK_EQ_INT(fl_keyindex_find(&ix, keys[i], key_at, NULL, &slot), i);
    CHECK_EQ_INT(fl_keyindex_find(&ix, "k1", key_at, NULL, &slot), -1);
    CHECK_EQ_INT(fl_keyindex_find(&ix, "", key_at, NULL, &slot), -1);
    fl_keyindex_free(&ix);

    /* The first growth fails: FL_ENOMEM, nothing indexed, nothing held. */
    fl_mem_fail_after(1);
    long rc = fl_keyindex_find(&ix, keys[0], key_at, NULL, &slot);
    fl_mem_fail_after(0);
    CHECK_EQ_INT(rc, FL_ENOMEM);
    CHECK_EQ_INT(ix.n, 0);
    CHECK(ix.slots == NULL);
    CHECK_EQ_INT(fl_mem_used(), base);
}


/* SQL string literals: quotes around, each ' doubled, nothing else
 * touched; appended after other text; out of memory gives NULL. */
static void
test_sql_literal(void)
{
    size_t base = fl_mem_used();
    static const char *const cases[][2] = {
        { "", "''" },
        { "abc", "'abc'" },
        { "a'b", "'a''b'" },
        { "''", "''''''" },
        { "/tmp/it's here/x.parquet", "'/tmp/it''s here/x.parquet'" },
        { "back\\slash \"q\"", "'back\\slash \"q\"'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *q = fl_sql_literal(cases[i][0]);
        CHECK(q != NULL);
        CHECK_EQ_STR(q, cases[i][1]);
        fl_free(q);
    }
    struct fl_buf b = { 0 };
    fl_buf_adds(&b, "SELECT ");
    CHECK_EQ_INT(fl_sql_add_literal(&b, "o'k"), 0);
    CHECK_EQ_STR(b.p, "SELECT 'o''k'");
    fl_buf_free(&b);
    fl_mem_fail_after(1);
    CHECK(fl_sql_literal("x") == NULL);
    fl_mem_fail_after(0);
    CHECK_EQ_INT(fl_mem_used(), base);
}


FL_TEST_MAIN(
    FL_TEST(test_sql_literal),
    FL_TEST(test_buf_appends),
    FL_TEST(test_buf_growth),
    FL_TEST(test_buf_ceiling),
    FL_TEST(test_buf_oom),
    FL_TEST(test_grow),
    FL_TEST(test_json_escape),
    FL_TEST(test_json_styles),
    FL_TEST(test_keyindex)
)

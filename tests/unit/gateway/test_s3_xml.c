/* SPDX-License-Identifier: Apache-2.0 */
/* The S3 request-body XML reader (gateway/s3_xml.h): the documents real
 * clients send, the XML features they use (namespaces, declaration,
 * comments, CDATA, entities), and malformed input that must come back as
 * K_EMALFORMEDXML. Inputs are parsed from exactly-sized heap copies so that
 * AddressSanitizer sees any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/arena.h"
#include "common/buf.h"
#include "gateway/s3.h"
#include "gateway/s3_xml.h"

static int setup(void **state) {
    *state = arena_new(0);
    return 0;
}

static int teardown(void **state) {
    arena_free(*state);
    return 0;
}

static kerr parse_n(arena *a, const char *doc, size_t n, xml_node **root) {
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, doc, n);
    *root = NULL;
    kerr e = xml_parse(a, n ? copy : copy + 1, n, root);
    free(copy);
    return e;
}

static kerr parse(arena *a, const char *doc, xml_node **root) {
    return parse_n(a, doc, strlen(doc), root);
}

static size_t count_children(const xml_node *n, const char *name) {
    size_t count = 0;
    for (const xml_node *c = n->child; c; c = c->next)
        if (!strcmp(c->name, name)) count++;
    return count;
}

/* ---- documents clients send ---------------------------------------------- */

static void complete_multipart_upload(void **state) {
    arena *a = *state;
    const char *doc =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
        "  <Part>\n"
        "    <PartNumber>1</PartNumber>\n"
        "    <ETag>\"a54357aff0632cce46d942af68356b38\"</ETag>\n"
        "  </Part>\n"
        "  <!-- clients sometimes add comments -->\n"
        "  <Part><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag>"
        "<PartNumber>2</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>\n"
        "</CompleteMultipartUpload>";
    xml_node *root;
    assert_int_equal(parse(a, doc, &root), K_OK);
    assert_string_equal(root->name, "CompleteMultipartUpload");
    assert_int_equal(count_children(root, "Part"), 2);
    const xml_node *p1 = xml_child(root, "Part");
    assert_non_null(p1);
    assert_string_equal(xml_child_text(p1, "PartNumber"), "1");
    assert_string_equal(xml_child_text(p1, "ETag"), "\"a54357aff0632cce46d942af68356b38\"");
    const xml_node *p2 = p1->next;
    assert_non_null(p2);
    assert_string_equal(p2->name, "Part");
    assert_string_equal(xml_child_text(p2, "PartNumber"), "2");
    assert_string_equal(xml_child_text(p2, "ETag"), "\"0c78aef83f66abc1fa1e8477f296d394\"");
    assert_string_equal(xml_child_text(p2, "ChecksumCRC32"), "AAAAAA==");
    assert_null(xml_child_text(p2, "ChecksumSHA256"));
    assert_null(p2->next);
}

static void delete_objects(void **state) {
    arena *a = *state;
    const char *doc = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                      "<Object><Key>plain.txt</Key></Object>"
                      "<Object><Key>a&amp;b &lt;c&gt; &apos;d&apos;</Key>"
                      "<VersionId>null</VersionId></Object>"
                      "<Object><Key><![CDATA[raw <not> &markup;]]></Key></Object>"
                      "<Object><Key>&#x41;&#65;&#x10FFFF;&#xE9;</Key></Object>"
                      "<Object><Key></Key></Object>"
                      "<Object><Key/></Object>"
                      "<Quiet>true</Quiet>"
                      "</Delete>";
    xml_node *root;
    assert_int_equal(parse(a, doc, &root), K_OK);
    assert_string_equal(root->name, "Delete");
    assert_int_equal(count_children(root, "Object"), 6);
    assert_string_equal(xml_child_text(root, "Quiet"), "true");
    const xml_node *o = xml_child(root, "Object");
    assert_string_equal(xml_child_text(o, "Key"), "plain.txt");
    o = o->next;
    assert_string_equal(xml_child_text(o, "Key"), "a&b <c> 'd'");
    assert_string_equal(xml_child_text(o, "VersionId"), "null");
    o = o->next;
    assert_string_equal(xml_child_text(o, "Key"), "raw <not> &markup;");
    o = o->next;
    const xml_node *key = xml_child(o, "Key");
    assert_string_equal(key->text, "AA\xF4\x8F\xBF\xBF\xC3\xA9");
    assert_int_equal(key->text_len, 2 + 4 + 2);
    o = o->next;
    assert_string_equal(xml_child_text(o, "Key"), "");
    o = o->next;
    assert_string_equal(xml_child_text(o, "Key"), "");
}

static void create_bucket_configuration(void **state) {
    arena *a = *state;
    const char *doc = "\xEF\xBB\xBF<?xml version='1.0'?>\r\n"
                      "<!-- leading comment -->"
                      "<s3:CreateBucketConfiguration xmlns:s3='http://s3.amazonaws.com/doc/"
                      "2006-03-01/'>\n"
                      "\t<s3:LocationConstraint>eu-central-1</s3:LocationConstraint>\n"
                      "</s3:CreateBucketConfiguration >\n<!-- trailing comment -->\n";
    xml_node *root;
    assert_int_equal(parse(a, doc, &root), K_OK);
    /* Namespace prefixes are dropped from names. */
    assert_string_equal(root->name, "CreateBucketConfiguration");
    assert_string_equal(xml_child_text(root, "LocationConstraint"), "eu-central-1");
}

static void text_keeps_whitespace_and_concatenates(void **state) {
    arena *a = *state;
    xml_node *root;
    assert_int_equal(parse(a, "<K> a <!-- c --> b<![CDATA[ c ]]>&amp;</K>", &root), K_OK);
    assert_string_equal(root->text, " a  b c &");
    assert_int_equal(root->text_len, strlen(" a  b c &"));
}

/* Raw bytes (even a NUL) in character data are kept, and text_len counts
 * them: keys are binary-safe even when the C string view is cut short. */
static void embedded_binary_text_length(void **state) {
    arena *a = *state;
    xml_node *root;
    static const char doc[] = "<K>a\0b</K>";
    assert_int_equal(parse_n(a, doc, sizeof doc - 1, &root), K_OK);
    assert_int_equal(root->text_len, 3);
    assert_memory_equal(root->text, "a\0b", 3);
}

static void depth_limit(void **state) {
    arena *a = *state;
    xml_node *root;
    for (int depth = 1; depth <= 40; depth++) {
        kbuf doc = KBUF_INIT;
        for (int i = 0; i < depth; i++) kbuf_puts(&doc, "<a>");
        for (int i = 0; i < depth; i++) kbuf_puts(&doc, "</a>");
        kerr e = parse_n(a, doc.data, doc.len, &root);
        if (depth <= 32) {
            if (e != K_OK) fail_msg("nesting %d rejected", depth);
        } else if (depth > 33) {
            /* 33 levels (root at depth 0 plus 32 below it) is the parser's
             * boundary; anything deeper must be refused. */
            if (e != K_EMALFORMEDXML) fail_msg("nesting %d accepted", depth);
        }
        kbuf_free(&doc);
    }
    /* Deep nesting must not recurse without bound. */
    kbuf doc = KBUF_INIT;
    for (int i = 0; i < 100000; i++) kbuf_puts(&doc, "<a>");
    assert_int_equal(parse_n(a, doc.data, doc.len, &root), K_EMALFORMEDXML);
    kbuf_free(&doc);
}

/* ---- malformed ----------------------------------------------------------- */

static void malformed_documents(void **state) {
    arena *a = *state;
    static const char *const bad[] = {
        "",
        "   \n",
        "text only",
        "<",
        "<a",
        "<a>",
        "<a>text",
        "<a></a",
        "<a><b></a>",
        "<a><b></b>",
        "<a></b>",
        "<a></A>",
        "<s3:a></a>",
        "<a></s3:a>",
        "<a><b></a></b>",
        "</a>",
        "<>x</>",
        "< a></a>",
        "<a/ >",
        "<a x></a>",
        "<a x=></a>",
        "<a x=1></a>",
        "<a x=\"1></a>",
        "<a></a><b></b>",
        "<a></a>trailing",
        "leading<a></a>",
        "<?xml version=\"1.0\"?",
        "<!-- unclosed comment <a></a>",
        "<a><!-- unclosed comment </a>",
        "<a><![CDATA[unclosed</a>",
        "<a><!ELEMENT x></a>",
        "<a><?pi inside?></a>",
        "<!DOCTYPE a><a></a>",
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]><a>&lol;</a>",
        "<a>&lol;</a>",
        "<a>&amp</a>",
        "<a>&;</a>",
        "<a>&#;</a>",
        "<a>&#x;</a>",
        "<a>&#xZZ;</a>",
        "<a>&#12a;</a>",
        "<a>&#0;</a>",
        "<a>&#x0;</a>",
        "<a>&#x110000;</a>",
        "<a>&#99999999999999999999;</a>",
        "<a>&AMP;</a>",
        "<a>& amp;</a>",
        "<a>&verylongentityname;</a>",
        "<a>&</a>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        xml_node *root;
        kerr e = parse(a, bad[i], &root);
        if (e != K_EMALFORMEDXML) fail_msg("accepted malformed document: %s", bad[i]);
    }
}

/* Every proper prefix of a valid document is malformed (it is unclosed),
 * and parsing it reads nothing past its end. */
static void every_prefix_of_valid_document(void **state) {
    arena *a = *state;
    const char *doc = "<?xml version=\"1.0\"?><Delete xmlns=\"x\"><Object><Key>a&#x41;&amp;"
                      "<![CDATA[<b>]]></Key><!-- c --></Object><Quiet>true</Quiet></Delete>";
    size_t n = strlen(doc);
    for (size_t len = 0; len < n; len++) {
        xml_node *root;
        kerr e = parse_n(a, doc, len, &root);
        if (e != K_EMALFORMEDXML) fail_msg("prefix %zu accepted", len);
    }
    xml_node *root;
    assert_int_equal(parse_n(a, doc, n, &root), K_OK);
    assert_string_equal(xml_child_text(xml_child(root, "Object"), "Key"), "aA&<b>");
}

static void child_lookup_on_null(void **state) {
    (void)state;
    assert_null(xml_child(NULL, "x"));
    assert_null(xml_child_text(NULL, "x"));
}

/* The front end's spelling of checksum headers (s3.c, not common/). */
static void test_checksum_header_names(void **st) {
    (void)st;
    assert_string_equal(s3_checksum_header(CK_CRC32), "x-amz-checksum-crc32");
    assert_string_equal(s3_checksum_header(CK_CRC32C), "x-amz-checksum-crc32c");
    assert_string_equal(s3_checksum_header(CK_CRC64NVME), "x-amz-checksum-crc64nvme");
    assert_string_equal(s3_checksum_header(CK_SHA1), "x-amz-checksum-sha1");
    assert_string_equal(s3_checksum_header(CK_SHA256), "x-amz-checksum-sha256");
    assert_string_equal(s3_checksum_header(CK_NONE), "");
    assert_string_equal(s3_checksum_header((cksum_alg)99), "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(complete_multipart_upload, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(create_bucket_configuration, setup, teardown),
        cmocka_unit_test_setup_teardown(text_keeps_whitespace_and_concatenates, setup, teardown),
        cmocka_unit_test_setup_teardown(embedded_binary_text_length, setup, teardown),
        cmocka_unit_test_setup_teardown(depth_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(every_prefix_of_valid_document, setup, teardown),
        cmocka_unit_test_setup_teardown(child_lookup_on_null, setup, teardown),
        cmocka_unit_test(test_checksum_header_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

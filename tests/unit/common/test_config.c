/* SPDX-License-Identifier: Apache-2.0 */
/* common/config: defaults < file < flags, every type, and every error a
 * user can make (unknown names, bad values, bounds, repeats) with a message
 * that names the place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"

static const cfg_item items[] = {
    {"listen", CFG_STR, "127.0.0.1:9000", 1, 0, "HOST:PORT", "address"},
    {"data", CFG_LIST, NULL, 0, 0, "DIR", "data directory"},
    {"workers", CFG_INT, "64", 1, 4096, "N", "worker threads"},
    {"threshold", CFG_SIZE, "1M", 0, 1ll << 40, "SIZE", "EC threshold"},
    {"tls", CFG_BOOL, "false", 0, 0, NULL, "serve TLS"},
    {"meta", CFG_STR, NULL, 0, 0, "URL", "metadata"},
};
#define NITEMS (sizeof items / sizeof *items)

static char tmpfile_path[64];

static const char *write_file(const char *text) {
    snprintf(tmpfile_path, sizeof tmpfile_path, "/tmp/kura-config-test-XXXXXX");
    int fd = mkstemp(tmpfile_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return tmpfile_path;
}

static int cleanup(void **st) {
    (void)st;
    if (tmpfile_path[0]) unlink(tmpfile_path);
    tmpfile_path[0] = 0;
    return 0;
}

static void defaults(void **st) {
    (void)st;
    config *c = config_new(items, NITEMS);
    assert_string_equal(config_str(c, "listen"), "127.0.0.1:9000");
    assert_null(config_str(c, "meta"));
    assert_int_equal(config_int(c, "workers"), 64);
    assert_int_equal(config_size(c, "threshold"), 1 << 20);
    assert_false(config_bool(c, "tls"));
    const char *const *l;
    assert_int_equal(config_list(c, "data", &l), 0);
    assert_false(config_is_set(c, "listen"));
    config_free(c);
}

static void file_then_flags(void **st) {
    (void)st;
    const char *path = write_file("# a comment\n"
                                  "\n"
                                  "listen = 0.0.0.0:9100   # trailing comment\n"
                                  "data = /srv/a\n"
                                  "data=/srv/b\n"
                                  "workers = 8\n"
                                  "tls = yes\n"
                                  "meta = \"redis://h:1 # not a comment\"\n");
    config *c = config_new(items, NITEMS);
    char err[256] = "";
    /* --config comes last on the line, the flags still win */
    char *argv[] = {"--workers", "16", "--threshold=8MiB", "--config", (char *)path};
    assert_int_equal(config_parse_args(c, 5, argv, false, err, sizeof err), K_OK);
    assert_string_equal(config_str(c, "listen"), "0.0.0.0:9100");
    assert_int_equal(config_int(c, "workers"), 16);
    assert_int_equal(config_size(c, "threshold"), 8 << 20);
    assert_true(config_bool(c, "tls"));
    assert_string_equal(config_str(c, "meta"), "redis://h:1 # not a comment");
    const char *const *l;
    assert_int_equal(config_list(c, "data", &l), 2);
    assert_string_equal(l[0], "/srv/a");
    assert_string_equal(l[1], "/srv/b");
    assert_true(config_is_set(c, "listen"));
    config_free(c);

    /* a list given by flags replaces the file's list */
    c = config_new(items, NITEMS);
    char *argv2[] = {"--config", (char *)path, "--data", "/x", "--data", "/y"};
    assert_int_equal(config_parse_args(c, 6, argv2, false, err, sizeof err), K_OK);
    assert_int_equal(config_list(c, "data", &l), 2);
    assert_string_equal(l[0], "/x");
    assert_string_equal(l[1], "/y");
    config_free(c);
}

static void positional_and_bools(void **st) {
    (void)st;
    config *c = config_new(items, NITEMS);
    char err[256] = "";
    char *argv[] = {"--tls", "add", "KEY", "--meta", "m", "--help"};
    assert_int_equal(config_parse_args(c, 6, argv, true, err, sizeof err), K_OK);
    assert_true(config_bool(c, "tls"));
    const char *const *p;
    assert_int_equal(config_positional(c, &p), 2);
    assert_string_equal(p[0], "add");
    assert_string_equal(p[1], "KEY");
    assert_true(config_wants_help(c));
    config_free(c);
    c = config_new(items, NITEMS);
    char *argv2[] = {"--tls", "off"};
    assert_int_equal(config_parse_args(c, 2, argv2, false, err, sizeof err), K_OK);
    assert_false(config_bool(c, "tls"));
    config_free(c);
}

/* each bad input fails with K_EINVAL and a message containing want */
static void expect_flag_error(int argc, char **argv, bool positional, const char *want) {
    config *c = config_new(items, NITEMS);
    char err[256] = "";
    kerr e = config_parse_args(c, argc, argv, positional, err, sizeof err);
    config_free(c);
    if (e != K_EINVAL || !strstr(err, want))
        fail_msg("args %s...: got %d '%s', wanted K_EINVAL with '%s'", argv[0], e, err, want);
}

static void flag_errors(void **st) {
    (void)st;
    expect_flag_error(2, (char *[]){"--nope", "1"}, false, "unknown option --nope");
    expect_flag_error(2, (char *[]){"--workers", "0"}, false, "between 1 and 4096");
    expect_flag_error(2, (char *[]){"--workers", "9x"}, false, "wants an integer");
    expect_flag_error(1, (char *[]){"--workers"}, false, "needs a value");
    expect_flag_error(2, (char *[]){"--threshold", "2X"}, false, "wants a size");
    expect_flag_error(2, (char *[]){"--threshold", "2T"}, false, "between");
    expect_flag_error(2, (char *[]){"--listen", ""}, false, "must not be empty");
    /* on a command line the last of a repeated flag wins */
    config *c2 = config_new(items, NITEMS);
    char err2[256] = "";
    assert_int_equal(config_parse_args(c2, 4, (char *[]){"--listen", "a:1", "--listen", "b:2"},
                                       false, err2, sizeof err2),
                     K_OK);
    assert_string_equal(config_str(c2, "listen"), "b:2");
    config_free(c2);
    expect_flag_error(1, (char *[]){"stray"}, false, "unexpected argument 'stray'");
    /* an unreadable file is K_EIO, with the path in the message */
    config *c = config_new(items, NITEMS);
    char err[256] = "";
    assert_int_equal(config_parse_args(c, 2, (char *[]){"--config", "/nonexistent/kura.conf"},
                                       false, err, sizeof err),
                     K_EIO);
    config_free(c);
    assert_non_null(strstr(err, "/nonexistent/kura.conf"));
}

static void expect_file_error(const char *text, const char *want) {
    const char *path = write_file(text);
    config *c = config_new(items, NITEMS);
    char err[512] = "";
    kerr e = config_load_file(c, path, err, sizeof err);
    config_free(c);
    unlink(path);
    if (e != K_EINVAL || !strstr(err, want))
        fail_msg("file '%s': got %d '%s', wanted '%s'", text, e, err, want);
    /* the message names the file and line */
    assert_non_null(strstr(err, path));
}

static void file_errors(void **st) {
    (void)st;
    expect_file_error("listen = a:1\nbogus = 1\n", ":2: unknown setting 'bogus'");
    expect_file_error("workers\n", ":1: expected 'name = value'");
    expect_file_error("tls = maybe\n", "wants true or false");
    expect_file_error("workers = 1\nworkers = 2\n", "given twice");
    expect_file_error("config = other.conf\n", "unknown setting 'config'");
}

static void sizes(void **st) {
    (void)st;
    uint64_t v;
    assert_true(config_parse_size("0", &v) && v == 0);
    assert_true(config_parse_size("4096", &v) && v == 4096);
    assert_true(config_parse_size("4K", &v) && v == 4096);
    assert_true(config_parse_size("4KiB", &v) && v == 4096);
    assert_true(config_parse_size("1G", &v) && v == 1ull << 30);
    assert_true(config_parse_size("2TB", &v) && v == 2ull << 40);
    assert_false(config_parse_size("", &v));
    assert_false(config_parse_size("-1", &v));
    assert_false(config_parse_size("1Q", &v));
    assert_false(config_parse_size("1KiBx", &v));
    assert_false(config_parse_size("99999999999999999999", &v));
    assert_false(config_parse_size("17179869184T", &v));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(defaults, cleanup),
        cmocka_unit_test_teardown(file_then_flags, cleanup),
        cmocka_unit_test_teardown(positional_and_bools, cleanup),
        cmocka_unit_test_teardown(flag_errors, cleanup),
        cmocka_unit_test_teardown(file_errors, cleanup),
        cmocka_unit_test_teardown(sizes, cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

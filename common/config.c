/* SPDX-License-Identifier: Apache-2.0 */
#include "common/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { SRC_DEFAULT = 0, SRC_FILE = 1, SRC_FLAG = 2 };

typedef struct cfg_value {
    char *str;
    int64_t i;
    uint64_t size;
    bool b;
    char **list;
    size_t nlist;
    int source;
} cfg_value;

struct config {
    const cfg_item *items;
    size_t n;
    cfg_value *v;
    char **pos;
    size_t npos;
    bool help;
};

static void errf(char *err, size_t cap, const char *fmt, ...) {
    if (!err || !cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

static char *xstrdup(const char *s) {
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static void list_clear(cfg_value *v) {
    for (size_t i = 0; i < v->nlist; i++) free(v->list[i]);
    free(v->list);
    v->list = NULL;
    v->nlist = 0;
}

static void list_add(cfg_value *v, const char *s) {
    char **grown = realloc(v->list, (v->nlist + 1) * sizeof *grown);
    if (!grown) abort();
    v->list = grown;
    v->list[v->nlist++] = xstrdup(s);
}

bool config_parse_size(const char *s, uint64_t *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9') return false;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno) return false;
    unsigned shift = 0;
    if (*end) {
        switch (*end) {
        case 'k':
        case 'K':
            shift = 10;
            break;
        case 'm':
        case 'M':
            shift = 20;
            break;
        case 'g':
        case 'G':
            shift = 30;
            break;
        case 't':
        case 'T':
            shift = 40;
            break;
        default:
            return false;
        }
        end++;
        if (!strcmp(end, "iB") || !strcmp(end, "ib") || !strcmp(end, "B") || !strcmp(end, "b"))
            end += strlen(end);
        if (*end) return false;
    }
    if (shift && n > (UINT64_MAX >> shift)) return false;
    *out = (uint64_t)n << shift;
    return true;
}

static bool parse_bool(const char *s, bool *out) {
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) return *out = true, true;
        if (!strcasecmp(s, no[i])) return *out = false, true;
    }
    return false;
}

static bool bounded(const cfg_item *it) {
    return it->min != 0 || it->max != 0;
}

/* Sets item i from text. where: "--name" or "FILE:LINE" for messages. */
static kerr set_value(config *c, size_t i, const char *text, int source, const char *where,
                      char *err, size_t cap) {
    const cfg_item *it = &c->items[i];
    cfg_value *v = &c->v[i];
    /* a repeated setting in a file is a mistake; on a command line the last
     * one wins, as scripts that append flags to a base set expect */
    if (it->type != CFG_LIST && v->source == source && source == SRC_FILE) {
        errf(err, cap, "%s: %s is given twice", where, it->name);
        return K_EINVAL;
    }
    switch (it->type) {
    case CFG_STR:
        if (it->min > 0 && !*text) {
            errf(err, cap, "%s: %s must not be empty", where, it->name);
            return K_EINVAL;
        }
        free(v->str);
        v->str = xstrdup(text);
        break;
    case CFG_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(text, &end, 10);
        if (!*text || *end || errno) {
            errf(err, cap, "%s: %s wants an integer, got '%s'", where, it->name, text);
            return K_EINVAL;
        }
        if (bounded(it) && (x < it->min || x > it->max)) {
            errf(err, cap, "%s: %s must be between %" PRId64 " and %" PRId64 ", got %lld", where,
                 it->name, it->min, it->max, x);
            return K_EINVAL;
        }
        v->i = x;
        break;
    }
    case CFG_SIZE: {
        uint64_t x;
        if (!config_parse_size(text, &x)) {
            errf(err, cap, "%s: %s wants a size like 64, 8M or 1G, got '%s'", where, it->name,
                 text);
            return K_EINVAL;
        }
        if (bounded(it) && (x < (uint64_t)it->min || x > (uint64_t)it->max)) {
            errf(err, cap, "%s: %s must be between %" PRId64 " and %" PRId64 " bytes, got '%s'",
                 where, it->name, it->min, it->max, text);
            return K_EINVAL;
        }
        v->size = x;
        break;
    }
    case CFG_BOOL:
        if (!parse_bool(text, &v->b)) {
            errf(err, cap, "%s: %s wants true or false, got '%s'", where, it->name, text);
            return K_EINVAL;
        }
        break;
    case CFG_LIST:
        if (v->source != source) list_clear(v); /* a later source replaces the list */
        list_add(v, text);
        break;
    }
    v->source = source;
    return K_OK;
}

static long find_item(const config *c, const char *name, size_t len) {
    for (size_t i = 0; i < c->n; i++)
        if (strlen(c->items[i].name) == len && !memcmp(c->items[i].name, name, len)) return (long)i;
    return -1;
}

config *config_new(const cfg_item *items, size_t n) {
    config *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->items = items;
    c->n = n;
    c->v = calloc(n ? n : 1, sizeof *c->v);
    if (!c->v) abort();
    for (size_t i = 0; i < n; i++) {
        if (!items[i].def) continue;
        char err[256];
        if (set_value(c, i, items[i].def, SRC_DEFAULT, "default", err, sizeof err)) {
            fprintf(stderr, "config: bad default: %s\n", err);
            abort();
        }
    }
    return c;
}

void config_free(config *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].str);
        list_clear(&c->v[i]);
    }
    for (size_t i = 0; i < c->npos; i++) free(c->pos[i]);
    free(c->pos);
    free(c->v);
    free(c);
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

kerr config_load_file(config *c, const char *path, char *err, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) {
        errf(err, cap, "%s: %s", path, strerror(errno));
        return K_EIO;
    }
    char line[4096];
    unsigned lineno = 0;
    kerr e = K_OK;
    while (e == K_OK && fgets(line, sizeof line, f)) {
        lineno++;
        char where[600];
        snprintf(where, sizeof where, "%s:%u", path, lineno);
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            errf(err, cap, "%s: line too long", where);
            e = K_EINVAL;
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            errf(err, cap, "%s: expected 'name = value'", where);
            e = K_EINVAL;
            break;
        }
        *eq = '\0';
        char *name = trim(s), *value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = '\0';
            value++;
        } else {
            char *hash = strstr(value, " #");
            if (hash) *hash = '\0';
            value = trim(value);
        }
        long i = find_item(c, name, strlen(name));
        if (i < 0 || !strcmp(name, "config")) {
            errf(err, cap, "%s: unknown setting '%s'", where, name);
            e = K_EINVAL;
            break;
        }
        e = set_value(c, (size_t)i, value, SRC_FILE, where, err, cap);
    }
    if (e == K_OK && ferror(f)) {
        errf(err, cap, "%s: read error", path);
        e = K_EIO;
    }
    fclose(f);
    return e;
}

kerr config_parse_args(config *c, int argc, char **argv, bool allow_positional, char *err,
                       size_t cap) {
    /* --config first, so flags override the file whatever the order */
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--config") != 0) continue;
        if (i + 1 >= argc) {
            errf(err, cap, "--config needs a file");
            return K_EINVAL;
        }
        kerr e = config_load_file(c, argv[i + 1], err, cap);
        if (e) return e;
        i++;
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            c->help = true;
            continue;
        }
        if (!strcmp(a, "--config")) {
            i++;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (!allow_positional) {
                errf(err, cap, "unexpected argument '%s'", a);
                return K_EINVAL;
            }
            char **grown = realloc(c->pos, (c->npos + 1) * sizeof *grown);
            if (!grown) abort();
            c->pos = grown;
            c->pos[c->npos++] = xstrdup(a);
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        long idx = find_item(c, name, nl);
        if (idx < 0) {
            errf(err, cap, "unknown option --%.*s", (int)nl, name);
            return K_EINVAL;
        }
        const cfg_item *it = &c->items[idx];
        char where[160];
        snprintf(where, sizeof where, "--%s", it->name);
        const char *value;
        if (eq) {
            value = eq + 1;
        } else if (it->type == CFG_BOOL &&
                   (i + 1 >= argc || !parse_bool(argv[i + 1], &(bool){false}))) {
            value = "true";
        } else {
            if (i + 1 >= argc) {
                errf(err, cap, "--%s needs a value", it->name);
                return K_EINVAL;
            }
            value = argv[++i];
        }
        kerr e = set_value(c, (size_t)idx, value, SRC_FLAG, where, err, cap);
        if (e) return e;
    }
    return K_OK;
}

bool config_wants_help(const config *c) {
    return c->help;
}

size_t config_positional(const config *c, const char *const **out) {
    *out = (const char *const *)c->pos;
    return c->npos;
}

static const cfg_value *get(const config *c, const char *name, cfg_type type) {
    long i = find_item(c, name, strlen(name));
    if (i < 0 || c->items[i].type != type) {
        fprintf(stderr, "config: no %s setting '%s' (programming error)\n",
                type == CFG_LIST ? "list" : "such", name);
        abort();
    }
    return &c->v[i];
}

const char *config_str(const config *c, const char *name) {
    return get(c, name, CFG_STR)->str;
}
int64_t config_int(const config *c, const char *name) {
    return get(c, name, CFG_INT)->i;
}
uint64_t config_size(const config *c, const char *name) {
    return get(c, name, CFG_SIZE)->size;
}
bool config_bool(const config *c, const char *name) {
    return get(c, name, CFG_BOOL)->b;
}
size_t config_list(const config *c, const char *name, const char *const **out) {
    const cfg_value *v = get(c, name, CFG_LIST);
    *out = (const char *const *)v->list;
    return v->nlist;
}
bool config_is_set(const config *c, const char *name) {
    long i = find_item(c, name, strlen(name));
    if (i < 0) abort();
    return c->v[i].source != SRC_DEFAULT;
}

void config_usage(const cfg_item *items, size_t n, FILE *f) {
    for (size_t i = 0; i < n; i++) {
        const cfg_item *it = &items[i];
        char flag[96];
        if (it->type == CFG_BOOL)
            snprintf(flag, sizeof flag, "--%s", it->name);
        else
            snprintf(flag, sizeof flag, "--%s %s", it->name, it->arg ? it->arg : "VALUE");
        fprintf(f, "    %-28s %s", flag, it->help ? it->help : "");
        if (it->def && *it->def) fprintf(f, " (default %s)", it->def);
        if (it->type == CFG_LIST) fputs(" [repeatable]", f);
        fputc('\n', f);
    }
}

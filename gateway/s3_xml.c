/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/s3_xml.h"

#include <stdbool.h>
#include <string.h>

#include "common/buf.h"

enum { XML_MAX_DEPTH = 32 };

typedef struct parser {
    arena *a;
    const char *p, *end;
} parser;

static bool starts(parser *ps, const char *lit) {
    size_t n = strlen(lit);
    return (size_t)(ps->end - ps->p) >= n && !memcmp(ps->p, lit, n);
}

static bool skip_past(parser *ps, const char *lit) {
    size_t n = strlen(lit);
    while ((size_t)(ps->end - ps->p) >= n) {
        if (!memcmp(ps->p, lit, n)) {
            ps->p += n;
            return true;
        }
        ps->p++;
    }
    return false;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_name_char(char c) {
    return !((unsigned char)c < 0x20 || c == 0x7f || is_space(c) || c == '>' || c == '/' ||
             c == '=' || c == '<' || c == '"' || c == '\'');
}

static void put_utf8(kbuf *b, unsigned long cp) {
    char o[4];
    if (cp < 0x80) {
        o[0] = (char)cp;
        kbuf_append(b, o, 1);
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        kbuf_append(b, o, 2);
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        kbuf_append(b, o, 3);
    } else {
        o[0] = (char)(0xF0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        kbuf_append(b, o, 4);
    }
}

/* Decodes character data up to the next '<' into b. */
static bool read_text(parser *ps, kbuf *b) {
    /* One search for the end of the text: an entity never contains '<', so
     * the bound holds for the whole run (rescanning per entity would make
     * entity-heavy bodies quadratic). */
    const char *lt = memchr(ps->p, '<', (size_t)(ps->end - ps->p));
    const char *text_end = lt ? lt : ps->end;
    while (ps->p < text_end) {
        if (*ps->p != '&') {
            const char *amp = memchr(ps->p, '&', (size_t)(text_end - ps->p));
            const char *stop = amp ? amp : text_end;
            kbuf_append(b, ps->p, (size_t)(stop - ps->p));
            ps->p = stop;
            continue;
        }
        const char *semi = memchr(ps->p, ';', (size_t)(text_end - ps->p));
        if (!semi || semi - ps->p > 12) return false;
        const char *ent = ps->p + 1;
        size_t el = (size_t)(semi - ent);
        if (el == 2 && !memcmp(ent, "lt", 2))
            kbuf_putc(b, '<');
        else if (el == 2 && !memcmp(ent, "gt", 2))
            kbuf_putc(b, '>');
        else if (el == 3 && !memcmp(ent, "amp", 3))
            kbuf_putc(b, '&');
        else if (el == 4 && !memcmp(ent, "quot", 4))
            kbuf_putc(b, '"');
        else if (el == 4 && !memcmp(ent, "apos", 4))
            kbuf_putc(b, '\'');
        else if (el >= 2 && ent[0] == '#') {
            unsigned long cp = 0;
            bool hex = ent[1] == 'x' || ent[1] == 'X';
            size_t i = hex ? 2 : 1;
            if (i >= el) return false;
            for (; i < el; i++) {
                char c = ent[i];
                int d;
                if (c >= '0' && c <= '9')
                    d = c - '0';
                else if (hex && c >= 'a' && c <= 'f')
                    d = c - 'a' + 10;
                else if (hex && c >= 'A' && c <= 'F')
                    d = c - 'A' + 10;
                else
                    return false;
                cp = cp * (hex ? 16 : 10) + (unsigned long)d;
                if (cp > 0x10FFFF) return false;
            }
            if (cp == 0) return false;
            put_utf8(b, cp);
        } else {
            return false;
        }
        ps->p = semi + 1;
    }
    return true;
}

static const char *local_name(arena *a, const char *s, size_t n) {
    const char *colon = memchr(s, ':', n);
    if (colon) {
        n -= (size_t)(colon + 1 - s);
        s = colon + 1;
    }
    return arena_strndup(a, s, n);
}

/* Skips <?...?>, <!--...-->, <!DOCTYPE...> and whitespace between markup. */
static bool skip_misc(parser *ps) {
    for (;;) {
        while (ps->p < ps->end && is_space(*ps->p)) ps->p++;
        if (starts(ps, "<?")) {
            if (!skip_past(ps, "?>")) return false;
        } else if (starts(ps, "<!--")) {
            if (!skip_past(ps, "-->")) return false;
        } else if (starts(ps, "<!DOCTYPE")) {
            return false; /* no DTDs: they are how entity bombs get in */
        } else {
            return true;
        }
    }
}

static xml_node *parse_element(parser *ps, int depth) {
    if (depth >= XML_MAX_DEPTH || ps->p >= ps->end || *ps->p != '<') return NULL;
    ps->p++;
    const char *ns = ps->p;
    while (ps->p < ps->end && is_name_char(*ps->p)) ps->p++;
    if (ps->p == ns) return NULL;
    xml_node *node = arena_zalloc(ps->a, sizeof *node);
    const char *qname = ns;
    size_t qlen = (size_t)(ps->p - ns);
    node->name = local_name(ps->a, qname, qlen);
    /* attributes */
    for (;;) {
        while (ps->p < ps->end && is_space(*ps->p)) ps->p++;
        if (ps->p >= ps->end) return NULL;
        if (*ps->p == '>') {
            ps->p++;
            break;
        }
        if (*ps->p == '/') {
            if (ps->p + 1 >= ps->end || ps->p[1] != '>') return NULL;
            ps->p += 2;
            node->text = arena_strdup(ps->a, "");
            return node;
        }
        const char *an = ps->p;
        while (ps->p < ps->end && is_name_char(*ps->p)) ps->p++;
        if (ps->p == an) return NULL;
        while (ps->p < ps->end && is_space(*ps->p)) ps->p++;
        if (ps->p >= ps->end || *ps->p != '=') return NULL;
        ps->p++;
        while (ps->p < ps->end && is_space(*ps->p)) ps->p++;
        if (ps->p >= ps->end || (*ps->p != '"' && *ps->p != '\'')) return NULL;
        char q = *ps->p++;
        const char *close = memchr(ps->p, q, (size_t)(ps->end - ps->p));
        if (!close) return NULL;
        ps->p = close + 1;
    }
    kbuf text = KBUF_INIT;
    xml_node *last = NULL;
    for (;;) {
        if (!read_text(ps, &text)) goto fail;
        if (ps->p >= ps->end) goto fail;
        if (starts(ps, "</")) {
            ps->p += 2;
            const char *cn = ps->p;
            while (ps->p < ps->end && is_name_char(*ps->p)) ps->p++;
            if ((size_t)(ps->p - cn) != qlen || memcmp(cn, qname, qlen)) goto fail;
            while (ps->p < ps->end && is_space(*ps->p)) ps->p++;
            if (ps->p >= ps->end || *ps->p != '>') goto fail;
            ps->p++;
            break;
        }
        if (starts(ps, "<!--")) {
            if (!skip_past(ps, "-->")) goto fail;
            continue;
        }
        if (starts(ps, "<![CDATA[")) {
            ps->p += 9;
            const char *s = ps->p;
            if (!skip_past(ps, "]]>")) goto fail;
            kbuf_append(&text, s, (size_t)(ps->p - 3 - s));
            continue;
        }
        if (starts(ps, "<?") || starts(ps, "<!")) goto fail;
        xml_node *child = parse_element(ps, depth + 1);
        if (!child) goto fail;
        if (last)
            last->next = child;
        else
            node->child = child;
        last = child;
    }
    node->text = arena_strndup(ps->a, text.data ? text.data : "", text.len);
    node->text_len = text.len;
    kbuf_free(&text);
    return node;
fail:
    kbuf_free(&text);
    return NULL;
}

kerr xml_parse(arena *a, const char *p, size_t n, xml_node **root) {
    parser ps = {a, p, p + n};
    if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) ps.p += 3; /* UTF-8 BOM */
    if (!skip_misc(&ps)) return K_EMALFORMEDXML;
    xml_node *r = parse_element(&ps, 0);
    if (!r) return K_EMALFORMEDXML;
    if (!skip_misc(&ps) || ps.p != ps.end) return K_EMALFORMEDXML;
    *root = r;
    return K_OK;
}

xml_node *xml_child(const xml_node *n, const char *name) {
    for (xml_node *c = n ? n->child : NULL; c; c = c->next)
        if (!strcmp(c->name, name)) return c;
    return NULL;
}

const char *xml_child_text(const xml_node *n, const char *name) {
    xml_node *c = xml_child(n, name);
    return c ? c->text : NULL;
}

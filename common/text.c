/* SPDX-License-Identifier: Apache-2.0 */
#include "common/text.h"

#include <string.h>

static const char wday_short[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const wday_long[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};
static const char mon_short[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Range gmtime_r can format with 4-digit years: 0000-01-01 .. 9999-12-31. */
#define MIN_TIME (-62167219200LL)
#define MAX_TIME (253402300799LL)

static void utc(time_t t, struct tm *tm) {
    if ((long long)t < MIN_TIME) t = (time_t)MIN_TIME;
    if ((long long)t > MAX_TIME) t = (time_t)MAX_TIME;
    gmtime_r(&t, tm);
}

static char *put2(char *o, int v) {
    o[0] = (char)('0' + v / 10 % 10);
    o[1] = (char)('0' + v % 10);
    return o + 2;
}

static char *put4(char *o, int v) {
    o = put2(o, v / 100);
    return put2(o, v % 100);
}

static char *put3s(char *o, const char *s) {
    memcpy(o, s, 3);
    return o + 3;
}

void fmt_http_date(time_t t, char out[30]) {
    struct tm tm;
    utc(t, &tm);
    char *o = out;
    o = put3s(o, wday_short[tm.tm_wday]);
    *o++ = ',';
    *o++ = ' ';
    o = put2(o, tm.tm_mday);
    *o++ = ' ';
    o = put3s(o, mon_short[tm.tm_mon]);
    *o++ = ' ';
    o = put4(o, tm.tm_year + 1900);
    *o++ = ' ';
    o = put2(o, tm.tm_hour);
    *o++ = ':';
    o = put2(o, tm.tm_min);
    *o++ = ':';
    o = put2(o, tm.tm_sec);
    memcpy(o, " GMT", 5);
}

void fmt_iso8601_ms(time_t t, char out[25]) {
    struct tm tm;
    utc(t, &tm);
    char *o = out;
    o = put4(o, tm.tm_year + 1900);
    *o++ = '-';
    o = put2(o, tm.tm_mon + 1);
    *o++ = '-';
    o = put2(o, tm.tm_mday);
    *o++ = 'T';
    o = put2(o, tm.tm_hour);
    *o++ = ':';
    o = put2(o, tm.tm_min);
    *o++ = ':';
    o = put2(o, tm.tm_sec);
    memcpy(o, ".000Z", 6);
}

/* ---------------------------------------------------------------------------
 * Date parsing
 */

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* Reads exactly n digits. */
static bool digits(const char **s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit((*s)[i])) return false;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return true;
}

static bool lit(const char **s, const char *l) {
    size_t n = strlen(l);
    if (strncmp(*s, l, n) != 0) return false;
    *s += n;
    return true;
}

static bool month(const char **s, int *mon) {
    for (int i = 0; i < 12; i++) {
        if (strncmp(*s, mon_short[i], 3) == 0) {
            *s += 3;
            *mon = i;
            return true;
        }
    }
    return false;
}

/* "HH:MM:SS" */
static bool clock_time(const char **s, struct tm *tm) {
    return digits(s, 2, &tm->tm_hour) && lit(s, ":") && digits(s, 2, &tm->tm_min) && lit(s, ":") &&
           digits(s, 2, &tm->tm_sec);
}

static bool leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Validates fields (year is the full year in tm_year here) and converts. */
static bool finish(struct tm *tm, time_t *out) {
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = tm->tm_year;
    if (y < 0 || y > 9999 || tm->tm_mon < 0 || tm->tm_mon > 11) return false;
    int dim = mdays[tm->tm_mon] + (tm->tm_mon == 1 && leap(y));
    if (tm->tm_mday < 1 || tm->tm_mday > dim) return false;
    if (tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60) return false;
    tm->tm_year = y - 1900;
    tm->tm_isdst = 0;
    *out = timegm(tm);
    return true;
}

static const char *skip_ws(const char *s) {
    while (*s == ' ' || *s == '\t') s++;
    return s;
}

/* RFC 7231 7.1.1.1: a two-digit year more than 50 years ahead is in the past
 * century. */
static int expand_year2(int yy) {
    struct tm now;
    time_t t = time(NULL);
    gmtime_r(&t, &now);
    int cur = now.tm_year + 1900;
    int y = cur - cur % 100 + yy;
    if (y > cur + 50) y -= 100;
    return y;
}

bool parse_http_date(const char *s, time_t *out) {
    if (!s) return false;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    s = skip_ws(s);

    int wd = -1;
    bool long_name = false;
    for (int i = 0; i < 7 && wd < 0; i++) {
        size_t ln = strlen(wday_long[i]);
        if (strncmp(s, wday_long[i], ln) == 0) {
            wd = i, long_name = true, s += ln;
        } else if (strncmp(s, wday_short[i], 3) == 0) {
            wd = i, s += 3;
        }
    }
    if (wd < 0) return false;

    if (*s == ',' && !long_name) {
        /* RFC 1123: "Sun, 06 Nov 1994 08:49:37 GMT" */
        s++;
        if (!lit(&s, " ")) return false;
        if (is_digit(s[0]) && is_digit(s[1])) {
            digits(&s, 2, &tm.tm_mday);
        } else if (!digits(&s, 1, &tm.tm_mday)) {
            return false;
        }
        if (!lit(&s, " ") || !month(&s, &tm.tm_mon) || !lit(&s, " ") ||
            !digits(&s, 4, &tm.tm_year) || !lit(&s, " ") || !clock_time(&s, &tm) ||
            !lit(&s, " GMT"))
            return false;
    } else if (*s == ',' && long_name) {
        /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
        s++;
        int yy;
        if (!lit(&s, " ") || !digits(&s, 2, &tm.tm_mday) || !lit(&s, "-") ||
            !month(&s, &tm.tm_mon) || !lit(&s, "-") || !digits(&s, 2, &yy) || !lit(&s, " ") ||
            !clock_time(&s, &tm) || !lit(&s, " GMT"))
            return false;
        tm.tm_year = expand_year2(yy);
    } else if (*s == ' ' && !long_name) {
        /* asctime: "Sun Nov  6 08:49:37 1994" */
        s++;
        if (!month(&s, &tm.tm_mon) || !lit(&s, " ")) return false;
        if (*s == ' ') {
            s++;
            if (!digits(&s, 1, &tm.tm_mday)) return false;
        } else if (!digits(&s, 2, &tm.tm_mday)) {
            return false;
        }
        if (!lit(&s, " ") || !clock_time(&s, &tm) || !lit(&s, " ") || !digits(&s, 4, &tm.tm_year))
            return false;
    } else {
        return false;
    }
    s = skip_ws(s);
    if (*s) return false;
    return finish(&tm, out);
}

bool parse_iso8601_basic(const char *s, time_t *out) {
    if (!s) return false;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int mon;
    if (!digits(&s, 4, &tm.tm_year) || !digits(&s, 2, &mon) || !digits(&s, 2, &tm.tm_mday) ||
        !lit(&s, "T") || !digits(&s, 2, &tm.tm_hour) || !digits(&s, 2, &tm.tm_min) ||
        !digits(&s, 2, &tm.tm_sec) || !lit(&s, "Z") || *s)
        return false;
    tm.tm_mon = mon - 1;
    return finish(&tm, out);
}

/* ---------------------------------------------------------------------------
 * URL encoding
 */

static bool unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

void url_encode(kbuf *b, const char *s, size_t n, bool keep_slash) {
    static const char hex[] = "0123456789ABCDEF";
    kbuf_reserve(b, n * 3);
    char *o = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (c == '/' && keep_slash)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    b->len = (size_t)(o - b->data);
    b->data[b->len] = 0;
}

static int xval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

long url_decode_inplace(char *s, size_t n, bool plus_is_space) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (n - i < 3) return -1;
            int hi = xval((unsigned char)s[i + 1]), lo = xval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        s[o++] = c;
    }
    s[o] = 0;
    return (long)o;
}

/* ---------------------------------------------------------------------------
 * UTF-8
 */

size_t utf8_next(const char *s, size_t n, uint32_t *cp) {
    const unsigned char *u = (const unsigned char *)s;
    unsigned char c = u[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0; /* continuation byte, C0/C1 (overlong) or F5-FF */
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (u[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

bool utf8_valid(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = utf8_next(s + i, n - i, &cp);
        if (!l) return false;
        i += l;
    }
    return true;
}

bool xml_char_ok(uint32_t cp) {
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
           (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

bool xml_text_ok(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = utf8_next(s + i, n - i, &cp);
        if (!l || !xml_char_ok(cp)) return false;
        i += l;
    }
    return true;
}

/* ---------------------------------------------------------------------------
 * Small parsers
 */

static unsigned char lower(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool str_ieq(const char *a, size_t an, const char *b, size_t bn) {
    if (an != bn) return false;
    for (size_t i = 0; i < an; i++) {
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return false;
    }
    return true;
}

bool parse_u64(const char *s, size_t n, uint64_t *out) {
    if (!n) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i])) return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

const char *str_trim(const char *s, size_t *n) {
    size_t a = 0, b = *n;
    while (a < b && space(s[a])) a++;
    while (b > a && space(s[b - 1])) b--;
    *n = b - a;
    return s + a;
}

const char *mime_type_guess(const char *name, size_t n) {
    static const struct {
        const char *ext, *type;
    } t[] = {
        {"7z", "application/x-7z-compressed"},
        {"aac", "audio/aac"},
        {"avi", "video/x-msvideo"},
        {"bin", "application/octet-stream"},
        {"bmp", "image/bmp"},
        {"bz2", "application/x-bzip2"},
        {"c", "text/plain"},
        {"css", "text/css"},
        {"csv", "text/csv"},
        {"doc", "application/msword"},
        {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {"epub", "application/epub+zip"},
        {"flac", "audio/flac"},
        {"gif", "image/gif"},
        {"gz", "application/gzip"},
        {"h", "text/plain"},
        {"heic", "image/heic"},
        {"htm", "text/html"},
        {"html", "text/html"},
        {"ico", "image/vnd.microsoft.icon"},
        {"ics", "text/calendar"},
        {"jpeg", "image/jpeg"},
        {"jpg", "image/jpeg"},
        {"js", "text/javascript"},
        {"json", "application/json"},
        {"m4a", "audio/mp4"},
        {"md", "text/markdown"},
        {"mjs", "text/javascript"},
        {"mkv", "video/x-matroska"},
        {"mov", "video/quicktime"},
        {"mp3", "audio/mpeg"},
        {"mp4", "video/mp4"},
        {"mpeg", "video/mpeg"},
        {"mpg", "video/mpeg"},
        {"oga", "audio/ogg"},
        {"ogg", "audio/ogg"},
        {"ogv", "video/ogg"},
        {"otf", "font/otf"},
        {"pdf", "application/pdf"},
        {"png", "image/png"},
        {"ppt", "application/vnd.ms-powerpoint"},
        {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
        {"py", "text/x-python"},
        {"rar", "application/vnd.rar"},
        {"rtf", "application/rtf"},
        {"sh", "application/x-sh"},
        {"svg", "image/svg+xml"},
        {"tar", "application/x-tar"},
        {"tgz", "application/gzip"},
        {"tif", "image/tiff"},
        {"tiff", "image/tiff"},
        {"ttf", "font/ttf"},
        {"txt", "text/plain"},
        {"wasm", "application/wasm"},
        {"wav", "audio/x-wav"},
        {"webm", "video/webm"},
        {"webp", "image/webp"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
        {"xls", "application/vnd.ms-excel"},
        {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"xml", "text/xml"},
        {"yaml", "application/yaml"},
        {"yml", "application/yaml"},
        {"zip", "application/zip"},
    };
    size_t i = n;
    while (i && name[i - 1] != '.' && name[i - 1] != '/') i--;
    if (!i || name[i - 1] != '.' || i == n) return NULL;
    size_t el = n - i;
    if (el > 8) return NULL;
    char ext[9];
    for (size_t k = 0; k < el; k++) {
        char c = name[i + k];
        ext[k] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    ext[el] = 0;
    for (size_t k = 0; k < sizeof t / sizeof *t; k++)
        if (!strcmp(t[k].ext, ext)) return t[k].type;
    return NULL;
}

/* The fixed helpers of emitted C: each `helper: NAME` comment starts one, which runs to
 * the next. The emitter copies those a function needs above it. */

/* helper: int_div */
/* Euclidean division (SMT-LIB div). */
static int64_t int_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if (a % b < 0) {
        q = b > 0 ? q - 1 : q + 1;
    }
    return q;
}

/* helper: int_mod */
/* Euclidean remainder (SMT-LIB mod), never negative. */
static int64_t int_mod(int64_t a, int64_t b) {
    int64_t r = a % b;
    return r < 0 ? (b > 0 ? r + b : r - b) : r;
}

/* helper: str_concat */
static const char *str_concat(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    char *r = malloc(n + m + 1);
    if (r == NULL) {
        abort();
    }
    memcpy(r, a, n);
    memcpy(r + n, b, m + 1);
    return r;
}

/* helper: str_substr */
/* SMT-LIB str.substr: empty when i is out of range or n <= 0. */
static const char *str_substr(const char *s, int64_t i, int64_t n) {
    int64_t len = (int64_t)strlen(s);
    if (i < 0 || i >= len || n <= 0) {
        return "";
    }
    if (n > len - i) {
        n = len - i;
    }
    char *r = malloc((size_t)n + 1);
    if (r == NULL) {
        abort();
    }
    memcpy(r, s + i, (size_t)n);
    r[n] = '\0';
    return r;
}

/* helper: str_indexof */
/* SMT-LIB str.indexof: -1 when absent or i is out of range. */
static int64_t str_indexof(const char *s, const char *t, int64_t i) {
    int64_t len = (int64_t)strlen(s);
    if (i < 0 || i > len) {
        return -1;
    }
    const char *p = strstr(s + i, t);
    return p == NULL ? -1 : (int64_t)(p - s);
}

/* helper: str_dup */
/* A copy of s the caller may change. */
static char *str_dup(const char *s) {
    size_t n = strlen(s);
    char *r = malloc(n + 1);
    if (r == NULL) {
        abort();
    }
    memcpy(r, s, n + 1);
    return r;
}

/* helper: str_to_upper */
/* ASCII letters to upper case. */
static const char *str_to_upper(const char *s) {
    char *r = str_dup(s);
    for (char *p = r; *p != '\0'; p++) {
        if (*p >= 'a' && *p <= 'z') {
            *p = (char)(*p - 'a' + 'A');
        }
    }
    return r;
}

/* helper: str_to_lower */
/* ASCII letters to lower case. */
static const char *str_to_lower(const char *s) {
    char *r = str_dup(s);
    for (char *p = r; *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            *p = (char)(*p - 'A' + 'a');
        }
    }
    return r;
}

/* helper: str_to_title */
/* Each word's first ASCII letter upper case, its other ASCII letters lower case. */
static const char *str_to_title(const char *s) {
    char *r = str_dup(s);
    int after_letter = 0;
    for (char *p = r; *p != '\0'; p++) {
        int lower = *p >= 'a' && *p <= 'z', upper = *p >= 'A' && *p <= 'Z';
        if (after_letter && upper) {
            *p = (char)(*p - 'A' + 'a');
        } else if (!after_letter && lower) {
            *p = (char)(*p - 'a' + 'A');
        }
        after_letter = lower || upper;
    }
    return r;
}

/* helper: str_trim */
/* Without leading and trailing spaces, tabs, newlines and carriage returns. */
static const char *str_trim(const char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) {
        n--;
    }
    char *r = malloc(n + 1);
    if (r == NULL) {
        abort();
    }
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

/* helper: str_field */
/* The i-th piece (from 0; -1 the last) of s split at each sep; "" past either end. */
static const char *str_field(const char *s, const char *sep, int64_t i) {
    size_t sl = strlen(sep);
    if (i < 0) {
        /* From the end: -1 is the last piece. */
        int64_t pieces = 1;
        for (const char *at = sl > 0 ? strstr(s, sep) : NULL; at != NULL; at = strstr(at + sl, sep)) {
            pieces++;
        }
        i += pieces;
    }
    if (i < 0 || (sl == 0 && i > 0)) {
        return "";
    }
    const char *start = s;
    for (; sl > 0 && i > 0; i--) {
        const char *next = strstr(start, sep);
        if (next == NULL) {
            return "";
        }
        start = next + sl;
    }
    const char *end = sl > 0 ? strstr(start, sep) : NULL;
    size_t n = end == NULL ? strlen(start) : (size_t)(end - start);
    char *r = malloc(n + 1);
    if (r == NULL) {
        abort();
    }
    memcpy(r, start, n);
    r[n] = '\0';
    return r;
}

/* helper: str_pad_left */
/* s padded on the left with the one character c to width w. */
static const char *str_pad_left(const char *s, int64_t w, const char *c) {
    int64_t n = (int64_t)strlen(s);
    if (strlen(c) != 1 || w <= n) {
        return s;
    }
    char *r = malloc((size_t)w + 1);
    if (r == NULL) {
        abort();
    }
    memset(r, c[0], (size_t)(w - n));
    memcpy(r + (w - n), s, (size_t)n + 1);
    return r;
}

/* helper: str_repeat */
/* s n times ("" for n <= 0). */
static const char *str_repeat(const char *s, int64_t n) {
    size_t l = strlen(s);
    if (n <= 0 || l == 0) {
        return "";
    }
    char *r = malloc(l * (size_t)n + 1);
    if (r == NULL) {
        abort();
    }
    for (int64_t k = 0; k < n; k++) {
        memcpy(r + (size_t)k * l, s, l);
    }
    r[l * (size_t)n] = '\0';
    return r;
}

/* helper: str_replace */
/* SMT-LIB str.replace: first occurrence; an empty pattern prepends. */
static const char *str_replace(const char *s, const char *t, const char *u) {
    if (*t == '\0') {
        return str_concat(u, s);
    }
    const char *p = strstr(s, t);
    if (p == NULL) {
        return s;
    }
    size_t pre = (size_t)(p - s), tl = strlen(t), ul = strlen(u), rest = strlen(p + tl);
    char *r = malloc(pre + ul + rest + 1);
    if (r == NULL) {
        abort();
    }
    memcpy(r, s, pre);
    memcpy(r + pre, u, ul);
    memcpy(r + pre + ul, p + tl, rest + 1);
    return r;
}

/* helper: str_replace_all */
/* SMT-LIB str.replace_all: every occurrence, left to right; an empty pattern leaves s unchanged. */
static const char *str_replace_all(const char *s, const char *t, const char *u) {
    size_t tl = strlen(t), ul = strlen(u), n = 0;
    if (tl == 0) {
        return s;
    }
    for (const char *p = strstr(s, t); p != NULL; p = strstr(p + tl, t)) {
        n++;
    }
    if (n == 0) {
        return s;
    }
    char *r = malloc(strlen(s) - n * tl + n * ul + 1);
    if (r == NULL) {
        abort();
    }
    char *w = r;
    const char *p = s;
    for (const char *q = strstr(p, t); q != NULL; q = strstr(p, t)) {
        memcpy(w, p, (size_t)(q - p));
        w += q - p;
        memcpy(w, u, ul);
        w += ul;
        p = q + tl;
    }
    strcpy(w, p);
    return r;
}

/* helper: str_suffixof */
static bool str_suffixof(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    return n <= m && strcmp(b + (m - n), a) == 0;
}

/* helper: str_to_int */
/* SMT-LIB str.to_int: -1 unless s is a non-empty string of 0-9. */
static int64_t str_to_int(const char *s) {
    if (*s == '\0') {
        return -1;
    }
    int64_t v = 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        v = v * 10 + (*p - '0');
    }
    return v;
}

/* helper: str_from_int */
static const char *str_from_int(int64_t n) {
    if (n < 0) {
        return "";
    }
    char *r = malloc(24);
    if (r == NULL) {
        abort();
    }
    snprintf(r, 24, "%lld", (long long)n);
    return r;
}

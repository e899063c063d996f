# The helpers of emitted Python: each `helper: NAME` comment starts one, which runs to the
# next. The emitter copies those a function needs above it.

# helper: _ediv
def _ediv(a: int, b: int) -> int:
    """Euclidean division (SMT-LIB `div`)."""
    return (a - a % abs(b)) // b

# helper: _emod
def _emod(a: int, b: int) -> int:
    """Euclidean remainder (SMT-LIB `mod`), never negative."""
    return a % abs(b)

# helper: _signed
def _signed(x: int, w: int) -> int:
    """Reads a w-bit pattern as a two's-complement number."""
    return x - (1 << w) if x >> (w - 1) else x

# helper: _bvudiv
def _bvudiv(a: int, b: int, w: int) -> int:
    return a // b if b else (1 << w) - 1

# helper: _bvurem
def _bvurem(a: int, b: int, w: int) -> int:
    return a % b if b else a

# helper: _bvshl
def _bvshl(a: int, b: int, w: int) -> int:
    return (a << b) & ((1 << w) - 1) if b < w else 0

# helper: _bvlshr
def _bvlshr(a: int, b: int, w: int) -> int:
    return a >> b if b < w else 0

# helper: _bvashr
def _bvashr(a: int, b: int, w: int) -> int:
    s = a - (1 << w) if a >> (w - 1) else a
    return (s >> min(b, w - 1)) & ((1 << w) - 1)

# helper: _bvsdiv
def _bvsdiv(a: int, b: int, w: int) -> int:
    x = a - (1 << w) if a >> (w - 1) else a
    y = b - (1 << w) if b >> (w - 1) else b
    if y == 0:
        return 1 if x < 0 else (1 << w) - 1
    q = abs(x) // abs(y)
    return (q if (x < 0) == (y < 0) else -q) & ((1 << w) - 1)

# helper: _bvsrem
def _bvsrem(a: int, b: int, w: int) -> int:
    x = a - (1 << w) if a >> (w - 1) else a
    y = b - (1 << w) if b >> (w - 1) else b
    if y == 0:
        return a
    r = abs(x) % abs(y)
    return (-r if x < 0 else r) & ((1 << w) - 1)

# helper: _bvsmod
def _bvsmod(a: int, b: int, w: int) -> int:
    x = a - (1 << w) if a >> (w - 1) else a
    y = b - (1 << w) if b >> (w - 1) else b
    if y == 0:
        return a
    return (x % y) & ((1 << w) - 1)

# helper: _str_substr
def _str_substr(s: str, i: int, n: int) -> str:
    """SMT-LIB `str.substr`: empty when `i` is out of range or `n <= 0`."""
    if i < 0 or i >= len(s) or n <= 0:
        return ""
    return s[i:i + n]

# helper: _str_indexof
def _str_indexof(s: str, t: str, i: int) -> int:
    """SMT-LIB `str.indexof`: -1 when absent or `i` is out of range."""
    if i < 0 or i > len(s):
        return -1
    return s.find(t, i)

# helper: _str_replace_all
def _str_replace_all(s: str, t: str, u: str) -> str:
    return s.replace(t, u) if t else s

# helper: _str_to_int
def _str_to_int(s: str) -> int:
    """SMT-LIB `str.to_int`: -1 unless `s` is a non-empty string of 0-9."""
    if s == "" or any(c not in "0123456789" for c in s):
        return -1
    return int(s)

# helper: _ASCII_CASE
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# helper: _str_to_title
def _str_to_title(s: str) -> str:
    """Each word's first ASCII letter upper case, its other ASCII letters lower case."""
    out = []
    after_letter = False
    for c in s:
        out.append(c.translate(_ASCII_LOWER if after_letter else _ASCII_UPPER))
        after_letter = c.isascii() and c.isalpha()
    return "".join(out)

# helper: _str_field
def _str_field(s: str, sep: str, i: int) -> str:
    """The i-th piece (from 0; -1 the last) of s split at each sep; "" past either end."""
    pieces = s.split(sep) if sep else [s]
    return pieces[i] if -len(pieces) <= i < len(pieces) else ""

# helper: _str_pad_left
def _str_pad_left(s: str, w: int, c: str) -> str:
    """s padded on the left with the one character c to width w."""
    return s.rjust(w, c) if len(c) == 1 else s

# helper: _str_from_int
def _str_from_int(n: int) -> str:
    return str(n) if n >= 0 else ""

# helper: _tdiv
def _tdiv(a: int, b: int) -> int:
    """Integer division truncating toward zero, as C divides."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q

# helper: _trem
def _trem(a: int, b: int) -> int:
    """The remainder of a division truncating toward zero (the dividend's sign), as C's %."""
    return a - b * _tdiv(a, b)

"""The values kubectl's YAML gives: scalars, keys and aliases as sigs.k8s.io/yaml turns YAML into JSON.

kubectl 1.34 reads manifests through sigs.k8s.io/yaml v1.6.0, which decodes each
document with go.yaml.in/yaml/v2 v2.4.2 into Go values and marshals those as
JSON. What it does, and so what this module does, is in that source:

- resolve.go ``resolve``: a plain scalar is looked up by its first character.
  ``y Y yes Yes YES true True TRUE on On ON`` are true, ``n N no No NO false
  False FALSE off Off OFF`` false, ``"" ~ null Null NULL`` null (YAML 1.1's
  booleans, not PyYAML's set); ``.inf``/``.nan`` and their spellings are
  non-finite floats, which ``encoding/json`` then refuses ("json: unsupported
  value"); a number is Go's ``ParseInt(s, 0, 64)`` with ``_`` removed (``017``
  is octal, ``0o17``, ``0x1F``, ``0b101`` too), then ``ParseUint``, then a float
  of the form ``[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?``; one
  out of float range (``1.0e+400``, a 5,000-digit number) stays a string.
- decode.go ``scalar``: a timestamp is given as the text it was written as
  (2024-01-31 stays "2024-01-31"); ``!!binary`` is base64-decoded into a Go
  string, which ``encoding/json`` writes with each invalid UTF-8 byte as
  U+FFFD; any other tag that is not str, bool, int, float, null or timestamp
  leaves the text as a string, and tags on mappings and sequences are ignored
  (``!!set {a, b}`` is ``{a: null, b: null}``).
- decode.go ``merge``: ``<<`` merges a mapping, or a sequence of mappings with
  the earlier ones first, into the mapping at that point; a key given before
  it is overwritten by the merged value, one after it wins.
- decode.go ``unmarshal``: past 100 aliased and 1,000 decoded nodes, a document
  whose aliased share of decoded nodes exceeds ``allowed_alias_ratio`` is
  refused ("document contains excessive aliasing"), the bound against
  billion-laughs documents.
- yaml.go ``convertToJSONableObject``: keys become strings (ints in decimal,
  floats as Go's ``FormatFloat(f, 'g', -1, 32)``, booleans as true/false); a
  null key, a uint64 one or a collection is refused.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import math
import re
import struct
from datetime import date, datetime
from decimal import Decimal

TAG = "tag:yaml.org,2002:"
STR, BINARY, BOOL, INT, FLOAT, NULL, TIMESTAMP, MERGE = (TAG + name for name in (
    "str", "binary", "bool", "int", "float", "null", "timestamp", "merge"))
_RESOLVABLE = {"", STR, BOOL, INT, FLOAT, NULL, TIMESTAMP}

_INT64 = 1 << 63
_UINT64 = 1 << 64

_WORDS: dict[str, tuple[str, object]] = {
    **{word: (BOOL, True) for word in "y Y yes Yes YES true True TRUE on On ON".split()},
    **{word: (BOOL, False) for word in "n N no No NO false False FALSE off Off OFF".split()},
    **{word: (NULL, None) for word in ("", "~", "null", "Null", "NULL")},
    **{word: (FLOAT, math.nan) for word in (".nan", ".NaN", ".NAN")},
    **{word: (FLOAT, math.inf) for word in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{word: (FLOAT, -math.inf) for word in ("-.inf", "-.Inf", "-.INF")},
}
_HINTS = {**dict.fromkeys("+-", "S"), **dict.fromkeys("0123456789", "D"),
          **dict.fromkeys("yYnNtTfFoO~", "M"), ".": "."}
HINTED = frozenset(_HINTS)  # the first characters of a plain scalar that may be anything but a string
# strconv.ParseInt(s, 0, 64) and ParseUint: a sign (ParseInt only), then 0x, 0o, 0b, a leading 0 (octal) or decimal.
_GO_INT = re.compile(r"([+-]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|(0[0-7]*)|([1-9][0-9]*))")
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9_]*(?:[eE][-+]?[0-9_]+)?")
# allowedTimestampFormats: 2006-1-2T15:4:5.999999999Z07:00 (T or t), 2006-1-2 15:4:5.999999999, 2006-1-2.
_TIMESTAMP = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?"
                        r"(?:Z|[+-]\d{2}:\d{2}))|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?))?")


class Refused(ValueError):
    """A value kubectl's YAML refuses; the message is what it says, or what the refusal is."""


def scalar(value: str, tag: str | None, plain: bool) -> object:
    """The value of a scalar (its text, its tag as the parser expands it, whether it is plain)."""
    if tag is None or tag == "!":
        if not plain or tag == "!":
            return value
        tag = ""
    if tag == BINARY:
        return _binary(value)
    if tag not in _RESOLVABLE:
        return value
    found_tag, found = (STR, value) if tag == STR else _resolve(value, tag)
    if tag == FLOAT and found_tag == INT:
        found_tag, found = FLOAT, float(found)
    elif tag not in ("", found_tag, STR):
        raise Refused(f"cannot decode !!{_short(found_tag)} `{value}` as a !!{tag[len(TAG):]}")
    return value if found_tag == TIMESTAMP else found


def is_merge(value: str, tag: str | None, plain: bool) -> bool:
    """Whether a key is the merge key ``<<`` (decode.go isMerge: plain, or tagged !!merge)."""
    return value == "<<" and ((plain and tag is None) or tag == MERGE)


def json_value(value: object) -> object:
    """A decoded value (not a key) as it comes back from kubectl's JSON; Refused for a non-finite
    float, which encoding/json cannot write. A float without a fraction is written as its shortest
    digits and read back as an integer when those fit int64."""
    if type(value) is not float:
        return value
    if not math.isfinite(value):
        raise Refused(f"the float {format_g(value)} is not finite, and JSON has no such number: kubectl refuses "
                      "it (json: unsupported value)")
    if value.is_integer():
        written = int(Decimal(repr(value)))
        if -_INT64 <= written < _INT64:
            return written
    return value


def key(value: object) -> str:
    """A mapping key as convertToJSONableObject writes it; Refused for the keys it refuses."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value >= _INT64:
            raise Refused(f"unsupported map key of type: uint64, key: {value}")
        return str(value)
    if isinstance(value, float):
        return format_g(value)
    if value is None:
        raise Refused("unsupported map key of type: <nil> (a null key)")
    raise Refused(f"invalid map key: a {'mapping' if isinstance(value, dict) else 'sequence'}")


def format_g(value: float) -> str:
    """``strconv.FormatFloat(value, 'g', -1, 32)``, which convertToJSONableObject writes float keys with:
    the shortest digits that give the same float32, %e below 1e-4 and from 1e6 on; .inf, -.inf, .nan."""
    single = _float32(value)
    if math.isnan(single):
        return ".nan"
    if math.isinf(single):
        return ".inf" if single > 0 else "-.inf"
    sign = "-" if math.copysign(1, single) < 0 else ""
    if single == 0:
        return sign + "0"
    for precision in range(9):
        shortest = f"{abs(single):.{precision}e}"
        if _float32(float(shortest)) == abs(single):
            break
    mantissa, _, power = shortest.partition("e")
    digits = mantissa.replace(".", "").rstrip("0") or "0"
    exponent = int(power)
    if exponent < -4 or exponent >= 6:
        shown = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{shown}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    point = exponent + 1  # the value is 0.<digits> times ten to this
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    whole, fraction = digits[:point].ljust(point, "0"), digits[point:]
    return sign + whole + ("." + fraction if fraction else "")


def _float32(value: float) -> float:
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def allowed_alias_ratio(decoded: int) -> float:
    """decode.go allowedAliasRatio: 99% of decoded nodes may come from aliases up to 400,000 of them,
    falling to 10% at 4,000,000."""
    if decoded <= 400_000:
        return 0.99
    if decoded >= 4_000_000:
        return 0.10
    return 0.99 - 0.89 * ((decoded - 400_000) / 3_600_000)


def excessive_aliasing(aliased: int, decoded: int) -> bool:
    return aliased > 100 and decoded > 1000 and aliased / decoded > allowed_alias_ratio(decoded)


def _resolve(value: str, tag: str) -> tuple[str, object]:
    hint = _HINTS.get(value[0]) if value else "N"
    if hint is None:
        return STR, value
    if value in _WORDS:
        return _WORDS[value]
    if hint == ".":
        found = _dot_float(value)
        if found is not None:
            return FLOAT, found
    elif hint in "DS":
        if tag in ("", TIMESTAMP) and _is_timestamp(value):
            return TIMESTAMP, value
        plain = value.replace("_", "")
        number = _go_int(plain)
        if number is not None:
            return INT, number
        if _YAML_STYLE_FLOAT.fullmatch(plain):
            found = float(plain)
            if math.isfinite(found):  # strconv.ParseFloat fails with ErrRange: the text stays a string
                return FLOAT, found
    return STR, value


def _go_int(text: str) -> int | None:
    match = _GO_INT.fullmatch(text)
    if match is None:
        return None
    sign, hexa, octal, binary, zero_octal, decimal = match.groups()
    if hexa is not None:
        number = int(hexa, 16)
    elif octal is not None:
        number = int(octal, 8)
    elif binary is not None:
        number = int(binary, 2)
    elif zero_octal is not None:
        number = int(zero_octal, 8)
    elif len(decimal) > 20:  # past uint64, and past Python's limit on digits read as an int
        return None
    else:
        number = int(decimal)
    if sign == "-":
        number = -number
    if -_INT64 <= number < _INT64:
        return number
    return number if not sign and number < _UINT64 else None


def _dot_float(text: str) -> float | None:
    # strconv.ParseFloat(in, 64) on a text that starts with a dot: digits with underscores
    # between them, as Python's float() takes them too.
    if not _DOT_FLOAT.fullmatch(text):
        return None
    try:
        found = float(text)
    except ValueError:
        return None
    return found if math.isfinite(found) else None


def _is_timestamp(text: str) -> bool:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return False
    year, month, day, *clock = match.groups()
    hour, minute, second = [int(part) for part in clock if part is not None] or [0, 0, 0]
    try:
        date(int(year), int(month), int(day))
        datetime(2000, 1, 1, hour, minute, second)
    except ValueError:
        return False
    return True


def _binary(text: str) -> str:
    try:
        data = base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True)
    except binascii.Error:
        raise Refused("!!binary value contains invalid base64 data") from None
    return data.decode("utf-8", errors=_PER_BYTE)


def _replace_each_byte(error: UnicodeDecodeError) -> tuple[str, int]:
    # encoding/json writes each byte of invalid UTF-8 as its own U+FFFD.
    return "\ufffd" * (error.end - error.start), error.end


_PER_BYTE = "winpod-each-byte-replaced"
codecs.register_error(_PER_BYTE, _replace_each_byte)


def _short(tag: str) -> str:
    return tag[len(TAG):] if tag.startswith(TAG) else tag

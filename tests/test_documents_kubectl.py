"""Manifests, configs and fixtures read as kubectl reads them, and refused where it refuses or past a limit.

The expected values are what kubectl 1.34's YAML gives: sigs.k8s.io/yaml v1.6.0
``YAMLToJSON`` (over go.yaml.in/yaml/v2 v2.4.2) run on these very texts, and
k8s.io/apimachinery v0.34.1's unstructured decoding for Lists, written down
here from those runs (harness/goyaml.py names the source of each rule).
"""

import json
import re
import textwrap

import pytest

from harness import documents, manifests
from harness.cli import main
from harness.config import load_config
from harness.errors import ConfigError, FixtureError
from harness.fixtures import load_fixtures


def value(text: str) -> object:
    """The value of ``x`` in the one-document YAML text ``x: <text>``."""
    (doc,) = manifests.parse(f"kind: ConfigMap\nx: {text}\n", "v.yaml")
    assert isinstance(doc, documents.Document), doc
    return doc.obj["x"]


def refusal(text: str) -> str:
    (error,) = manifests.parse(text, "r.yaml")
    assert isinstance(error, documents.DocumentError), error
    return error.message


@pytest.mark.parametrize(("text", "expected"), [
    # YAML 1.1 booleans as go-yaml v2 has them (PyYAML's set differs: it has no y, Y, n, N).
    *[(word, True) for word in ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")],
    *[(word, False) for word in ("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")],
    ("tRue", "tRue"), ("~", None), ("null", None), ('""', ""), ("<<", "<<"),
    # Numbers: ParseInt(s, 0, 64) without underscores, ParseUint, then a YAML-style float.
    ("1e3", 1000), ("1.5e3", 1500), ("0x1F", 31), ("0X1f", 31), ("0o17", 15), ("017", 15), ("08", 8), ("00", 0),
    ("1_000", 1000), ("1__0", 10), ("+12", 12), ("0b101", 5), ("0B11", 3), ("-0b101", -5), ("-0x10", -16),
    ("99999999999999999999", 1e20), ("18446744073709551615", 18446744073709551615),
    ("9223372036854775808", 9223372036854775808), ("-9223372036854775809", -9223372036854775809.0),
    ("1.5", 1.5), (".5", 0.5), ("1.", 1), ("+.5", 0.5), ("-.5", -0.5), (".5_5", 0.55), ("1_0.5", 10.5),
    ("09.5", 9.5), ("1e-400", 0), ("0.1e-2", 0.001), ("1e21", 1e21),
    # Out of float64's range: a string, not a refusal (ParseFloat fails, the text stays).
    ("1.0e+400", "1.0e+400"), ("1e400", "1e400"), ("9" * 5000, "9" * 5000),
    ("12e", "12e"), ("0o", "0o"), ("1:30", "1:30"), ("._5", "._5"),
    # Timestamps: the text they were written as.
    ("2024-01-31", "2024-01-31"), ("2024-01-31T10:00:00Z", "2024-01-31T10:00:00Z"),
    ("2001-12-14 21:59:43.10 -5", "2001-12-14 21:59:43.10 -5"), ("!!timestamp 2024-01-01", "2024-01-01"),
    # Tags: binary decoded, a set is a mapping of nulls, an unknown tag leaves the text.
    ("!!binary aGVsbG8=", "hello"), ("!!binary |\n  aGVs\n  bG8=", "hello"), ('!!binary "/w=="', "\ufffd"),
    ("!!set {a, b}", {"a": None, "b": None}), ("!foo bar", "bar"), ("!foo {a: 1}", {"a": 1}), ("! 12", "12"),
    ('!!int "12"', 12), ("!!int 0x10", 16), ("!!str 12", "12"), ("!!str yes", "yes"), ("!!float 12", 12),
    ('!!float "1.5"', 1.5), ("!!float 1_0", 10), ("!!bool yes", True), ('!!bool "yes"', True), ('!!null ""', None),
    ("!!str {a: 1}", {"a": 1}), ("!!map [a]", ["a"]), ("!!omap [a: 1]", [{"a": 1}]),
], ids=lambda x: repr(x)[:30])
def test_scalars_are_the_values_kubectl_reads(text, expected):
    found = value(text)
    assert found == expected and type(found) is type(expected)


@pytest.mark.parametrize(("text", "problem"), [
    (".inf", "the float .inf is not finite"), ("-.Inf", "the float -.inf is not finite"),
    (".nan", "the float .nan is not finite"), ("!!float .inf", "the float .inf is not finite"),
    ("!!int abc", "cannot decode !!str `abc` as a !!int"), ("!!int 1.5", "cannot decode !!float `1.5` as a !!int"),
    ("!!float 1e400", "cannot decode !!str `1e400` as a !!float"),
    ("!!bool 1", "cannot decode !!int `1` as a !!bool"), ("!!null x", "cannot decode !!str `x` as a !!null"),
    ("!!timestamp 12", "cannot decode !!int `12` as a !!timestamp"),
    ('!!binary "aGVsbG8"', "!!binary value contains invalid base64 data"),
    ("*nowhere", "unknown anchor 'nowhere' referenced"),
], ids=lambda x: repr(x)[:30])
def test_what_kubectl_refuses_refuses_the_document_and_the_next_is_read(text, problem):
    error, after = manifests.parse(f"kind: ConfigMap\nmetadata: {{name: a}}\nx: {text}\n---\nkind: Pod\n", "r.yaml")
    assert isinstance(error, documents.DocumentError), error
    assert (error.number, error.line) == (1, 3)
    assert error.message.startswith(f"invalid YAML: {problem}")
    assert after.obj == {"kind": "Pod"}


@pytest.mark.parametrize(("text", "expected"), [
    ("{yes: 1, 1.5: 2, 0x10: 3, 1e3: 5, 2024-01-31: 6, off: 8}",
     {"true": 1, "1.5": 2, "16": 3, "1000": 5, "2024-01-31": 6, "false": 8}),
    ("{0.000012: a, 1e6: b, 123456.7: c, 1234567.0: d, 0.0001: e, -0.0: f, 1.5e-7: g, .inf: h, 3.14159265358979: i}",
     {"1.2e-05": "a", "1e+06": "b", "123456.7": "c", "1.234567e+06": "d", "0.0001": "e", "-0": "f",
      "1.5e-07": "g", ".inf": "h", "3.1415927": "i"}),
], ids=["ints-bools-dates", "floats"])
def test_keys_are_the_strings_kubectl_writes(text, expected):
    assert value(text) == expected


def test_y_and_yes_are_one_key_true():
    assert refusal("kind: ConfigMap\nyes: 1\ny: 2\n") == "invalid YAML: duplicate key 'true'"


@pytest.mark.parametrize("key", ["~", "18446744073709551615", "[a]", "{a: 1}"])
def test_keys_kubectl_cannot_write_refuse_the_document(key):
    assert refusal(f"kind: ConfigMap\n? {key}\n: 1\n").startswith(("invalid YAML: unsupported map key",
                                                                    "invalid YAML: invalid map key"))


MERGES = {
    # decode.go merge: a key before << is overwritten by the merged value, one after it wins.
    "a: &a {x: 1}\nb:\n  z: 2\n  <<: *a\n  x: 3\n": {"a": {"x": 1}, "b": {"z": 2, "x": 3}},
    "a: &a {x: 1}\nb:\n  x: 3\n  <<: *a\n": {"a": {"x": 1}, "b": {"x": 1}},
    "b: {<<: [{x: 1}, {x: 2, z: 3}], z: 4}\n": {"b": {"x": 1, "z": 4}},
    "a: &a {x: 1}\nb: {!!merge <<: *a}\n": {"a": {"x": 1}, "b": {"x": 1}},
    'a: &a {x: 1}\nb: {"<<": *a}\n': {"a": {"x": 1}, "b": {"<<": {"x": 1}}},
}


@pytest.mark.parametrize("text", MERGES)
def test_merge_keys_resolve_as_kubectl_resolves_them(text):
    (doc,) = manifests.parse("kind: ConfigMap\n" + text, "m.yaml")
    assert doc.obj == {"kind": "ConfigMap", **MERGES[text]}


@pytest.mark.parametrize("text", ["a: &a [1]\nb: {<<: *a}\n", "b: {<<: 1}\n", "b: {<<: [{x: 1}, 2]}\n"])
def test_a_merge_of_what_is_no_mapping_is_refused(text):
    assert refusal(text) == "invalid YAML: map merge requires map or sequence of maps as the value"


def test_an_alias_is_a_copy_of_its_own_with_the_lines_of_its_anchor():
    text = "kind: Pod\nspec:\n  containers:\n  - &c\n    name: a\n    image: x\n  initContainers:\n  - *c\n"
    (doc,) = manifests.parse(text, "p.yaml")
    containers, init = doc.obj["spec"]["containers"][0], doc.obj["spec"]["initContainers"][0]
    assert containers == init and containers is not init
    assert doc.line_of("spec.initContainers[0].image") == 6
    assert doc.line_of("spec.initContainers[0]") == 8


def test_an_anchor_that_contains_itself_is_refused():
    assert refusal("kind: Pod\na: &a [*a]\n") == "invalid YAML: anchor 'a' value contains itself"


BILLION_LAUGHS = textwrap.dedent("""\
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: lol}
    data:
      a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
      b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
      c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
      d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
      e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
      f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
      g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
      h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
      i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
    """)


def test_a_billion_laughs_is_refused_after_a_few_thousand_nodes():
    # go-yaml's ratio: past 100 aliased and 1,000 decoded nodes, more than 99% of them from aliases.
    # The counts in the message are how far it got: the 9**9 strings are never built.
    assert len(BILLION_LAUGHS) < 600
    error, after = manifests.parse(BILLION_LAUGHS + "---\nkind: Pod\n", "lol.yaml")
    match = re.fullmatch(r"invalid YAML: document contains excessive aliasing \(([\d,]+) of ([\d,]+) nodes from "
                         r"aliases: kubectl's YAML refuses it, README, Limits\)", error.message)
    aliased, decoded = (int(group.replace(",", "")) for group in match.groups())
    assert aliased / decoded > 0.99 and decoded < 10_000
    assert after.obj == {"kind": "Pod"}


def test_aliases_under_the_ratio_are_expanded():
    text = "kind: ConfigMap\na: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(f"b{i}: *a\n" for i in range(50))
    (doc,) = manifests.parse(text, "a.yaml")
    assert doc.obj["b49"] == ["x"] * 10


def nested(levels: int, syntax: str) -> str:
    """A Pod ``levels`` containers deep: itself, sequences, and a mapping innermost."""
    inner = "[" * (levels - 2) + '{"a": 1}' + "]" * (levels - 2)
    return ('{"kind": "Pod", "x": ' + inner + "}\n") if syntax == "JSON" else f"kind: Pod\nx: {inner}\n"


@pytest.mark.parametrize("depth, syntax", [(990, "JSON"), (990, "YAML"), (201, "JSON"), (201, "YAML")])
def test_nesting_past_the_limit_is_refused_not_a_recursion_error(depth, syntax):
    error, after = manifests.parse(nested(depth, syntax) + "---\nkind: Job\n", "deep")
    assert error.message == f"invalid {syntax}: nested deeper than 200 levels, the limit (README, Limits)"
    assert after.obj == {"kind": "Job"}


@pytest.mark.parametrize("syntax", ["JSON", "YAML"])
def test_nesting_at_the_limit_is_read(syntax):
    (doc,) = manifests.parse(nested(200, syntax), "deep")
    depth, value = 1, doc.obj["x"]
    while isinstance(value, list):
        value, depth = value[0], depth + 1
    assert (depth, value) == (199, {"a": 1})


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_a_document_larger_than_the_limit_is_refused_a_larger_list_is_read(suffix):
    data = {f"k{i}": "v" * 1000 for i in range(3200)}
    big = {"apiVersion": "v1", "kind": "ConfigMap", "data": data}
    export = {"apiVersion": "v1", "kind": "List", "items": [{"kind": "ConfigMap", "data": {"k": "v" * 1000}}] * 4000}
    dump = json.dumps if suffix == "json" else (lambda obj: json.dumps(obj, indent=1).replace('"', ""))
    text = dump(big) + "\n---\n" + dump(export) + "\n"
    error, *items = manifests.parse(text, f"big.{suffix}")
    assert error.message == f"invalid {suffix.upper()}: larger than 3 MiB, the limit (README, Limits)"
    assert len(items) == 4000 and items[-1].obj["data"]["k"] == "v" * 1000


def test_a_json_list_gives_its_items_as_it_reads_them():
    # The tail of the text is not even JSON: the items before it were given before it was reached.
    text = '{"apiVersion": "v1", "items": [{"kind": "Pod", "metadata": {"name": "a"}}, {"kind": "Pod"}, ?'
    found = manifests.parse(text, "export.json")
    assert next(found).obj == {"kind": "Pod", "metadata": {"name": "a"}}
    assert next(found).obj == {"kind": "Pod"}
    error = next(found)
    assert error.message.startswith("invalid JSON: Expecting value") and error.message.endswith("(after 2 items)")


# --- Lists, as k8s.io/apimachinery decodes them -----------------------------------


def test_a_list_inside_a_list_is_refused_and_its_neighbours_read():
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod"}]},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}},
    ]}, indent=2)
    error, pod = manifests.parse(text, "nested.json")
    assert (error.number, error.line) == (1, 5)
    assert error.message.startswith("item 0: a List inside a List, which kubectl refuses")
    assert pod.obj["metadata"] == {"name": "b"}


@pytest.mark.parametrize("layout", [lambda o: json.dumps(o, indent=2), lambda o: json.dumps(o).replace('"', "")],
                         ids=["json", "yaml"])
def test_items_without_kind_take_the_lists_and_any_object_with_items_is_a_list(layout):
    text = layout({"apiVersion": "v1", "items": [{"metadata": {"name": "a"}}, {"kind": "Job", "x": 1}],
                   "kind": "PodList"})
    job, pod = manifests.parse(text, "pods")
    assert pod.obj == {"metadata": {"name": "a"}, "kind": "Pod", "apiVersion": "v1"}
    assert job.obj == {"kind": "Job", "x": 1}
    (item,) = manifests.parse(layout({"kind": "Pod", "items": [{"kind": "Job"}]}), "odd")
    assert item.obj == {"kind": "Job"}
    assert list(manifests.parse(layout({"kind": "Pod", "items": None}), "empty")) == []


@pytest.mark.parametrize("items, problem", [
    ("[1]", "item 0: expected an object, got a int"), ('"x"', "items: expected an array of objects, got a string"),
])
def test_items_that_are_no_objects_are_refused(items, problem):
    (error,) = manifests.parse(f'{{"kind": "List", "items": {items}}}', "bad.json")
    assert error.message.startswith(problem)


def test_empty_and_null_documents_are_skipped_as_kubectl_skips_them():
    assert [d.obj for d in manifests.parse("---\n~\n---\nnull\n---\nkind: Pod\n", "n.yaml")] == [{"kind": "Pod"}]


# --- files ---------------------------------------------------------------------------


POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: u\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_utf16_and_utf8_with_a_byte_order_mark_are_read(tmp_path, encoding):
    # What Windows PowerShell 5.1's > writes (UTF-16 LE with a mark), read as kubectl's
    # unicode.BOMOverride reads it.
    data = POD.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    (tmp_path / "pod.yaml").write_bytes(data)
    (doc,), errors = manifests.read([str(tmp_path / "pod.yaml")])
    assert (doc.obj["metadata"], doc.line_of("metadata.name"), errors) == ({"name": "u"}, 4, [])


@pytest.mark.parametrize("data, problem", [
    (b"\xff\xfe\x00\x00" + POD.encode("utf-32-le"), "UTF-32 (a UTF-32 byte order mark)"),
    (POD.encode() + b"  image: caf\xe9\n", "not valid UTF-8: line 5, byte"),
], ids=["utf-32", "latin-1"])
def test_a_file_kubectl_cannot_read_is_an_error_and_the_others_are_read(tmp_path, data, problem):
    (tmp_path / "a.yaml").write_bytes(data)
    (tmp_path / "b.yaml").write_text(POD)
    found, errors = manifests.read([str(tmp_path)])
    assert [d.source for d in found] == [str(tmp_path / "b.yaml")]
    assert [(e.source, e.number) for e in errors] == [(str(tmp_path / "a.yaml"), 0)]
    assert str(errors[0]).startswith(f"{tmp_path / 'a.yaml'}: {problem}")


def test_symlinked_directories_are_followed_and_a_loop_or_a_dangling_link_is_an_error(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "pod.yaml").write_text(POD)
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "linked").symlink_to(tmp_path / "real")
    (tmp_path / "tree" / "loop").symlink_to(tmp_path / "tree")
    (tmp_path / "tree" / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    found, errors = manifests.read([str(tmp_path / "tree")])
    assert [d.source for d in found] == [str(tmp_path / "tree" / "linked" / "pod.yaml")]
    assert [str(e) for e in errors] == [
        f"{tmp_path / 'tree' / 'gone.yaml'}: a dangling symlink (to {tmp_path / 'nowhere.yaml'})",
        f"{tmp_path / 'tree' / 'loop'}: a symlink loop: it leads back to {tmp_path / 'tree'}, a directory it is in",
    ]


def test_a_dangling_link_named_on_the_command_line_is_an_input_error(tmp_path, capsys):
    (tmp_path / "pod.yaml").symlink_to(tmp_path / "nowhere.yaml")
    assert main(["check", str(tmp_path / "pod.yaml")]) == 2
    assert capsys.readouterr().err == f"winpod: {tmp_path / 'pod.yaml'}: a dangling symlink (to {tmp_path / 'nowhere.yaml'})\n"


# --- configs and fixtures -------------------------------------------------------------


def test_configs_nested_too_deep_are_a_config_error(tmp_path):
    for name, text in (("deep.yaml", "constraints: " + "[" * 300 + "]" * 300 + "\n"),
                       ("deep.json", '{"constraints": ' + "[" * 300 + "]" * 300 + "}")):
        (tmp_path / name).write_text(text)
        with pytest.raises(ConfigError) as caught:
            load_config(tmp_path / name)
        assert "nested deeper than 200 levels, the limit (README, Limits)" in str(caught.value)


def test_a_config_with_a_5000_digit_number_is_a_config_error(tmp_path):
    (tmp_path / "c.json").write_text('{"constraints": [], "x": ' + "9" * 5000 + "}")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "c.json")
    assert "(5000 digits) is out of float64's range: kubectl refuses it" in str(caught.value)


FIXTURE = "apiVersion: winpod-guard/v1alpha1\nkind: Fixture\nconfig: builtin\nbase: {apiVersion: v1, kind: Pod}\n"


def test_fixtures_nested_too_deep_or_bombs_are_fixture_errors(tmp_path):
    deep = FIXTURE + "cases:\n- name: a\n  patch: [{op: add, path: /x, value: " + "[" * 300 + "]" * 300 + "}]\n" \
        "  expect: {allowed: true}\n"
    for name, text in (("deep.yaml", deep), ("bomb.yaml", FIXTURE + "x:\n" + textwrap.indent(BILLION_LAUGHS, "  "))):
        (tmp_path / name).write_text(text)
        with pytest.raises(FixtureError) as caught:
            load_fixtures([tmp_path / name], root=tmp_path)
        assert ("nested deeper than 200" in str(caught.value)) or ("excessive aliasing" in str(caught.value))


def test_a_5000_digit_number_in_a_fixture_patch_is_the_string_kubectl_reads(tmp_path):
    # go-yaml: past int64, uint64 and float64 a plain number stays its text; Python's int-from-string
    # limit (4,300 digits) is never reached.
    (tmp_path / "f.yaml").write_text(FIXTURE + "cases:\n- name: a\n  patch: [{op: add, path: /x, value: "
                                     + "9" * 5000 + "}]\n  expect: {allowed: true}\n")
    (case,) = load_fixtures([tmp_path / "f.yaml"], root=tmp_path).cases
    assert case.input["x"] == "9" * 5000

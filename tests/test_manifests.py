"""harness.manifests: every input form, with the line of each field and errors that name the document."""

import io
import json
import textwrap

import pytest
import yaml

from harness import manifests
from harness.cli.bench import POD_SPECS, corpus
from harness.errors import ManifestError

MULTI = textwrap.dedent("""\
    # leading comment, not a document
    ---
    apiVersion: v1
    kind: Pod
    metadata:
      name: first
    spec:
      containers:
      - name: app
        image: mcr.microsoft.com/windows/nanoserver:ltsc2022
        securityContext:
          windowsOptions:
            runAsUserName: ContainerAdministrator
    ---
    kind: Pod
    spec: [unclosed
    ---
    apiVersion: v1
    kind: List
    items:
    - apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: second
    - apiVersion: v1
      kind: Service
      metadata:
        name: third
    ...
    """)


def test_multi_document_yaml_keeps_order_lines_and_list_items():
    items = list(manifests.parse(MULTI, "m.yaml"))
    kinds = [(type(i).__name__, i.number) for i in items]
    assert kinds == [("Document", 1), ("DocumentError", 2), ("Document", 3), ("Document", 3)]
    first, error, second, third = items
    assert (first.line, first.obj["metadata"]["name"], first.item) == (3, "first", None)
    assert (second.line, second.obj["metadata"]["name"], second.item) == (21, "second", 0)
    assert (third.line, third.obj["kind"], third.item) == (25, "Service", 1)
    assert error.source == "m.yaml" and error.message.startswith("invalid YAML")
    assert str(error).startswith("m.yaml document 2 (line ")


@pytest.mark.parametrize(
    ("field", "line"),
    [
        pytest.param("spec.containers[0].securityContext.windowsOptions.runAsUserName", 13, id="leaf"),
        pytest.param("spec.containers[0].image", 10, id="image"),
        pytest.param("spec.containers[0]", 9, id="list-item"),
        pytest.param("spec.containers[0].securityContext.windowsOptions.hostProcess", 12, id="missing-leaf"),
        pytest.param("spec.volumes[0].hostPath.path", 7, id="missing-branch"),
        pytest.param("spec.containers[7].image", 8, id="index-out-of-range"),
    ],
)
def test_line_of_a_field_or_its_deepest_existing_part(field, line):
    first = next(manifests.parse(MULTI, "m.yaml"))
    assert first.line_of(field) == line


def test_json_export_with_tabs_is_read_as_json():
    export = '{"apiVersion": "v1", "kind": "List", "items": [\n\t{"kind": "Pod", "metadata": {"name": "a"}}\n]}\n'
    (doc,) = manifests.parse(export, "export.json")
    assert doc.obj == {"kind": "Pod", "metadata": {"name": "a"}}
    assert (doc.item, doc.line, doc.line_of("metadata.name")) == (0, 2, 2)


def test_read_walks_directories_and_stdin(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "pod.yaml").write_text("kind: Pod\nmetadata: {name: p}\n")
    (tmp_path / "b.json").write_text(json.dumps({"kind": "Job", "metadata": {"name": "j"}}))
    (tmp_path / "notes.txt").write_text("kind: Pod\n")
    docs, errors = manifests.read([str(tmp_path), "-"], stdin=io.StringIO("kind: CronJob\n"))
    assert errors == []
    assert [(d.obj["kind"], d.source.split("/")[-1]) for d in docs] == [
        ("Pod", "pod.yaml"), ("Job", "b.json"), ("CronJob", "<stdin>"),
    ]


def test_a_missing_path_is_an_input_error_naming_it(tmp_path):
    with pytest.raises(ManifestError, match=r"nope\.yaml: no such file or directory"):
        manifests.read([str(tmp_path / "nope.yaml")])


def test_a_document_may_start_on_its_marker_line():
    text = "--- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n--- # only a comment\n---\nkind: Job\n...\n"
    docs = list(manifests.parse(text, "m.yaml"))
    assert [(d.number, d.line, d.obj["kind"]) for d in docs] == [(1, 1, "Pod"), (2, 4, "Job")]
    assert docs[0].line_of("metadata.name") == 1


def _deployment(i: int) -> dict:
    """A workload whose deep fields hold values found nowhere else, so a test can find their lines by searching."""
    container = {"name": f"c-{i}", "image": "contoso.io/app:1",
                 "securityContext": {"windowsOptions": {"runAsUserName": f"user-{i}"}}}
    spec = {"os": {"name": "windows"}, "containers": [{"name": "first", "image": "x"}, container],
            "volumes": [{"name": "v", "hostPath": {"path": f"C:\\data\\{i}"}}]}
    return {"metadata": {"name": f"app-{i}", "namespace": "apps"}, "apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"replicas": 1, "template": {"metadata": {"labels": {"i": str(i)}}, "spec": spec}}}


def _line_with(text: str, needle: str) -> int:
    (line,) = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return line


USER = "spec.template.spec.containers[1].securityContext.windowsOptions.runAsUserName"
PATH = "spec.template.spec.volumes[0].hostPath.path"


@pytest.mark.parametrize(
    ("indent", "newline"),
    [pytest.param(2, "\n", id="indent-2"), pytest.param(4, "\r\n", id="indent-4-crlf"),
     pytest.param("\t", "\n", id="tabs"), pytest.param(1, "\r", id="cr")],
)
def test_lines_deep_in_a_json_list_export_are_the_true_lines(indent, newline):
    export = {"apiVersion": "v1", "kind": "List", "items": [_deployment(i) for i in range(3000)]}
    text = json.dumps(export, indent=indent).replace("\n", newline)
    docs = list(manifests.parse(text, "export.json"))
    assert [d.item for d in docs] == list(range(3000))
    for i in (0, 1, 1234, 2999):
        doc = docs[i]
        assert doc.obj == _deployment(i)
        name = _line_with(text, f'"name": "app-{i}"')
        assert doc.line == name - 2  # the item's "{", then "metadata": {
        assert doc.line_of("metadata.name") == name
        assert doc.line_of(USER) == _line_with(text, f'"runAsUserName": "user-{i}"')
        assert doc.line_of("spec.template.spec.containers[1]") == _line_with(text, f'"name": "c-{i}"') - 1
        path = _line_with(text, json.dumps(f"C:\\data\\{i}"))
        assert doc.line_of(PATH) == path
        assert doc.line_of(PATH + ".deeper[3]") == path
        assert doc.line_of("spec.template.spec.volumes[5].hostPath") == path - 4  # "volumes": [


def test_lines_in_multi_document_yaml_are_the_true_lines():
    parts = [yaml.safe_dump(_deployment(i)) for i in range(200)]
    # The same objects as JSON on their --- lines, and an end marker between two documents.
    parts[50] = json.dumps(_deployment(50), indent=2) + "\n"
    parts[51] = json.dumps(_deployment(51)) + "\n...\n# between documents\n"
    text = "# an export\n---\n" + "".join(f"{part}\n---\n" if i % 2 else f"{part}---\n" for i, part in enumerate(parts))
    text = text.replace("---\n{", "--- {")
    docs = list(manifests.parse(text, "m.yaml"))
    assert [d.number for d in docs] == list(range(1, 201))
    for i in (0, 49, 50, 51, 52, 199):
        doc = docs[i]
        assert doc.obj == _deployment(i)
        quote = '"' if i in (50, 51) else ""
        user = _line_with(text, f"{quote}runAsUserName{quote}: {quote}user-{i}")
        assert doc.line_of(USER) == user
        windows_options = user if i == 51 else user - 1  # 51 is JSON on one line
        assert doc.line_of(USER.replace("runAsUserName", "hostProcess")) == windows_options
        assert doc.line_of(PATH) == _line_with(text, f"{quote}path{quote}: " + (json.dumps(f"C:\\data\\{i}") if quote else f"C:\\data\\{i}"))


def _paths(value, prefix=""):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, f"{prefix}.{key}" if prefix else key)
            yield f"{prefix}.{key}.absent" if prefix else f"{key}.absent"
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, f"{prefix}[{index}]")
        yield f"{prefix}[{len(value)}]"


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(lambda export: json.dumps(export, indent=2), id="indent-2"),
        pytest.param(lambda export: json.dumps(export), id="one-line"),
        pytest.param(lambda export: json.dumps(export, indent=3).replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda export: "\n \n" + json.dumps(export, indent=1, separators=(",", " :  ")) + "\n\n", id="spaced"),
        pytest.param(lambda export: "\n---\n".join(json.dumps(item, indent=2) for item in export["items"]), id="documents"),
    ],
)
def test_json_read_as_json_is_json_read_as_yaml(layout):
    # A leading comment is not JSON: the same text then goes through libyaml, as all JSON once did.
    text = layout({"apiVersion": "v1", "kind": "List", "items": corpus(2 * len(POD_SPECS))})
    as_json = list(manifests.parse(text, "f"))
    as_yaml = list(manifests.parse("# comment\n" + text, "f"))
    assert len(as_json) == len(as_yaml) == 2 * len(POD_SPECS)
    for doc, reference in zip(as_json, as_yaml, strict=True):
        assert (doc.number, doc.item, doc.obj, doc.line) == (reference.number, reference.item, reference.obj, reference.line - 1)
        for path in _paths(doc.obj):
            assert doc.line_of(path) == reference.line_of(path) - 1, path


def test_json_numbers_read_as_kubectl_reads_them():
    # k8s.io/apimachinery's JSON: an integer in int64 is one, any other number a float64, which goes
    # back to JSON without a fraction when it has none; NaN is no JSON, and a number past float64's
    # range is refused: the document is, and the next one is read.
    text = ('{"kind": "Pod", "a": 1e3, "b": 1.5e3, "c": 1.5E+3, "d": -0.5, "e": 10, "f": 99999999999999999999}\n'
            '---\n{"kind": "Pod", "g": NaN}\n---\n{"kind": "Pod", "h": 1.0e+400}\n'
            f'---\n{{"kind": "Pod", "i": {"9" * 5000}}}\n---\n{{"kind": "Job"}}\n')
    first, nan, large, digits, last = manifests.parse(text, "pods.json")
    assert first.obj == {"kind": "Pod", "a": 1000, "b": 1500, "c": 1500, "d": -0.5, "e": 10, "f": 1e20}
    assert (nan.number, nan.line, nan.message) == (2, 3, "invalid JSON: NaN is not JSON: kubectl refuses it")
    assert (large.number, large.line) == (3, 5)
    assert large.message.startswith("invalid JSON: the number 1.0e+400 is out of float64's range")
    assert (digits.number, digits.line) == (4, 7)
    assert "(5000 digits) is out of float64's range" in digits.message
    assert last.obj == {"kind": "Job"}


def test_a_malformed_json_document_is_reported_and_the_others_are_read():
    text = '{"kind": "Pod", "metadata": {"name": "a"}}\n---\n{"kind": "Pod",\n  "spec": [}\n---\n{"kind": "Job"}\n'
    items = list(manifests.parse(text, "m.json"))
    assert [(type(i).__name__, i.number, i.line) for i in items] == [
        ("Document", 1, 1), ("DocumentError", 2, 4), ("Document", 3, 6),
    ]
    assert items[1].message.startswith("invalid JSON")
    assert items[2].line_of("kind") == 6


def test_a_json_export_with_a_byte_order_mark_reads_like_one_without():
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": [_deployment(i) for i in range(20)]}, indent=2)
    with_mark = list(manifests.parse("\ufeff" + text, "export.json"))
    assert [(d.obj, d.line, d.line_of(USER)) for d in with_mark] == [
        (d.obj, d.line, d.line_of(USER)) for d in manifests.parse(text, "export.json")
    ]
    assert with_mark[7].line_of(USER) == _line_with(text, '"runAsUserName": "user-7"')


# A key given twice: YAML and json keep the last value, the API server's strict
# validation refuses the object. The reader refuses the document, at the line
# of the second key, and reads the others.
DUPLICATE_YAML = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata: {name: first}
    spec:
      containers:
      - name: app
        securityContext:
          windowsOptions:
            hostProcess: false
            hostProcess: true
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: second}
    """)
DUPLICATE_JSON = (
    '{"apiVersion": "v1", "kind": "Pod",\n'
    ' "metadata": {"name": "a"},\n'
    ' "spec": {"containers": [{"name": "app",\n'
    '   "securityContext": {"windowsOptions": {"runAsUserName": "ContainerUser",\n'
    '                                          "runAsUserName": "ContainerAdministrator"}}}]}}\n'
    '---\n'
    '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}}\n'
)


@pytest.mark.parametrize("text, source, key", [
    (DUPLICATE_YAML, "pods.yaml", "hostProcess"),
    (DUPLICATE_JSON, "pods.json", "runAsUserName"),
    (DUPLICATE_JSON.replace("  ", "\t"), "tabs.json", "runAsUserName"),
], ids=["yaml", "json", "json-with-tabs"])
def test_a_key_given_twice_refuses_its_document_and_the_others_are_read(text, source, key):
    second = [n for n, line in enumerate(text.splitlines(), start=1) if f"{key}" in line][1]
    items = list(manifests.parse(text, source))
    assert [type(i).__name__ for i in items] == ["DocumentError", "Document"]
    assert (items[0].number, items[0].line) == (1, second)
    assert items[0].message == f"invalid YAML: duplicate key {key!r}"
    assert items[1].obj["metadata"]["name"] in ("second", "b")


@pytest.mark.parametrize("text, duplicate", [
    ('kind: Pod\n"kind": Pod\n', "kind"),
    ("kind: Pod\n'kind': Job\n", "kind"),
    ("kind: Pod\n1: a\n0x1: b\n", "1"),
    ("kind: Pod\n1: a\n'1': b\n", "1"),
    ("kind: Pod\ntrue: a\n'true': b\n", "true"),
    ("kind: Pod\non: a\n'true': b\n", "true"),
    ("kind: Pod\n1.5: a\n'1.5': b\n", "1.5"),
    ("kind: Pod\n1: a\n'01': b\n", None),
], ids=["plain-and-double-quoted", "plain-and-single-quoted", "one-int-two-spellings", "int-and-string",
        "bool-and-string", "on-is-true", "float-and-string", "different-strings"])
def test_keys_are_compared_as_kubectl_writes_them(text, duplicate):
    # sigs.k8s.io/yaml writes every key as a JSON string (1 and "1" are one key, and which value
    # survives depends on Go's map order): two keys that become one string refuse the document.
    (item,) = manifests.parse(text, "k.yaml")
    if duplicate is None:
        assert type(item).__name__ == "Document"
    else:
        assert item.message == f"invalid YAML: duplicate key {duplicate!r}"

"""harness.manifests: every input form, with the line of each field and errors that name the document."""

import io
import json
import textwrap

import pytest

from harness import manifests
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
    assert doc.item == 0


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

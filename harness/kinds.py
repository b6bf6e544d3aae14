"""The kinds winpod-guard governs (SPEC 1 "Objects"), in one place.

The Rego has its own copy in ``lib.winpod.pods``; tests compare the two.
"""

# kind -> (apiVersion, path of its pod template within the object; () is the pod itself)
WORKLOADS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Pod": ("v1", ()),
    "PodTemplate": ("v1", ("template",)),
    "Deployment": ("apps/v1", ("spec", "template")),
    "ReplicaSet": ("apps/v1", ("spec", "template")),
    "StatefulSet": ("apps/v1", ("spec", "template")),
    "DaemonSet": ("apps/v1", ("spec", "template")),
    "Job": ("batch/v1", ("spec", "template")),
    "ReplicationController": ("v1", ("spec", "template")),
    "CronJob": ("batch/v1", ("spec", "jobTemplate", "spec", "template")),
}


def api_group(api_version: str) -> str:
    """``apps/v1`` -> ``apps``; the core group (``v1``) is ``""``."""
    return api_version.split("/")[0] if "/" in api_version else ""


# Governance is by kind name whatever the apiVersion (SPEC 1): an
# extensions/v1beta1 DaemonSet is a DaemonSet, so no API group is named.
ANY_API_GROUP = ["*"]


def match_kinds() -> list[dict]:
    """Gatekeeper ``match.kinds`` for every governed kind, in any API group, sorted."""
    return [{"apiGroups": list(ANY_API_GROUP), "kinds": sorted(WORKLOADS)}]


def is_governed(obj: object) -> bool:
    return isinstance(obj, dict) and obj.get("kind") in WORKLOADS


def metadata(obj: dict) -> dict:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def namespace(obj: dict) -> str:
    """SPEC 3: the object's own namespace, else ``default`` (files carry no request namespace)."""
    value = metadata(obj).get("namespace")
    return value if isinstance(value, str) and value else "default"


def name(obj: dict) -> str:
    meta = metadata(obj)
    value = meta.get("name") or meta.get("generateName")
    return value if isinstance(value, str) and value else "<unnamed>"


def identity(obj: dict) -> str:
    """``Kind/namespace/name``, as the policies' messages name objects."""
    return f"{obj.get('kind')}/{namespace(obj)}/{name(obj)}"

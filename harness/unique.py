"""YAML and JSON that refuse a key given twice.

YAML loaders and Python's ``json`` keep the last of two equal keys without a
word. The API server's strict field validation refuses such an object, and a
reader that kept the other value would judge a different object than the one
that runs. Configs, fixtures and manifests therefore all refuse them, at the
line of the second key where the parser knows it.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A YAML mapping names a key twice; the mark is the second one's."""


class DuplicateJsonKey(ValueError):
    """A JSON object names a key twice (``json`` gives no position)."""


def unique_pairs(pairs: list[tuple[str, Any]]) -> dict:
    """``object_pairs_hook`` for ``json``: the object, or DuplicateJsonKey."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateJsonKey(f"duplicate key {key!r}")
            seen.add(key)
    return result


def refuse_duplicate_keys(loader: yaml.constructor.BaseConstructor, node: yaml.MappingNode) -> None:
    """Raise DuplicateKeyError at the second of two equal keys of ``node``.

    Keys YAML cannot hash (a list as a key) are left to the loader's own error.
    """
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        if key_node.tag == _STR and isinstance(key_node, yaml.ScalarNode):
            key: Any = key_node.value  # what constructing it gives, without the cost: nearly every key
        else:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue
        if key in seen:
            raise DuplicateKeyError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)


_STR = "tag:yaml.org,2002:str"


def strict_loader(base: type) -> type:
    """A subclass of the YAML loader ``base`` whose mappings refuse duplicate keys."""

    class Strict(base):
        pass

    def construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict:
        refuse_duplicate_keys(loader, node)
        return loader.construct_mapping(node, deep=deep)

    Strict.__name__ = Strict.__qualname__ = f"Strict{base.__name__}"
    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return Strict

"""The harness's exceptions: one root, a few kinds. Only ``cli.main`` catches them."""

import yaml


class HarnessError(Exception):
    """A failure the user can act on; the CLI prints it as one line."""

    exit_code = 2


class ConfigError(HarnessError):
    """A configuration file that cannot be used."""


class FixtureError(HarnessError):
    """A fixture file that cannot be used."""


class OpaError(HarnessError):
    """The OPA server could not be started, or answered badly."""


class DockerUnavailable(OpaError):
    """No Docker engine answers."""


class ManifestError(HarnessError):
    """Manifests to check or audit that cannot be read."""


def yaml_problem(exc: yaml.YAMLError) -> tuple[yaml.Mark | None, str]:
    """Where a YAML error is (a 0-based mark, if PyYAML knows) and what it says, for one-line messages."""
    if isinstance(exc, yaml.MarkedYAMLError):
        return exc.problem_mark or exc.context_mark, str(exc.problem or exc.context)
    return None, str(exc)


class ClusterError(HarnessError):
    """The local cluster (etcd, kube-apiserver, Gatekeeper) could not be started, or a cluster answered badly."""

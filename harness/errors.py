"""The harness's exceptions: one root, a few kinds. Only ``cli.main`` catches them."""


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

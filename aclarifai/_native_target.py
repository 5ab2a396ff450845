"""Where a native call goes: the model's IDs, the deployment or nodepool, and the URL paths.

Pure: no I/O. ``Target`` is what ``deployment=`` / ``deployment_owner=`` / ``nodepool=`` say;
``runner_selector()`` is the JSON Clarifai's SDK sends for them (``RunnerSelector``:
``{"deployment": {"id", "user_id"}}`` or ``{"nodepool": {"id", "compute_cluster": {"id",
"user_id"}}}``). The owner defaults to the **model's** user (as Clarifai's Node SDK does);
Clarifai's Python SDK uses the PAT owner instead, so pass ``deployment_owner=`` when the
deployment belongs to you (or your organisation) and the model to someone else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ._config import OPENAI_PATH
from ._native_retry import NativeRetry
from .errors import ConfigurationError
from .models import resolve_model

__all__ = ["ModelRef", "Target", "api_root", "target_of"]

_CANONICAL = re.compile(
    r"^https?://[^/]+/(?P<user>[^/]+)/(?P<app>[^/]+)/models/(?P<model>[^/]+)"
    r"(?:/versions/(?P<version>[^/]+))?$"
)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class ModelRef:
    """A model's IDs, from any model reference ``resolve_model`` accepts."""

    user: str
    app: str
    model: str
    version: str | None = None

    @classmethod
    def parse(cls, ref: str) -> ModelRef:
        match = _CANONICAL.match(resolve_model(ref))
        assert match is not None  # resolve_model only returns canonical URLs
        return cls(match["user"], match["app"], match["model"], match["version"])

    @property
    def path(self) -> str:
        """``/v2/users/{u}/apps/{a}/models/{m}[/versions/{v}]``."""
        path = f"/v2/users/{self.user}/apps/{self.app}/models/{self.model}"
        return path + (f"/versions/{self.version}" if self.version else "")

    @property
    def url(self) -> str:
        return resolve_model(f"{self.user}/{self.app}/models/{self.model}" + (
            f"/versions/{self.version}" if self.version else ""))


@dataclass(frozen=True)
class Target:
    """A dedicated deployment (``deployment``, ``owner``) or a nodepool (``cluster``, ``nodepool``)."""

    deployment: str | None = None
    owner: str | None = None
    """The deployment's or the compute cluster's owner; None: the model's user."""
    cluster: str | None = None
    nodepool: str | None = None
    retry: NativeRetry | None = None
    """How long to wait for a deployment that is not ready (None: the client's)."""

    def runner_selector(self, model: ModelRef) -> dict[str, Any]:
        owner = self.owner or model.user
        if self.deployment is not None:
            return {"deployment": {"id": self.deployment, "user_id": owner}}
        return {"nodepool": {"id": self.nodepool,
                             "compute_cluster": {"id": self.cluster, "user_id": owner}}}

    def describe(self) -> str:
        if self.deployment is not None:
            return f"deployment {self.deployment!r}"
        return f"nodepool {self.nodepool!r} of compute cluster {self.cluster!r}"


def _check_id(name: str, value: object) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise ConfigurationError(f"{name} must be a Clarifai ID (letters, digits, _ . -), not {value!r}")
    return value


def target_of(
    deployment: str | None, deployment_owner: str | None, nodepool: Any,
    native_retry: Any = None,
) -> Target | None:
    """The target the keywords name, or None for the OpenAI-compatible lane; checks them."""
    if native_retry is not None and not isinstance(native_retry, NativeRetry):
        raise ConfigurationError(f"native_retry must be a NativeRetry, not {native_retry!r}")
    if deployment is None and nodepool is None:
        if deployment_owner is not None:
            raise ConfigurationError("deployment_owner= needs deployment= or nodepool=")
        return None
    if deployment is not None and nodepool is not None:
        raise ConfigurationError(
            "pass deployment= or nodepool=(cluster_id, nodepool_id), not both (Clarifai's SDK "
            "refuses the pair too)"
        )
    owner = None if deployment_owner is None else _check_id("deployment_owner", deployment_owner)
    if deployment is not None:
        return Target(deployment=_check_id("deployment", deployment), owner=owner,
                      retry=native_retry)
    if isinstance(nodepool, (str, bytes)) or not isinstance(nodepool, (tuple, list)) or len(
        nodepool
    ) != 2:
        raise ConfigurationError(
            f"nodepool must be a (compute_cluster_id, nodepool_id) pair, not {nodepool!r}"
        )
    cluster, pool = nodepool
    return Target(
        owner=owner, cluster=_check_id("compute cluster id", cluster),
        nodepool=_check_id("nodepool id", pool), retry=native_retry,
    )


def api_root(base_url: str) -> str:
    """The API root (``https://api.clarifai.com``) of a client's OpenAI-compatible base URL."""
    return base_url.removesuffix(OPENAI_PATH)

"""Artifacts of a version: loading and verifying files against their recorded sha256."""

from __future__ import annotations

import hashlib
from pathlib import Path

from mlopskit.registry.records import (
    Artifact,
    ArtifactError,
    ModelVersion,
)
from mlopskit.registry.versions import Versions


class Artifacts(Versions):
    """Verified artifact access (a :class:`Registry` mixin)."""

    def _artifact(self, model: str, kind: str) -> tuple[ModelVersion, Artifact]:
        mv = self.resolve(model)
        art = mv.run.artifacts.get(kind)
        if art is None:
            raise ArtifactError(
                f"{mv.display} (run {mv.run.run_id}) has no {kind!r} artifact; recorded "
                f"artifacts: {sorted(mv.run.artifacts)}."
            )
        return mv, art

    def load_artifact(self, model: str, kind: str = "model") -> bytes:
        """The artifact's bytes, after checking they match the sha256 recorded for the run.

        ``model`` is ``"fraud_v2.3"`` or a bare name (``"fraud"``: the Production version,
        what serving loads). Raises :class:`ArtifactError` (a ``ValueError``) when the file is missing or its
        content changed since the run was recorded.
        """
        mv, art = self._artifact(model, kind)
        path = Path(art.path)
        if not path.is_file():
            raise ArtifactError(
                f"artifact {kind!r} of {mv.display} is missing: {path} does not exist "
                f"(run {mv.run.run_id} recorded sha256 {art.sha256}). Restore the file; the "
                f"registry will not load an unverifiable artifact."
            )
        data = path.read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != art.sha256:
            raise ArtifactError(
                f"artifact {kind!r} of {mv.display} at {path} is corrupted or was replaced: "
                f"its sha256 is {actual}, run {mv.run.run_id} recorded {art.sha256}."
            )
        return data

    def verify_artifacts(self, model: str) -> dict[str, str]:
        """Verify every artifact of a version (sha256); returns kind → sha256.

        Raises :class:`ArtifactError` on the first missing or changed file.
        """
        mv = self.resolve(model)
        for kind in sorted(mv.run.artifacts):
            self.load_artifact(mv.display, kind)
        return {k: a.sha256 for k, a in sorted(mv.run.artifacts.items())}

    def artifact_path(self, model: str, kind: str = "model") -> Path:
        """Path of an artifact after verifying its sha256 (for readers that need a path)."""
        self.load_artifact(model, kind)
        return Path(self._artifact(model, kind)[1].path)

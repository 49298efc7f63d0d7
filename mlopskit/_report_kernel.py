"""The report's private kernel process: its kernelspec, and starting it before the CLI has
imported anything heavy (standard library only, so importing this costs nothing).

``mlopskit report`` spends its first second importing the report machinery (papermill,
nbformat, nbconvert, pandas) and resolving the model; the kernel then spends its first
seconds starting ipykernel and importing matplotlib, polars, pandas and scipy. The two are
independent, and the machine has a second core: :class:`EarlyKernel` launches the kernel
process at once, with the very command, environment and working directory that
jupyter_client would use a second later, and the report's kernel manager adopts that
process instead of launching a second one (:func:`mlopskit.report.notebook.kernel_manager_class`).
If anything differs at adoption time (the environment changed, another working directory
or kernelspec), the early process is stopped and the kernel is launched the ordinary way:
the kernel a report runs on is the same either way.

The kernel imports :data:`KERNEL_PRELOAD` while it starts (ipykernel's ``exec_lines``),
before it answers its first request: the modules every report template imports anyway.
Nothing in the user namespace changes (``importlib.import_module``, no name bound), and a
failing import is only logged (the template's own import then fails the report as before).
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from string import Template
from typing import IO, Any

#: name of the private kernelspec (never looked up outside render's private directory).
KERNEL_NAME = "mlopskit-report"

#: imported by the kernel while it starts (see the module docstring).
KERNEL_PRELOAD = (
    "mlopskit.plots",
    "mlopskit.report",
    "mlopskit.report.decision",
    "mlopskit.report.evidence",
    "mlopskit.report.overview",
    "mlopskit.report.sections",
    "mlopskit.policy",
    "mlopskit.shadow",
    "mlopskit.canary",
    "mlopskit.drift",
    "scipy.stats",
)
#: the kernel's ``exec_lines``: calls :func:`preload` without binding a name.
PRELOAD_LINE = "__import__('mlopskit._report_kernel', fromlist=['preload']).preload()"

#: ports of the ipc sockets (ipc "ports" only number the socket files).
PORTS = {"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}


def preload() -> None:
    """Import :data:`KERNEL_PRELOAD` (run in the kernel by its ``exec_lines``).

    The cyclic garbage collector is paused during the imports (they allocate hundreds of
    thousands of objects and free almost none: its passes find nothing) and the imported
    objects are then frozen (``gc.freeze``: later collections, during the analysis and
    the figures, no longer traverse the modules). Only the timing of collections changes,
    never what is computed.
    """
    import gc
    import importlib

    gc.disable()
    try:
        for name in KERNEL_PRELOAD:
            importlib.import_module(name)
    finally:
        gc.enable()
        gc.freeze()


def kernel_argv() -> list[str]:
    return [
        sys.executable,
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
        f"--IPKernelApp.exec_lines={PRELOAD_LINE}",
    ]


def write_kernelspec(kernel_root: Path) -> dict[str, Any]:
    """Write the private kernelspec under ``kernel_root``; return it."""
    package_root = str(Path(__file__).resolve().parents[1])  # <repo>/mlopskit/_report_kernel.py
    pythonpath = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    spec = {
        "argv": kernel_argv(),
        "display_name": f"mlopskit report (Python {platform.python_version()})",
        "language": "python",
        "env": {
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "PYTHONHASHSEED": "0",
            "PYTHONPATH": pythonpath,
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            # no progress output in executed notebooks (renders stay byte-identical)
            "MLOPSKIT_PROGRESS": "0",
        },
        "metadata": {"debugger": False},
    }
    d = kernel_root / KERNEL_NAME
    d.mkdir(parents=True, exist_ok=True)
    (d / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec


def kernel_env(spec: dict[str, Any]) -> dict[str, str]:
    """The environment jupyter_client's local provisioner gives the kernel of ``spec``
    (``KernelProvisionerBase.pre_launch``: the current environment, the spec's ``env``
    with ``$NAME`` substituted from it, without ``PYTHONEXECUTABLE``)."""
    env = os.environ.copy()
    env.update({k: Template(v).safe_substitute(env) for k, v in spec["env"].items()})
    env.pop("PYTHONEXECUTABLE", None)
    return env


class EarlyKernel:
    """The private kernel of one render, launched now (see the module docstring).

    Owns the render's private directory (kernelspec, connection file, ipc sockets, kernel
    log). Use as a context manager: on exit, a process that was never adopted is stopped
    and the directory removed.
    """

    def __init__(self, cwd: str | Path) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="mlopskit-report-")
        self.root = Path(self._tmp.name)
        self.kernel_root = self.root / "kernels"
        self.log_path = self.root / "kernel.log"
        self.cwd = str(cwd)
        self.adopted = False
        spec = write_kernelspec(self.kernel_root)
        self.connection_file = str(self.root / "kernel-connection.json")
        info = {
            **PORTS,
            "ip": str(self.root / "kernel-ipc"),
            "key": secrets.token_hex(16),  # jupyter_client uses a uuid4 hex: as strong
            "transport": "ipc",
            "signature_scheme": "hmac-sha256",
            "kernel_name": KERNEL_NAME,
        }
        Path(self.connection_file).write_text(json.dumps(info, indent=1))
        self.cmd = [a.replace("{connection_file}", self.connection_file) for a in spec["argv"]]
        self.env = kernel_env(spec)
        self._log: IO[bytes] | None = self.log_path.open("wb")
        popen_env = {**self.env, "JPY_PARENT_PID": str(os.getpid())}  # as launch_kernel
        self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
            self.cmd,
            stdin=subprocess.PIPE,
            stdout=self._log,
            stderr=self._log,
            cwd=self.cwd,
            env=popen_env,
            start_new_session=True,
        )

    @property
    def log(self) -> IO[bytes] | None:
        return self._log

    def adopt(self, cmd: list[str], kw: dict[str, Any]) -> subprocess.Popen[bytes] | None:
        """The early process when ``cmd``/``kw`` would launch exactly it, else ``None`` (the
        early process is then stopped: the caller launches the kernel itself)."""
        proc, self.process = self.process, None
        if proc is None:
            return None
        env = kw.get("env")
        same = (
            list(cmd) == self.cmd
            # papermill runs the launch inside chdir(cwd): no ``cwd`` reaches Popen
            and os.path.realpath(kw.get("cwd") or os.getcwd()) == os.path.realpath(self.cwd)
            and env is not None
            and {k: v for k, v in env.items() if k != "JPY_PARENT_PID"} == self.env
            and kw.get("stdout") is self._log
            and kw.get("stderr") is self._log
            and proc.poll() is None
        )
        if not same:
            _stop(proc)
            return None
        self.adopted = True
        return proc

    def close(self) -> None:
        proc, self.process = self.process, None
        if proc is not None:
            _stop(proc)
        if self._log is not None:
            self._log.close()
            self._log = None
        self._tmp.cleanup()

    def __enter__(self) -> EarlyKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill a kernel that was never connected to (nothing to flush), and reap it."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
    proc.wait()
    if proc.stdin is not None:
        proc.stdin.close()

"""Private machinery of :func:`mlopskit.report.render`: the private kernelspec, papermill
execution, normalisation of the executed notebook and the offline HTML export.

Kept apart from :mod:`mlopskit.report` (the public API a notebook author uses) because it
answers another question: *how* a notebook becomes a deterministic, self-contained HTML.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlopskit._report_kernel import KERNEL_NAME as KERNEL_NAME
from mlopskit._report_kernel import EarlyKernel
from mlopskit._report_kernel import write_kernelspec as write_kernelspec
from mlopskit.report.exporter import export_html as export_html
from mlopskit.report.exporter import make_exporter as make_exporter

#: mimetype of the machine-readable records a notebook hands to render().
RECORD_MIME = "application/vnd.mlopskit.record+json"

INTERNAL_TAG = "mlopskit-internal"
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
ADDRESS_RE = re.compile(r" at 0x[0-9a-fA-F]+")

PROLOGUE = """\
from mlopskit.plots import use_report_settings as _mk_rc
_mk_rc()
_ip = get_ipython()
if _ip is not None:
    _ip.run_line_magic("config", "InlineBackend.print_figure_kwargs = "
                       "{'bbox_inches': 'tight', 'metadata': {'Software': None}}")
del _mk_rc, _ip
"""

EPILOGUE = """\
import sys as _mk_sys
if "matplotlib.pyplot" in _mk_sys.modules:
    _mk_open = _mk_sys.modules["matplotlib.pyplot"].get_fignums()
    if _mk_open:
        raise RuntimeError(
            f"{len(_mk_open)} matplotlib figure(s) were drawn but never displayed; show "
            "each figure with mlopskit.report.figure(ax, alt=...) so it reaches the report."
        )
"""

REMOTE_RE = re.compile(
    r"""(?:\b(?:src|href|data|poster|action)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|(?:@import\s+["']?(?:url\()?\s*["']?\s*(?:https?:)?//)""",
    re.IGNORECASE,
)


def kernel_manager_class(
    kernel_root: Path,
    log: Any = None,
    finished: Mapping[str, bool] | None = None,
    early: EarlyKernel | None = None,
) -> type:
    """An AsyncKernelManager that only knows the private kernelspec under ``kernel_root``.

    ``log``: an open binary file receiving the kernel process's stdout and stderr (its
    start-up errors and shutdown chatter stay out of the CLI's output; a kernel failure
    quotes its tail). ``finished["all"]`` true when the manager is asked to shut the kernel
    down: every cell ran, the private kernel has nothing left to say and is stopped at once
    (a graceful shutdown request waited ~0.5–1 s for it to exit); otherwise (a failed start
    or cell) the graceful shutdown lets the kernel write its traceback to ``log``.
    ``early``: a kernel process launched before the CLI's imports, adopted instead of
    launching one when the launch would be the same (see :mod:`mlopskit._report_kernel`).
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_client.provisioning import LocalProvisioner
    from traitlets import default

    class PrivateKernelManager(AsyncKernelManager):  # type: ignore[misc]
        @default("transport")
        def _ipc_transport(self) -> str:  # unix sockets: no open TCP port, no plaintext warning
            return "ipc"

        @default("ip")
        def _private_ipc_path(self) -> str:
            # jupyter's ipc default is "kernel-ipc" in the working directory: two renders
            # started at once (parallel tests, two reviewers) picked the same socket files and
            # one client read the other kernel's messages ("Invalid Signature"). A path in the
            # render's private temporary directory cannot collide.
            return str(kernel_root.parent / "kernel-ipc")

        @default("kernel_spec_manager")
        def _private_spec_manager(self) -> KernelSpecManager:
            return KernelSpecManager(kernel_dirs=[str(kernel_root)], ensure_native_kernel=False)

        async def shutdown_kernel(  # type: ignore[override]  # AsyncKernelManager: async
            self, now: bool = False, restart: bool = False
        ) -> None:
            now = now or bool(finished is not None and finished.get("all"))
            await super().shutdown_kernel(now=now, restart=restart)

        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            if early is not None and early.process is not None:
                # the early kernel's connection file: its ipc paths and key
                self.connection_file = early.connection_file
                self.load_connection_file()
                self._connection_file_written = True
            return await super()._async_pre_start_kernel(**kw)

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            if log is not None:
                kw.setdefault("stdout", log)
                kw.setdefault("stderr", log)
            prov = self.provisioner
            local = isinstance(prov, LocalProvisioner)  # the provisioner of this kernelspec
            proc = None if early is None else early.adopt(kernel_cmd, kw if local else {})
            if proc is None or not isinstance(prov, LocalProvisioner):
                await super()._async_launch_kernel(kernel_cmd, **kw)
                return
            # what LocalProvisioner.launch_kernel records of the process it launched
            prov.process = proc
            prov.pid = proc.pid
            prov.pgid = os.getpgid(proc.pid)
            prov.cwd = kw.get("cwd", Path.cwd())
            self._reconcile_connection_info(prov.connection_info)

    return PrivateKernelManager


def internal_cell(source: str, cell_id: str) -> Any:
    import nbformat

    cell = nbformat.v4.new_code_cell(source)
    cell.id = cell_id
    cell.metadata["tags"] = [INTERNAL_TAG]
    return cell


def prepare(template: Path) -> Any:
    import nbformat

    nb = nbformat.read(template, as_version=4)
    if not any("parameters" in c.metadata.get("tags", []) for c in nb.cells):
        raise ValueError(
            f"template `{template}`: no cell is tagged `parameters`; papermill needs one to "
            "inject the report parameters after it."
        )
    for i, cell in enumerate(nb.cells):
        cell.id = f"tpl-{i:03d}"  # maps an executed cell back to the template's cell index
    nb.cells.insert(0, internal_cell(PROLOGUE, "mk-prologue"))
    nb.cells.append(internal_cell(EPILOGUE, "mk-epilogue"))
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "language": "python", "display_name": "mk"}
    return nb


@dataclass
class Failure:
    cell_index: int | None
    """Index of the failing cell in the template (None: kernel start, parameters, checks)."""
    cell: str
    """Human description of where it failed."""
    cell_source: str
    ename: str
    evalue: str
    traceback: str


def failure_from_nb(nb: Any, timeout: float) -> Failure | None:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                evalue = str(out.get("evalue", ""))
                if out.get("ename") == "KeyboardInterrupt":
                    evalue = f"cell interrupted after the per-cell timeout of {timeout:g} s"
                cid = str(cell.get("id", ""))
                index = int(cid[4:]) if cid.startswith("tpl-") else None
                if index is not None:
                    where = f"cell {index} of the template"
                elif cid == "mk-epilogue":
                    where = "the figure check after the last cell"
                elif "injected-parameters" in cell.metadata.get("tags", []):
                    where = "the injected parameters"
                else:
                    where = "an internal cell"
                return Failure(
                    cell_index=index,
                    cell=where,
                    cell_source=str(cell.source),
                    ename=str(out.get("ename", "")),
                    evalue=evalue,
                    traceback=ANSI_RE.sub("", "\n".join(out.get("traceback", []))),
                )
    return None


def extract_records(nb: Any) -> dict[str, Any]:
    """Merge the notebook's RECORD_MIME outputs in order and drop them from the outputs."""
    merged: dict[str, Any] = {}
    for cell in nb.cells:
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if RECORD_MIME in data:
                rec = data[RECORD_MIME]
                merged.update(json.loads(rec) if isinstance(rec, str) else dict(rec))
                data = {k: v for k, v in data.items() if k != RECORD_MIME}
                if not data:
                    continue
                out["data"] = data
            outputs.append(out)
        if cell.cell_type == "code":
            cell.outputs = outputs
    return merged


def html_cell(fragment: str, cell_id: str) -> Any:
    import nbformat

    cell = nbformat.v4.new_code_cell("")
    cell.id = cell_id
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": fragment}, metadata={})
    ]
    return cell


#: written by the decision's next steps where the report's own path goes. The HTML keeps it
#: (two renders of the same inputs into different directories stay byte-identical, and the
#: page never names a path it was not written to); decision.json gets the real path.
REPORT_PATH_TOKEN = "<path of this report>"


def shown_path(path: Path) -> str:
    """``path`` relative to the current directory when below it, else absolute."""
    p = path.resolve()
    try:
        return str(p.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def normalise(nb: Any) -> Any:
    """Drop everything that varies between runs (ids, counts, timings, kernel details) and
    the code cells without output (their code is hidden, they would be blank space)."""
    drop = {INTERNAL_TAG, "papermill-error-cell-tag"}
    nb.cells = [
        c
        for c in nb.cells
        if not drop.intersection(c.metadata.get("tags", []))
        and not (c.cell_type == "code" and not c.outputs)
    ]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:03d}"
        tags = [t for t in cell.metadata.get("tags", []) if t != "injected-parameters"]
        cell.metadata = {"tags": tags} if tags else {}
        if cell.cell_type == "code":
            cell.execution_count = None
            for out in cell.outputs:
                plain = out.get("data", {}).get("text/plain")
                if isinstance(plain, str):  # object reprs carry memory addresses
                    out["data"]["text/plain"] = ADDRESS_RE.sub("", plain)
                if "execution_count" in out:
                    out["execution_count"] = None
                if "metadata" in out:
                    out["metadata"] = {}
    nb.metadata = {"language_info": {"name": "python"}}
    return nb


class Preload:
    """What the CLI needs after the kernel finished, prepared while the kernel runs.

    During execution the CLI process only waits on the kernel's sockets, and the machine
    has a second core: a thread imports the modules :func:`render` uses afterwards and
    builds the HTML exporter, warming it with the conversion of a one-cell notebook (its
    Jinja templates compiled, the stylesheet built). Nothing here depends on the kernel's
    outputs, and the exporter keeps no state between conversions, so the HTML is the same
    as without it (tests/test_report_speed.py); a failure here is ignored (:meth:`exporter`
    returns ``None`` and the export builds its own, raising there if it must).
    """

    def __init__(self, modules: Sequence[str]) -> None:
        self._exporter: Any = None
        self._thread = threading.Thread(
            target=self._work, args=(tuple(modules),), name="mlopskit-report-preload", daemon=True
        )
        self._thread.start()

    def _work(self, modules: tuple[str, ...]) -> None:
        import nbformat

        try:
            for name in modules:
                importlib.import_module(name)
            exporter = make_exporter()
            warm = nbformat.v4.new_notebook(cells=[html_cell("<p>warm-up</p>", "warm-up")])
            warm.cells.insert(0, nbformat.v4.new_markdown_cell("# warm-up", id="warm-up-md"))
            exporter.from_notebook_node(warm, resources={"metadata": {"name": "warm-up"}})
            self._exporter = exporter
        except Exception:  # the export redoes this work and raises there
            self._exporter = None

    def exporter(self) -> Any:
        """The warmed exporter once the thread is done (``None`` if it failed)."""
        self._thread.join()
        return self._exporter


def remote_resources(html_text: str) -> list[str]:
    """Every reference in ``html_text`` that would load something over the network."""
    return [m.group(0) for m in REMOTE_RE.finditer(html_text)]


def execute(
    nb: Any,
    params: Mapping[str, Any],
    *,
    cell_timeout: int,
    start_timeout: int,
    cwd: str,
    say: Callable[[str], None],
    preload: Sequence[str] | None = None,
    early: EarlyKernel | None = None,
) -> tuple[Any, Failure | None, Preload | None]:
    """Run a prepared notebook on the private kernel; return it, the first failure and the
    :class:`Preload` of ``preload`` (modules), started when the first cell starts (the
    kernel is up; starting it earlier slowed the kernel's start-up handshake).

    ``early``: the render's :class:`~mlopskit._report_kernel.EarlyKernel` (its private
    directory is used, and its process adopted when it is the kernel this render would
    launch); ``None``: a private directory is made here and the kernel launched now.
    """
    n_cells = sum(1 for c in nb.cells if c.cell_type == "code") - 1  # + injected - 2 internal
    failure: Failure | None = None
    pre: list[Preload] = []
    log: Any
    with contextlib.ExitStack() as stack:
        if early is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mlopskit-report-")))
            kernel_root = tmp / "kernels"
            write_kernelspec(kernel_root)
            log_path = tmp / "kernel.log"
            log = stack.enter_context(log_path.open("wb"))
        else:
            tmp, kernel_root, log_path, log = (
                early.root,
                early.kernel_root,
                early.log_path,
                early.log,
            )
        out_nb = tmp / "executed.ipynb"
        counter = {"i": 0}

        def on_cell_start(cell: Any, cell_index: int) -> None:
            if preload is not None and not pre:  # the kernel is up: the CLI now only waits
                pre.append(Preload(preload))
            if cell.cell_type == "code" and INTERNAL_TAG not in cell.metadata.get("tags", []):
                counter["i"] += 1
                say(f"executing cell {counter['i']}/{n_cells}")

        say(f"starting kernel ({sys.executable})")
        executed, failure = _run(
            nb,
            params,
            out_nb,
            log,
            kernel_root,
            on_cell_start,
            cell_timeout=cell_timeout,
            start_timeout=start_timeout,
            cwd=cwd,
            early=early,
        )
        log.flush()
        if early is not None and not early.adopted:
            say("the kernel started with the CLI was not the one to run: started another")
        if failure is not None and failure.cell == "the kernel":
            tail = log_path.read_bytes()[-4000:].decode("utf-8", "replace")
            failure.traceback = ANSI_RE.sub("", tail)
        if failure is None:
            failure = failure_from_nb(executed, cell_timeout)  # e.g. SystemExit(1)
    return executed, failure, pre[0] if pre else None


def _run(
    nb: Any,
    params: Mapping[str, Any],
    out_nb: Path,
    log: Any,
    kernel_root: Path,
    on_cell_start: Callable[..., None],
    *,
    cell_timeout: int,
    start_timeout: int,
    cwd: str,
    early: EarlyKernel | None = None,
) -> tuple[Any, Failure | None]:
    """papermill in-process on the private kernel (parameters as a dict, never strings)."""
    import nbformat
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    failure: Failure | None = None
    finished = {"all": False}

    def on_cell_executed(cell: Any, execute_reply: Any = None, **_: Any) -> None:
        if cell.get("id") == "mk-epilogue":  # the hidden last cell (see prepare)
            finished["all"] = (execute_reply or {}).get("content", {}).get("status") == "ok"

    try:
        executed = papermill.execute_notebook(
            nb,
            str(out_nb),
            parameters=dict(params),
            kernel_name=KERNEL_NAME,
            kernel_manager_class=kernel_manager_class(kernel_root, log, finished, early),
            start_timeout=start_timeout,
            execution_timeout=cell_timeout,
            interrupt_on_timeout=True,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
            cwd=cwd,
            on_cell_start=on_cell_start,
            on_cell_executed=on_cell_executed,
        )
    except PapermillExecutionError:
        executed = nbformat.read(out_nb, as_version=4)
        failure = failure_from_nb(executed, cell_timeout)
    except (CellTimeoutError, DeadKernelError, RuntimeError, TimeoutError) as exc:
        # the kernel did not start or died: keep the unexecuted notebook for the banner
        executed = copy.deepcopy(nb)
        failure = Failure(None, "the kernel", "", type(exc).__name__, str(exc), "")
    return executed, failure


def jsonable(value: Any) -> Any:
    """Plain JSON types (dataclasses with ``to_dict``, Reasons, timestamps, numpy scalars)."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return jsonable(value.to_dict())
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return jsonable(value.item())
    return str(value)

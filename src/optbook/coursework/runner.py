"""Run one notebook for the grader, in this process's own limits; report as JSON.

``python -m optbook.coursework.runner JOB.json`` is started by :mod:`.grade`, one process
per notebook, in a new session, inside the sandbox (:mod:`.sandbox`): the job file, the
notebook and the key's hidden-test cells reach it as content, never as paths outside the
sandbox. It lowers its own resource limits (address space, file size, processes, no core
files) before it starts the kernel, which inherits them; then it executes
every cell with nbclient (errors recorded, never fatal), a time limit per cell (the kernel
is interrupted and the next cell runs) and a cap on the output kept; then it appends the
key's hidden-test cells and runs them. It writes what happened to the job's result file:
cell errors, timeouts, whether the kernel died, and each hidden-test report, as JSON on
its standard output (the kernel's goes to the standard error). It judges nothing: the
grader compares, in its own process, outside the sandbox.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from .hidden import ENV, REPORT, parse_report
from .markers import is_hidden_tests_cell

TIMEOUT_ERROR = "CellTimeoutError"


class LimitedClient(NotebookClient):
    """A NotebookClient that keeps at most ``budget`` bytes of output (then drops it)."""

    budget: int = 1 << 20
    truncated: bool = False
    timed_out: bool = False

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {})))
        if size > self.budget:
            self.truncated = True
            self.budget = 0
            return None
        self.budget -= size
        return super().output(outs, msg, display_id, cell_index)


def _limit_resources(memory_mb: int, file_mb: int, processes: int) -> None:
    """Lower the soft and hard limits: the kernel inherits them and cannot raise them."""
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb << 20, file_mb << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # processes and threads of this user (in the sandbox: of this sandbox only); a fork
    # bomb fails here. Root is exempt: unsandboxed runs as root have no such limit.
    resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))


def _timeout_error(timeout: float) -> dict:
    return {"ename": TIMEOUT_ERROR, "evalue": f"the cell ran longer than {timeout:g} s and "
                                              "was stopped"}


def _error(cell, timeout: float) -> dict | None:
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            if out.ename in ("KeyboardInterrupt", TIMEOUT_ERROR):  # only the timeout interrupts
                return _timeout_error(timeout)
            return {"ename": out.ename, "evalue": str(out.evalue)[:500]}
    return None


def _stdout(cell) -> str:
    return "".join(out.text for out in cell.get("outputs", [])
                   if out.output_type == "stream" and out.name == "stdout")


def _isolated(source: str) -> str:
    """A hidden-test cell that runs in a copy of the notebook's namespace.

    It sees the submission's functions, and fresh ``np`` and ``ob`` (numpy, optbook) to
    build its inputs, but binds nothing in the submission's namespace: a submission
    that lost its imports still fails, and one hidden cell cannot affect the next.
    """
    return (f"exec(compile({source!r}, '<hidden tests>', 'exec'), "
            "{**globals(), 'np': __import__('numpy'), 'ob': __import__('optbook')})")


def _responds(client: LimitedClient, seconds: float = 5.0) -> bool:
    """Whether the kernel runs a trivial cell again after an interrupt."""
    probe = nbformat.v4.new_code_cell("pass")
    timeout, client.timeout, client.timed_out = client.timeout, seconds, False
    try:
        client.execute_cell(probe, 0, store_history=False)
    finally:
        client.timeout = timeout
    return not client.timed_out


def run(job: dict) -> dict:
    """Execute the job's notebook and hidden cells; return the report (see module doc)."""
    result = {"cells": [], "hidden": [], "crashed": False, "truncated": False,
              "unreadable": None, "stuck": None}
    try:
        nb = nbformat.read(job["notebook"], as_version=4)
    except Exception as err:  # any reason a file is not a notebook
        result["unreadable"] = f"{type(err).__name__}: {err}"[:500]
        return result
    nb.cells = [c for c in nb.cells if not is_hidden_tests_cell(c)]
    n_submitted = len(nb.cells)
    nb.cells += [nbformat.v4.new_code_cell(_isolated(src)) for src in job["hidden"]]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    os.environ[ENV] = REPORT
    os.environ["MPLBACKEND"] = "Agg"
    client = LimitedClient(
        nb, timeout=job["cell_timeout"], interrupt_on_timeout=True, allow_errors=True,
        error_on_timeout={"ename": TIMEOUT_ERROR, "traceback": [],
                          "evalue": f"the cell ran longer than {job['cell_timeout']} s"},
        kernel_name="python3", startup_timeout=120, shutdown_kernel="immediate",
        resources={"metadata": {"path": job["workdir"]}})
    client.budget = job["max_output"]
    with client.setup_kernel():
        Path(job["pidfile"]).write_text(str(client.km.provisioner.process.pid))
        for index, cell in enumerate(nb.cells):
            if index == n_submitted:  # the hidden tests get their own output budget
                result["truncated"], client.truncated = client.truncated, False
                client.budget = max(job["max_output"], 16 << 20)
            client.timed_out = False
            try:
                client.execute_cell(cell, index)
                timed_out = client.timed_out
                if timed_out and not _responds(client):
                    result["stuck"] = index  # the interrupt did not stop it: give up
                    break
            except DeadKernelError:
                result["crashed"] = True
                break
            error = _error(cell, job["cell_timeout"]) if cell.cell_type == "code" else None
            if timed_out:
                error = _timeout_error(job["cell_timeout"])
            if index < n_submitted:
                if error:
                    result["cells"].append({"index": index, **error})
            else:
                result["hidden"].append({"error": error, "report": parse_report(_stdout(cell))})
    result["truncated"] = result["truncated"] or client.truncated
    return result


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    result_out = os.fdopen(os.dup(1), "w")  # not inherited: the kernel cannot write here
    os.dup2(2, 1)  # what the kernel writes to its standard output goes to the log
    _limit_resources(job["memory_mb"], job["file_mb"], job["processes"])
    start = time.monotonic()
    result = run(job)
    result["seconds"] = round(time.monotonic() - start, 2)
    result_out.write(json.dumps(result))
    result_out.close()


if __name__ == "__main__":
    main()

"""The sandbox a graded notebook runs in: bubblewrap (``bwrap``), the operating system's own.

Graded code (the submission's cells and the hidden tests run in its kernel) is hostile by
assumption. :func:`command` wraps the grader's runner in a bubblewrap sandbox where:

- the only files are read-only binds of what Python needs (``/usr``, the Python
  installation, the virtual environment, the ``optbook`` package), a few ``/etc`` files
  for the dynamic linker, and two size-limited tmpfs, ``/tmp`` and the scratch directory
  ``/scratch`` (the only writable places, both gone when the run ends); the notebook and
  the job come in as copies of their content (``--file``), never as a path to the key or
  to another submission;
- it has its own PID, network, IPC, UTS and cgroup namespaces: ``/proc`` shows only the
  sandbox's processes (not the grader's command line), and the network is a loopback
  interface of its own;
- the environment is empty but for a few variables (:data:`ENVIRONMENT`);
- the processes run as a user that owns nothing of the machine: without root, bubblewrap
  maps the grader's user into a new user namespace (where no further one can be made);
  as root, bubblewrap itself runs privileged and ``setpriv`` (util-linux) drops to an
  unused user id, without capabilities, before Python starts. Either way the process
  limit (``RLIMIT_NPROC``, set by the runner) counts this sandbox's processes only.

:func:`check_available` refuses, with what is missing and how to install it, where
bubblewrap is absent or cannot create the namespaces.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

__all__ = ["SandboxUnavailable", "SCRATCH", "ENVIRONMENT", "check_available", "command",
           "drop_root", "readonly_paths", "unused_uid"]

#: the writable working directory inside the sandbox (a tmpfs)
SCRATCH = "/scratch"
#: the whole environment of the sandboxed processes
ENVIRONMENT = {
    "HOME": SCRATCH, "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1", "JUPYTER_RUNTIME_DIR": "/tmp/jupyter",
    "IPYTHONDIR": "/tmp/ipython", "MPLCONFIGDIR": "/tmp/matplotlib",
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
}
#: the root file system's links and directories that programs expect (merged /usr or not)
_SYSTEM = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
#: what the dynamic linker reads in /etc
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime")
#: user ids for the sandbox when the grader runs as root: far above any account's
_UID_RANGE = (1_900_000_000, 2_000_000_000)

INSTALL_HINT = ("install bubblewrap, the sandbox grading runs in: `sudo apt-get install "
                "bubblewrap` (Debian, Ubuntu), `sudo dnf install bubblewrap` (Fedora) or "
                "`sudo pacman -S bubblewrap` (Arch); it needs Linux")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot isolate a process on this machine."""


def readonly_paths() -> list[Path]:
    """What the sandbox binds read-only besides ``/usr``: Python, the venv, optbook."""
    import optbook

    package = Path(optbook.__file__).resolve().parent
    found = [Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), package]
    paths: list[Path] = []
    for path in found:
        if not path.is_relative_to("/usr") and not any(path.is_relative_to(p) for p in paths):
            paths = [p for p in paths if not p.is_relative_to(path)] + [path]
    return paths


def _directories(paths: list[Path]) -> list[str]:
    """Arguments making the parents of the bind targets, readable by the sandbox's user."""
    made: set[PurePosixPath] = set()
    args: list[str] = []
    for path in paths:
        for parent in reversed(PurePosixPath(path).parents):
            if parent != PurePosixPath("/") and parent not in made:
                made.add(parent)
                args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _root_filesystem() -> list[str]:
    """``/usr`` read-only, the top-level links into it, the dynamic linker's /etc files."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in _SYSTEM:
        path = Path("/", name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in _ETC:
        if Path("/etc", name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    return args


def unused_uid() -> int:
    """A user id far above any account's, chosen at random: one per graded notebook."""
    return secrets.randbelow(_UID_RANGE[1] - _UID_RANGE[0]) + _UID_RANGE[0]


def drop_root(uid: int) -> list[str]:
    """The command prefix that turns root into the user ``uid`` (util-linux ``setpriv``):
    no groups, no capabilities, and no way to gain privileges again (``no_new_privs``)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


def _identity() -> tuple[list[str], list[str]]:
    """(bwrap's namespace options, the command prefix that drops root, if any)."""
    namespaces = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                  "--unshare-cgroup-try"]
    if os.geteuid() != 0:  # unprivileged bwrap: a user namespace, and no nested one
        return namespaces + ["--unshare-user", "--disable-userns"], []
    caps = ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
            "--cap-add", "CAP_SETPCAP"]  # only what setpriv needs to drop to `uid`
    return namespaces + caps, drop_root(unused_uid())


def command(argv: list[str], files: dict[str, int], scratch_mb: int) -> list[str]:
    """The bwrap command line running ``argv`` in the sandbox.

    Args:
        argv: the command to run inside (its programs must be under the bound paths).
        files: name in :data:`SCRATCH` -> file descriptor whose content is copied there
            (read-only); pass the descriptors to the process (``pass_fds``).
        scratch_mb: size of each tmpfs (``/tmp`` and :data:`SCRATCH`), in MB.
    """
    if not argv:
        raise ValueError("the command to run in the sandbox is empty")
    if scratch_mb <= 0:
        raise ValueError(f"scratch_mb must be positive, got {scratch_mb}")
    if any("/" in name or name in ("", ".", "..") for name in files):
        raise ValueError(f"file names in the scratch directory must be plain names: {files}")
    namespaces, drop = _identity()
    size = str(scratch_mb << 20)
    args = ["bwrap", *namespaces, "--die-with-parent", "--new-session", *_root_filesystem(),
            "--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", size, "--tmpfs", "/tmp",
            "--perms", "1777", "--size", size, "--tmpfs", SCRATCH]
    paths = readonly_paths()
    args += _directories(paths)
    for path in paths:
        args += ["--ro-bind", str(path), str(path)]
    for name, fd in files.items():
        args += ["--perms", "0444", "--file", str(fd), f"{SCRATCH}/{name}"]
    args += ["--chdir", SCRATCH, "--clearenv"]
    for name, value in {**ENVIRONMENT, "PATH": _path(), "PYTHONPATH": _package_parent()}.items():
        args += ["--setenv", name, value]
    return [*args, "--", *drop, *argv]


def _package_parent() -> str:
    """Where ``import optbook`` finds the package bound in the sandbox (however installed)."""
    import optbook

    return str(Path(optbook.__file__).resolve().parent.parent)


def _path() -> str:
    return f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"


def check_available() -> None:
    """Raise :class:`SandboxUnavailable` unless a sandboxed Python runs here."""
    reason = _probe()
    if reason:
        raise SandboxUnavailable(reason)


@functools.cache
def _probe() -> str | None:
    """Why no sandbox can run here (None when one can): checked once per process."""
    if not sys.platform.startswith("linux"):
        return (f"grading needs a sandbox, and bubblewrap needs Linux (this is "
                f"{sys.platform}); grade on a Linux machine, or see the instructors' page")
    if shutil.which("bwrap") is None:
        return f"grading needs a sandbox, and `bwrap` is not installed: {INSTALL_HINT}"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return ("grading as root needs `setpriv` to drop root in the sandbox: install "
                "util-linux (`sudo apt-get install util-linux`)")
    argv = command([sys.executable, "-c", "import optbook.coursework.runner"], {}, 16)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"the sandbox (bubblewrap) does not start: {err}"
    if proc.returncode != 0:
        return ("the sandbox (bubblewrap) cannot isolate a process here: "
                f"{proc.stderr.strip()[-500:] or f'exit code {proc.returncode}'}. It needs "
                "user namespaces (or root): e.g. `sudo sysctl -w kernel.unprivileged_userns_"
                "clone=1` on Debian, or an AppArmor profile for bwrap on Ubuntu >= 23.10")
    return None

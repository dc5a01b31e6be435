"""Child processes (Home Assistant, the simulator, chromedriver) and the loopback ports they use."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from devtools.common import LOOPBACK, DevToolsError

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def free_port() -> int:
    """A TCP port free on the loopback address right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    """True when something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@dataclass
class Process:
    """A child process in its own process group (so Ctrl-C and teardown reach all of it)."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path | None
    _log_file: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def check_alive(self) -> None:
        """Raise DevToolsError when the process has exited."""
        code = self.popen.poll()
        if code is not None:
            where = f" (see {self.log_path})" if self.log_path else ""
            raise DevToolsError(f"{self.name} exited with code {code}{where}")

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM the process group, wait up to ``timeout`` s, then SIGKILL it. Idempotent."""
        try:
            if self.popen.poll() is None:
                _signal_group(self.popen.pid, signal.SIGTERM)
                try:
                    self.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(self.popen.pid, signal.SIGKILL)
                    self.popen.wait(5)
            # Children left in the group (none expected) go too.
            _signal_group(self.popen.pid, signal.SIGKILL)
            return self.popen.returncode
        finally:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: SIGTERM this child when the process that started it dies (even by SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_process(
    name: str,
    argv: Sequence[str],
    *,
    cwd: Path,
    log_path: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Process:
    """Start ``argv`` in a new session; output goes to ``log_path`` (appended) or the terminal.

    Its own session keeps the terminal's Ctrl-C away from it (the caller stops it in order), and
    on Linux it gets SIGTERM if the caller dies without cleaning up.
    """
    log_file = log_path.open("ab") if log_path is not None else None
    try:
        popen = subprocess.Popen(  # noqa: S603 - argv is built by this module, never a shell
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT if log_file is not None else None,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
    except BaseException:
        if log_file is not None:
            log_file.close()
        raise
    return Process(name, popen, log_path, log_file)


def simulator_argv(
    python: str | Path, *, port: int, scenario: str = "demo", seed: int | None = None
) -> list[str]:
    argv = [str(python), "-m", "simulator", "--host", LOOPBACK, "--port", str(port)]
    argv += ["--scenario", scenario]
    if seed is not None:
        argv += ["--seed", str(seed)]
    return argv


def hass_argv(python: str | Path, config_dir: Path) -> list[str]:
    """``hass -c CONFIG --skip-pip``: the venv's console script, else ``python -m homeassistant``.

    ``--skip-pip``: everything Home Assistant needs is installed by scripts/setup; a runtime pip
    install would be slow and hide a missing requirement.
    """
    script = Path(python).parent / "hass"
    head = [str(script)] if script.exists() else [str(python), "-m", "homeassistant"]
    return [*head, "--config", str(config_dir), "--skip-pip"]

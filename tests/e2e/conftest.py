"""Targets for the end-to-end suite: our binary started per module or per
test, or an already running server named by --target-url.

Async test functions run on a fresh event loop each, with a time limit.
A failing test's report carries the stderr of every server it used.
"""

import asyncio
import inspect
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
TEST_TIME_LIMIT_S = 30
LISTEN_TIMEOUT_S = 10
STOP_TIMEOUT_S = 10
# Lines a sanitizer build prints when it finds a fault.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "WARNING: ThreadSanitizer")


def pytest_addoption(parser):
    group = parser.getgroup("signal-server end-to-end")
    group.addoption(
        "--server-bin",
        default=os.environ.get("SIGNAL_SERVER_BIN", str(REPOSITORY / "build" / "signal-server")),
        help="signal-server binary to start (default: $SIGNAL_SERVER_BIN, else build/signal-server)",
    )
    group.addoption("--target-url", default=None, help="run against this running server, e.g. http://127.0.0.1:3000")
    group.addoption("--jwt-secret", default=None, help="HS256 secret of the target (default: bench-secret for --target-url)")
    group.addoption("--basic", default="admin:admin", help="REST Basic credentials user:password of the target")


@dataclass
class Target:
    host: str
    port: int
    secret: str
    basic: tuple
    external: bool
    process: Optional["ServerProcess"] = None

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"


class ServerProcess:
    """One signal-server child with its stdout and stderr in one file."""

    def __init__(self, binary: str, flags: dict, log_path: Path):
        self.binary = binary
        self.flags = flags
        self.log_path = log_path
        self.returncode: Optional[int] = None
        self.addr: Optional[str] = None

        # SIGNAL_* variables would override configuration keys in the child.
        env = {name: value for name, value in os.environ.items() if not name.startswith("SIGNAL_")}
        argv = [binary] + [f"--{key.replace('_', '-')}={value}" for key, value in flags.items()]
        self.log_file = open(log_path, "wb")
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT, env=env)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_line(self, pattern: str, count: int = 1, timeout: float = LISTEN_TIMEOUT_S) -> re.Match:
        """Wait until the output has `count` lines matching `pattern`; return the last match."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            matches = list(re.finditer(pattern, self.log_text()))
            if len(matches) >= count:
                return matches[count - 1]
            if self.popen.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(
            f"{self.binary} printed no line matching {pattern!r} (exit status {self.popen.poll()}); output:\n{self.log_text()[-8000:]}"
        )

    def wait_listening(self) -> tuple:
        try:
            match = self.wait_for_line(r"event=listening addr=(\S+)")
        except AssertionError:
            self.kill()
            raise
        self.addr = match.group(1)
        host, _, port = self.addr.rpartition(":")
        return host, int(port)

    def terminate(self) -> Optional[int]:
        """Send SIGTERM and return the exit status, or None when it did not exit in time."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.popen.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        finally:
            self.log_file.close()
        return self.returncode

    def kill(self):
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        self.log_file.close()


def default_flags(secret: str) -> dict:
    return {
        "listen": "127.0.0.1:0",
        "jwt_secret": secret,
        "admin_user": "admin",
        "admin_password": "admin",
        "room_allow": "public-*",
        "workers": "2",
        "log_level": "debug",
    }


def start_server(config, flags: dict, log_path: Path) -> Target:
    binary = config.getoption("server_bin")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"server binary {binary} is missing or not executable; build it or pass --server-bin")
    process = ServerProcess(binary, flags, log_path)
    host, port = process.wait_listening()
    return Target(host, port, flags.get("jwt_secret"), (flags.get("admin_user"), flags.get("admin_password")), False, process)


def stop_and_check(target: Target):
    process = target.process
    if process.returncode is not None or process.popen.poll() is not None:
        status = process.popen.returncode
    else:
        status = process.terminate()
    output = process.log_text()
    assert status == 0, f"signal-server exited with status {status} after SIGTERM; output:\n{output[-8000:]}"
    for marker in SANITIZER_MARKERS:
        assert marker not in output, f"signal-server output has a sanitizer report:\n{output[-8000:]}"


def is_external(config) -> bool:
    return config.getoption("target_url") is not None


@pytest.fixture(scope="module")
def target(request, tmp_path_factory):
    """The server under test, shared by the tests of one module."""
    config = request.config
    if is_external(config):
        url = urlsplit(config.getoption("target_url"))
        user, _, password = config.getoption("basic").partition(":")
        secret = config.getoption("jwt_secret") or "bench-secret"
        yield Target(url.hostname, url.port or 80, secret, (user, password), True)
        return
    secret = config.getoption("jwt_secret") or "e2e-secret"
    log_path = tmp_path_factory.mktemp("server") / "output.log"
    server = start_server(config, default_flags(secret), log_path)
    yield server
    stop_and_check(server)


class OwnServers:
    """Factory of servers with test-specific flags on top of the defaults.

    A flag given as None is left out, so a --config file can set that key.

    Against an external --target-url the configuration cannot be chosen,
    so a call skips the test and names the flags it needed."""

    def __init__(self, config, directory: Path):
        self.config = config
        self.directory = directory
        self.targets = []

    def __call__(self, **overrides) -> Target:
        if is_external(self.config):
            wanted = " ".join(f"{key}={value!r}" for key, value in overrides.items())
            started_with = f" started with {wanted}" if wanted else ""
            pytest.skip(f"needs a signal-server of its own{started_with}; skipped for an external --target-url")
        flags = default_flags(self.config.getoption("jwt_secret") or "e2e-secret")
        flags.update(overrides)
        flags = {key: value for key, value in flags.items() if value is not None}
        log_path = self.directory / f"server-{len(self.targets)}.log"
        target = start_server(self.config, flags, log_path)
        self.targets.append(target)
        return target


@pytest.fixture
def own_server(request, tmp_path):
    """Factory of servers with their own configuration, stopped and checked at teardown."""
    servers = OwnServers(request.config, tmp_path)
    yield servers
    for server in servers.targets:
        stop_and_check(server)


def servers_used(item) -> list:
    found = []
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, Target) and value.process is not None:
            found.append(value.process)
        elif isinstance(value, OwnServers):
            found.extend(target.process for target in value.targets)
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for process in servers_used(item):
            report.sections.append((f"signal-server output ({process.log_path})", process.log_text()[-12000:]))


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run `async def` tests on their own event loop, bounded in time."""
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(asyncio.wait_for(function(**arguments), TEST_TIME_LIMIT_S))
    return True

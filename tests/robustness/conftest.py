"""Fixtures for the robustness suite: every test starts its own
signal-server (the binary named by --server-bin) with the settings it
needs, on 127.0.0.1 with port 0.

When a test ends, each server it started must still be running, unless
the test stopped it itself, and must have printed no sanitizer report.
A failing test's report carries the server's stderr.
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stress"))

from signal_testkit import ServerProcess, server_args  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[2]


def pytest_addoption(parser):
    parser.addoption(
        "--server-bin",
        default=os.environ.get("SIGNAL_SERVER_BIN", str(REPOSITORY / "build" / "signal-server")),
        help="signal-server binary to start (default: $SIGNAL_SERVER_BIN, else build/signal-server)",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for server in getattr(item, "signal_servers", []):
            report.sections.append((f"signal-server stderr ({server.stderr_file.name})", server.stderr()[-20000:]))


class Launcher:
    """Starts servers for one test or one module and checks them at the end."""

    def __init__(self, binary: str):
        if not os.access(binary, os.X_OK):
            pytest.fail(f"{binary} is missing or not executable; build it first or pass --server-bin")
        self.binary = binary
        self.servers = []

    def start(self, workers: int = 2, config_file: "str | None" = None, **settings) -> ServerProcess:
        """Start a server with server_args(workers, **settings), or one that
        reads only config_file."""
        args = [] if config_file is not None else server_args(workers, **settings)
        server = ServerProcess(self.binary, args, config_file=config_file)
        self.servers.append(server)
        return server.start()

    def finish(self):
        problems = []
        for server in self.servers:
            reports = server.sanitizer_lines()
            if reports:
                problems.append(f"sanitizer report in {server.stderr_file.name}: {reports[:5]}")
            status = server.process.poll()
            if status is not None and not getattr(server, "stopped_by_test", False):
                problems.append(f"signal-server exited with {status} during the test; stderr in {server.stderr_file.name}")
            server.stop(timeout=15)
            if not problems:
                server.cleanup()
        if problems:
            pytest.fail("; ".join(problems), pytrace=False)


@pytest.fixture
def start_server(request):
    """Start servers for this test: start_server(workers=2, **settings)."""
    launcher = Launcher(request.config.getoption("--server-bin"))
    request.node.signal_servers = launcher.servers
    yield launcher.start
    launcher.finish()


@pytest.fixture(scope="module")
def module_launcher(request):
    """A launcher whose servers live for the whole module."""
    launcher = Launcher(request.config.getoption("--server-bin"))
    yield launcher
    launcher.finish()

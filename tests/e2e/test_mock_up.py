"""``govlink mock up`` as a user runs it: a subprocess, a fault, the journal, Ctrl-C."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mock_servers.cli import loopback_warning

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
GOVLINK = (
    [str(BIN / "govlink")] if (BIN / "govlink").exists() else [sys.executable, "-m", "govlink"]
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Running:
    """A child process whose stdout is read line by line in the background."""

    def __init__(self, args: list[str]) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "COLUMNS": "200"}
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 20) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if text in line:
                return time.perf_counter() - self.started
        err = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr else ""
        raise AssertionError(f"{text!r} not printed; got {''.join(self.seen)!r} {err!r}")

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        self.proc.send_signal(sig)
        try:
            _out, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        return self.proc.returncode, err


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for child in started:
        if child.proc.poll() is None:
            child.proc.kill()
            child.proc.wait(timeout=10)


def test_mock_up_503_then_recover_is_in_the_journal(running: list[Running]) -> None:
    port = _free_port()
    child = Running([*GOVLINK, "mock", "up", "--port", str(port)])
    running.append(child)
    elapsed = child.wait_for("Press Ctrl-C")
    output = "".join(child.seen)
    base = f"http://127.0.0.1:{port}"
    assert f"govlink mock platforms on {base}" in output
    assert f"{base}/gateway" in output
    assert f"GOVLINK_GATEWAY__BASE_URL={base}/gateway" in output
    assert "[profiles.mock.sso]" in output
    assert elapsed < 10, f"govlink mock up needed {elapsed:.1f} s to print its URLs"

    with httpx.Client(base_url=base, trust_env=False, timeout=10) as http:
        fault = {"platform": "gateway", "path": "/token", "status": 503, "count": 1}
        assert http.post("/__admin/faults", json=fault).status_code == 201
        form = {"grant_type": "client_credentials"}
        auth = ("govlink-demo", "demo-gateway-secret")
        first = http.post("/gateway/token", data=form, auth=auth)
        second = http.post("/gateway/token", data=form, auth=auth)
        assert (first.status_code, second.status_code) == (503, 200)
        journal = http.get("/__admin/journal", params={"path": "/gateway/token"}).json()
    assert [e["status"] for e in journal["entries"]] == [503, 200]
    assert journal["entries"][0]["fault"]["action"] == "status"

    code, err = child.stop(signal.SIGINT)
    assert code == 0, err
    assert "stopped" in err
    assert "Traceback" not in err


def test_python_m_mock_servers_json_and_sigterm(running: list[Running]) -> None:
    child = Running([sys.executable, "-m", "mock_servers", "--port", "0", "--json"])
    running.append(child)
    child.wait_for("{")
    info = json.loads(child.seen[-1])
    assert info["base_url"].startswith("http://127.0.0.1:")
    assert info["startup_seconds"] < 1.0
    assert info["platforms"]["gateway"] == info["base_url"] + "/gateway"
    assert info["env"]["GOVLINK_PROFILE"] == "mock"
    assert httpx.get(info["admin_url"] + "/health", trust_env=False).json()["status"] == "ok"
    code, err = child.stop(signal.SIGTERM)
    assert code == 0, err


def test_a_second_ctrl_c_does_not_break_the_shutdown(running: list[Running]) -> None:
    child = Running([sys.executable, "-m", "mock_servers", "--port", "0", "--json"])
    running.append(child)
    child.wait_for("{")
    child.proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    code, err = child.stop(signal.SIGINT)
    assert code == 0, err
    assert "Traceback" not in err


def test_state_file_survives_a_restart_of_the_command(
    running: list[Running], tmp_path: Path
) -> None:
    state = tmp_path / "mock.db"
    first = Running([*GOVLINK, "mock", "up", "--port", "0", "--json", "--state", str(state)])
    running.append(first)
    first.wait_for("{")
    admin = json.loads(first.seen[-1])["admin_url"]
    httpx.post(admin + "/clock", json={"advance": 86400}, trust_env=False).raise_for_status()
    assert first.stop()[0] == 0
    second = Running([*GOVLINK, "mock", "up", "--port", "0", "--json", "--state", str(state)])
    running.append(second)
    second.wait_for("{")
    info = json.loads(second.seen[-1])
    assert info["state"] == str(state)
    clock = httpx.get(info["admin_url"] + "/clock", trust_env=False).json()
    assert clock["offset_seconds"] == pytest.approx(86400, abs=5)
    assert second.stop()[0] == 0


def test_user_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"citizens": [{"so_dinh_danh": "1"}]}), encoding="utf-8")
    bad_seed = subprocess.run(
        [*GOVLINK, "mock", "up", "--port", "0", "--seed", str(seed)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad_seed.returncode == 2
    assert "section 'citizens'" in bad_seed.stderr
    assert "Traceback" not in bad_seed.stderr

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run(
            [*GOVLINK, "mock", "up", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert busy.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in busy.stderr


def test_binding_beyond_loopback_is_warned_about() -> None:
    assert loopback_warning("127.0.0.1") is None
    assert loopback_warning("localhost") is None
    assert loopback_warning("::1") is None
    warning = loopback_warning("0.0.0.0")
    assert warning is not None
    assert "not loopback" in warning

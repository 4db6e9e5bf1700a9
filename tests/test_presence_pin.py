"""The approval PIN: stored as a salted scrypt hash (0600), checked in constant time, every wrong PIN counted,
locked out after MAX_TRIES in a row (the lock grows and survives a restart); `pm-mcp set-pin` from a terminal
or, for scripted setups, from one line of stdin."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from conftest import REPO, pm_mcp_command
from pm_mcp.execution import presence

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_pin_is_stored_as_a_salted_slow_hash_in_a_private_file(tmp_path):
    presence.set_pin(tmp_path, "271828")
    path = tmp_path / presence.PIN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "271828" not in text
    data = json.loads(text)
    assert data["kdf"] == "scrypt" and data["n"] >= 2 ** 14 and len(presence.b64url_decode(data["salt"])) == 16
    first_salt = data["salt"]
    presence.set_pin(tmp_path, "271828")
    assert json.loads(path.read_text())["salt"] != first_salt  # a fresh salt every time
    assert presence.pin_enrolled(tmp_path) and presence.enrolled_factors(tmp_path) == ["PIN"]


@pytest.mark.parametrize("bad", ["12345", "      ", "111111", "12\x0734567"])
def test_weak_or_odd_pins_are_refused(tmp_path, bad):
    with pytest.raises(ValueError):
        presence.set_pin(tmp_path, bad)
    assert not presence.pin_enrolled(tmp_path)


def test_right_pin_passes_wrong_pins_are_counted_then_locked(tmp_path):
    presence.set_pin(tmp_path, "314159")
    assert presence.check_pin(tmp_path, "314159", now=NOW).ok
    for n in range(1, presence.MAX_TRIES):
        r = presence.check_pin(tmp_path, "000000", now=NOW)
        assert not r.ok and r.failures == n and r.locked_until is None
        assert f"{n} of {presence.MAX_TRIES}" in r.message
    r = presence.check_pin(tmp_path, "000000", now=NOW)
    assert not r.ok and r.failures == presence.MAX_TRIES and r.locked_until == NOW + presence.LOCKOUT
    assert "locked until" in r.message
    # while locked even the right PIN is refused (and not checked)
    r = presence.check_pin(tmp_path, "314159", now=NOW + timedelta(seconds=1))
    assert not r.ok and "locked" in r.message
    # the counter is in a private file and survives a restart (it is read back from disk)
    attempts = tmp_path / presence.PIN_ATTEMPTS_FILE
    assert stat.S_IMODE(attempts.stat().st_mode) == 0o600
    assert json.loads(attempts.read_text())["failures"] == presence.MAX_TRIES
    # after the lock a wrong PIN locks again, twice as long
    later = NOW + presence.LOCKOUT + timedelta(seconds=1)
    r = presence.check_pin(tmp_path, "999999", now=later)
    assert not r.ok and r.locked_until == later + 2 * presence.LOCKOUT
    # a right PIN after the lock passes and resets the run (the total stays)
    much_later = later + 2 * presence.LOCKOUT + timedelta(seconds=1)
    r = presence.check_pin(tmp_path, "314159", now=much_later)
    assert r.ok and r.failures == 0 and r.total_failures == presence.MAX_TRIES + 1


def test_lockout_grows_and_is_capped():
    assert presence.lockout_for(presence.MAX_TRIES - 1) == timedelta(0)
    assert presence.lockout_for(presence.MAX_TRIES + 3) == presence.LOCKOUT * 8
    assert presence.lockout_for(1000) == presence.MAX_LOCKOUT


def test_a_pin_file_others_can_write_is_ignored(tmp_path):
    presence.set_pin(tmp_path, "314159")
    os.chmod(tmp_path / presence.PIN_FILE, 0o666)
    assert not presence.pin_enrolled(tmp_path)
    r = presence.check_pin(tmp_path, "314159", now=NOW)
    assert not r.ok and "chmod 600" in r.message


def test_setting_a_new_pin_resets_the_counter(tmp_path):
    presence.set_pin(tmp_path, "314159")
    for _ in range(presence.MAX_TRIES):
        presence.check_pin(tmp_path, "000000", now=NOW)
    presence.set_pin(tmp_path, "161803")
    assert presence.check_pin(tmp_path, "161803", now=NOW).ok


def test_no_pin_set_refuses_with_advice(tmp_path):
    r = presence.check_pin(tmp_path, "314159", now=NOW)
    assert not r.ok and "pm-mcp set-pin" in r.message


def _cli(args: list[str], home, stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM_MCP_")} | {"PM_MCP_HOME": str(home)}
    return subprocess.run([*pm_mcp_command(), *args], check=False, input=stdin, capture_output=True, text=True, env=env,
                          cwd=str(REPO), timeout=60)


def test_cli_set_pin_from_stdin_and_its_refusals(tmp_path):
    home = tmp_path / "home"
    r = _cli(["set-pin"], home, "246810\n")  # stdin is not a terminal and --stdin was not given
    assert r.returncode == 2 and "--stdin" in r.stderr and not presence.pin_enrolled(home)
    r = _cli(["set-pin", "--stdin"], home, "123\n")
    assert r.returncode == 2 and "at least 6" in r.stderr and not presence.pin_enrolled(home)
    r = _cli(["set-pin", "--stdin"], home, "246810\n")
    assert r.returncode == 0, r.stderr
    assert "246810" not in r.stdout + r.stderr
    assert presence.check_pin(home, "246810", now=NOW).ok
    r = _cli(["set-pin", "--remove"], home)
    assert r.returncode == 0 and not presence.pin_enrolled(home)

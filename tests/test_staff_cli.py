"""`ldn-bot staff invite|list|remove`, `ldn-bot enrol` and `ldn-bot audit` in process."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from bot.cli import main
from store import Redeemed, Store
from store.enrolment import Opened


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[storage]\nurl = "sqlite:///cli.sqlite3"\n[staff]\nadmins = [111]\nstaff = [222]\n',
        encoding="utf-8",
    )
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def test_invite_list_remove_and_audit(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "staff", "invite", "--role", "admin", "-c", str(config))
    assert code == 0
    (joined,) = re.findall(r"/join (\S+)", out)
    with Store.open(f"sqlite:///{config.parent / 'cli.sqlite3'}") as store:
        now = store.audit_entries()[0].at
        assert store.redeem_invite(digest(joined), 333, now).result is Redeemed.JOINED
    code, out, _ = run(capsys, "staff", "list", "-c", str(config))
    assert out.splitlines()[0] == "111\tadmin\tconfig"
    assert out.splitlines()[1] == "222\tstaff\tconfig"
    assert out.splitlines()[2].startswith("333\tadmin\tinvited")
    assert run(capsys, "staff", "remove", "222", "-c", str(config))[0] == 1
    assert run(capsys, "staff", "remove", "333", "-c", str(config))[0] == 0
    assert run(capsys, "staff", "remove", "333", "-c", str(config))[0] == 1
    code, out, _ = run(capsys, "audit", "-c", str(config))
    assert [line.split("\t")[2] for line in out.splitlines()] == ["invite", "remove"]
    assert joined not in out


def test_enrol_prints_a_one_time_link(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "enrol",
        "--plan",
        "standard",
        "--start",
        "2026-12-07",
        "--ref",
        "MRN 1234",
        "--bot-username",
        "clinic_bot",
        "-c",
        str(config),
    )
    assert code == 0
    (link_code,) = re.findall(r"https://t\.me/clinic_bot\?start=([A-Za-z0-9_-]+)", out)
    with Store.open(f"sqlite:///{config.parent / 'cli.sqlite3'}") as store:
        now = store.audit_entries()[0].at
        opened = store.open_enrolment(digest(link_code), 42, now, stage="consent")
        assert opened.result is Opened.OPENED and opened.enrolment is not None
        assert opened.enrolment.ref == "MRN 1234"
        assert "MRN" not in repr(store.audit_entries())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--plan", "nope", "--start", "2026-12-07"], "no plan 'nope'"),
        (["--plan", "standard", "--start", "7/12"], "--start must be a date"),
    ],
)
def test_enrol_refuses_bad_input_with_one_line(
    config: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(capsys, "enrol", *args, "--bot-username", "b", "-c", str(config))
    assert code == 2 and message in err and len(err.splitlines()) == 1


def test_an_empty_audit_log(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "audit", "-c", str(config))[1] == "The audit log is empty.\n"

"""`boardroom deliverables` and `boardroom deliverable` against the real API served by uvicorn."""

from __future__ import annotations

import re

import pytest

from boardroom.settings import Settings
from tests.api.conftest import Seed
from tests.api.test_cli_client import cli, serve
from tests.api.test_deliverables import PID, seed_work

pytestmark = pytest.mark.timeout(120)


async def test_deliverables_commands_and_one_line_errors(
    offline_settings: Settings, seed: Seed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = seed_work(seed)
    async with serve(offline_settings) as url:
        monkeypatch.setenv("BOARDROOM_API_URL", url)
        monkeypatch.delenv("BOARDROOM_API_KEY", raising=False)

        assert await cli("deliverables", PID) == 0
        out = capsys.readouterr().out
        assert re.search(rf"^{ids['v1']}\s+2\s+8\.0\s+passed\s+copywriter\s+Landing copy$", out, re.M), out
        assert re.search(rf"^{ids['web']}\s+1\s+waiting_approval\s+web-developer\s+Website$", out, re.M), out
        assert f"website preview: http://testserver/projects/{PID}/site/" in out
        assert f"everything as a zip: http://testserver/projects/{PID}/export.zip" in out

        assert await cli("deliverable", str(ids["v1"])) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"{ids['v1']}  Landing copy  [passed]\n")
        assert "task t1-copy · copywriter · version 2 of 2 · QA 8.0 (offline rubric)" in out
        assert "Price: 35 EUR per mug" in out
        assert re.search(rf"^  2\s+{ids['v2']}\s+8\.0\s+\+3 -1 lines$", out, re.M), out
        assert "  round 1 (version 1): 5.5 failed · offline rubric\n    - [high] No price <b>given</b>" in out

        assert await cli("deliverable", str(ids["v1"]), "--version", "1") == 0
        out = capsys.readouterr().out
        assert "version 1 of 2 (latest is 2)" in out and "Price: TBD" in out

        assert await cli("deliverable", str(ids["web"])) == 0
        assert "files:\n  index.html  (" in capsys.readouterr().out

        for argv, message in [
            (("deliverable", "424242"), "boardroom: GET /deliverables/424242: 404 unknown deliverable 424242"),
            (
                ("deliverable", str(ids["v1"]), "--version", "9"),
                f"boardroom: GET /deliverables/{ids['v1']}: 404 deliverable {ids['v1']} has no version 9 "
                "(versions: 1, 2)",
            ),
            (("deliverables", "p-nope"), "boardroom: GET /projects/p-nope/deliverables: 404 unknown project p-nope"),
            (
                ("deliverable", "abc"),
                "boardroom: GET /deliverables/abc: 422 path.deliverable_id: "
                "Input should be a valid integer, unable to parse string as an integer",
            ),
        ]:
            assert await cli(*argv) == 2, argv
            assert capsys.readouterr().err == message + "\n"

        seed.project("p-empty0000001")
        assert await cli("deliverables", "p-empty0000001") == 0
        out = capsys.readouterr().out
        assert out.startswith("no deliverables yet\n") and "website preview" not in out

"""The AG-UI endpoint driven by the real ``@ag-ui/client`` HttpAgent on Node.

``tests/agui_node/scenarios.mjs`` runs each scenario against a live server; the
client's own verifier rejects any event out of order (a scenario that breaks a rule
ends in ``error``). ``.ci/run`` installs the package with ``npm ci``; locally the
tests skip, saying so, until ``npm ci`` has been run in ``tests/agui_node``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.support.aguicheck import check_agui
from tests.support.live import LiveServer

NODE_DIR = Path(__file__).resolve().parents[1] / "agui_node"
NODE = shutil.which("node")
CLIENT = NODE_DIR / "node_modules" / "@ag-ui" / "client"

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not CLIENT.is_dir(),
        reason="@ag-ui/client is not installed: run `npm ci` in tests/agui_node (.ci/run does)",
    ),
]


async def scenario(server: LiveServer, name: str, user: str = "alice") -> Any:
    assert NODE is not None
    env = {
        "WSAO_URL": server.http_url,
        "WSAO_TOKEN": server.token(user),
        "PATH": str(Path(NODE).parent),
        "SUPPRESS_TRANSFORMATION_WARNINGS": "1",
    }
    with trio.fail_after(60):
        done = await trio.run_process(
            [NODE, "scenarios.mjs", name],
            cwd=NODE_DIR,
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return json.loads(done.stdout)


async def test_completed_run_with_tools_and_text(server: LiveServer) -> None:
    seen = await scenario(server, "completed")
    assert seen["error"] is None
    assert seen["types"][0] == "RUN_STARTED" and seen["types"][-1] == "RUN_FINISHED"
    assert seen["texts"] == ["chunk 1 chunk 2 chunk 3 chunk 4 "]
    assert seen["toolCalls"] == ["echo", "echo"]
    assert [json.loads(r)["index"] for r in seen["toolResults"]] == [1, 2]
    assert seen["reasoning"] == ["scripted thought 1 of 2", "scripted thought 2 of 2"]
    assert seen["result"] == {"thoughts": 2, "tools": 2, "deltas": 4}
    assert all(seen["ids"])


async def test_an_error(server: LiveServer) -> None:
    seen = await scenario(server, "failed")
    assert seen["types"][-1] == "RUN_ERROR"
    assert seen["toolCalls"] == ["echo"] and seen["result"] is None


async def test_a_stop(server: LiveServer) -> None:
    seen = await scenario(server, "stopped")
    assert seen["error"] is None and seen["stopStatus"] == [202]
    assert seen["types"][-1] == "RUN_FINISHED" and seen["finishOutcome"] == {"type": "cancelled"}
    assert seen["types"].count("REASONING_MESSAGE_START") < 200


async def test_a_repeated_post_joins_one_run(server: LiveServer) -> None:
    started = server.orchestrator.stats.runs_started
    seen = await scenario(server, "repeated")
    first, second = seen["runs"]
    assert server.orchestrator.stats.runs_started == started + 1
    assert first["error"] is None and second["error"] is None
    assert first["types"] == second["types"] and first["ids"] == second["ids"]
    assert first["texts"] == second["texts"] == ["chunk 1 chunk 2 chunk 3 chunk 4 chunk 5 "]


async def test_resume_after_an_abrupt_disconnect(server: LiveServer) -> None:
    seen = await scenario(server, "resumed")
    before, after, whole = seen["beforeEvents"], seen["afterEvents"], seen["wholeEvents"]
    opening = [e for e in after if e["metadata"]["wsao"]["id"] == seen["lastEventId"]]
    assert opening[0]["type"] == "RUN_STARTED"
    # Nothing lost, nothing doubled: what was seen plus what followed is the whole run.
    assert before + after[len(opening) :] == whole
    check_agui(whole)
    assert whole[-1]["type"] == "RUN_FINISHED" and whole[-1]["outcome"] == {"type": "success"}
    # The resumed client's messages are the same as a client that saw the whole run.
    for key in ("texts", "toolCalls", "toolResults", "reasoning"):
        assert seen["after"][key] == seen["whole"][key], key
    assert seen["after"]["texts"] == ["".join(f"chunk {i} " for i in range(1, 31))]
    assert len(set(seen["after"]["messageIds"])) == len(seen["after"]["messageIds"])


async def test_the_docs_example_is_cut_off_and_resumes(server: LiveServer) -> None:
    """docs/agui.md's example, as written: it streams, drops, resumes, gets the answer."""
    assert NODE is not None
    env = {"WSAO_URL": server.http_url, "WSAO_TOKEN": server.token("alice")}
    with trio.fail_after(90):
        done = await trio.run_process(
            [NODE, "readme_example.mjs"], cwd=NODE_DIR, env=env, capture_stdout=True, check=False
        )
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 0 and lines[-1] == "answer: 17 * 23 + 4 = 395", lines[-5:]
    cut = next(line for line in lines if line.startswith("cut off after event "))
    last_id = cut.rsplit(" ", 1)[1]
    resumed = lines[lines.index(cut) + 1 :]
    assert resumed[0] == f"{last_id} RUN_STARTED"
    ids = [line.split()[0] for line in resumed[:-1]]
    opening = ids[: ids.index(next(i for i in ids if i != last_id))]
    assert set(opening) == {last_id}  # RUN_STARTED and the reasoning span still open
    plain = [int(i) for i in ids[len(opening) :] if i.isdigit()]
    assert plain == list(range(int(last_id) + 1, plain[-1] + 1))  # nothing lost or doubled

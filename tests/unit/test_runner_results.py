"""What a run left in its private data directory, read back: only archives fetched whole count."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from orchestrator.runner.ansible import FETCHED, RUN_OUTCOME, RUN_SPEC, read_run


def _archive(path: Path) -> bytes:
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w:gz") as archive:
        data = b'{"task_id": "t-1"}'
        member = tarfile.TarInfo("t-1/outcome.json")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    path.write_bytes(packed.getvalue())
    return packed.getvalue()


def test_an_archive_whose_fetch_was_cut_short_is_not_taken_for_a_result(tmp_path: Path) -> None:
    private = tmp_path / "run-1"
    (private / "results").mkdir(parents=True)
    (private / FETCHED).mkdir()
    hosts = {"whole": {}, "cut-short": {}}
    (private / RUN_SPEC).write_text(json.dumps({"inventory": {"all": {"hosts": hosts}}}))
    (private / RUN_OUTCOME).write_text(json.dumps({"status": "timeout", "rc": 254, "ident": None}))
    _archive(private / "results" / "whole.tar.gz")
    (private / FETCHED / "whole").touch()
    whole = _archive(private / "results" / "cut-short.tar.gz")
    (private / "results" / "cut-short.tar.gz").write_bytes(whole[: len(whole) // 2])

    result = read_run(private)

    assert result.hosts["whole"].archive == private / "results" / "whole.tar.gz"
    assert result.hosts["cut-short"].archive is None
    assert result.hosts["cut-short"].error == "the run ended timeout"

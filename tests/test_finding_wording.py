"""One language at a time (issue 12): what verification finds is worded by key and
parameters (domain/finding_wording.py), so the integrity alarm on the web and `custodes
verify` read in the reader's language — its kind too, not the raw "index-altered". The
detail was English text, passed through into the Chinese alarm list and banner."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

from custodes.domain import finding_wording, verification
from custodes.domain import ledger as domain_ledger
from custodes.domain.alarm_wording import placeholders
from custodes.domain.chain import Checkpoint
from custodes.domain.finding_wording import DETAILS, WORDS, parts_json, stored_parts
from custodes.domain.verification import Evidence, Finding, SignedPoint, judge
from custodes.entrypoints.web import i18n, said
from custodes.services import checkpoints
from custodes.services import ledger as service_ledger

from .test_ledger import chain_rows
from .test_verification_timing import CADENCE, CAM, SEG, T0, _evidence, _signature_ok

CJK = re.compile(r"[\u4e00-\u9fff]")
KINDS = {"missing", "modified", "inserted", "reordered", "index-altered", "checkpoint"}


def _tampered() -> Evidence:
    """Twelve segments and one signed checkpoint at seq 5 (the rest an unsigned tail beyond
    one interval), with a file changed, one gone, one holding another's bytes, a stray file,
    a checkpoint of an unknown key in the database alone, a damaged line of the checkpoint
    file, a row's size edited, and a segment placed half a second early."""
    starts = [T0 + i * SEG for i in range(12)]
    starts[9] -= 500_000
    ev = _evidence(starts)
    rows = list(ev.rows)
    five = rows[5]
    body = Checkpoint(CAM, 5, five.link, T0, "kid")
    cp = SignedPoint(5, five.link, T0, "kid", body.message().hex())
    stranger = SignedPoint(3, rows[3].link, T0, "other", "00")
    rows[7] = dataclasses.replace(rows[7], bytes=1)  # its link no longer fits
    digests = dict(ev.digests)
    digests["p2"] = "f" * 64
    digests["p3"] = None
    digests["p4"] = rows[6].sha256
    return dataclasses.replace(
        ev,
        rows=rows,
        checkpoints_db=[cp, stranger],
        checkpoints_file=[cp],
        file_problems=[("checkpoint-line-bad", {"file": f"{CAM}.jsonl", "line": "3"})],
        digests=digests,
        unindexed_files=[f"{CAM}/stray.mp4"],
    )


def _chinese_only(text: str, data: list[str]) -> bool:
    for value in sorted(data, key=len, reverse=True):  # "p4" is in "stray.mp4"
        text = text.replace(value, "")
    return CJK.search(text) is not None and not re.search(r"[A-Za-z]{2,}", text)


def test_every_finding_reads_in_chinese_its_kind_too() -> None:
    j = judge(_tampered(), dataclasses.replace(CADENCE, segments=3), _signature_ok)
    kinds = {f.kind for f in j.findings}
    assert kinds >= KINDS | {"timing", "unsigned-tail"}, j.findings
    data = ["p2", "p3", "p4", f"{CAM}/stray.mp4", f"{CAM}.jsonl", "other", "ffmpeg"]
    for f in j.findings:
        assert f.parts, f
        assert finding_wording.english(f.parts) == f.detail  # the stored English
        kind, detail = said.finding(f.kind, f.parts, f.detail, "zh")
        assert _chinese_only(kind, []), f.kind
        assert _chinese_only(detail, data), (f.detail, detail)
        assert said.finding(f.kind, f.parts, f.detail, "en") == (f.kind, f.detail)


def test_a_damaged_checkpoint_line_is_a_part_too(tmp_path: Path) -> None:
    from custodes.paths import DataDir

    data = DataDir(tmp_path)
    path = checkpoints.file_path(data, CAM)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"{not json\n")
    found, problems = checkpoints.read_file(data, CAM)
    assert found == [] and problems == [("checkpoint-line-bad", {"file": path.name, "line": "1"})]
    _, detail = said.finding("checkpoint", problems, "?", "zh")
    assert detail == f"{path.name} 第 1 行不是检查点（被截断或编辑）"


def test_every_detail_has_a_chinese_translation_with_its_parameters() -> None:
    zh = i18n.translations("zh")
    en = i18n.translations("en")
    for key, msgid in DETAILS.items():
        chinese = zh.gettext(msgid)
        assert chinese != msgid and CJK.search(chinese), key
        assert placeholders(chinese) == placeholders(msgid), key
        assert en.gettext(msgid) == msgid, key
    for words in WORDS.values():
        for word in filter(None, words.values()):
            assert CJK.search(zh.gettext(word)), word
    for kind in KINDS | {"timing", "unsigned-tail"}:
        assert CJK.search(zh.gettext(kind)), kind


def _keys_used(module: object) -> set[str]:
    """The wording keys a module's source names: the third argument of `.of(…)`/`.add(…)`
    (the ledger's) and the first of a `("key", {…})` part (the archive's)."""
    tree = ast.parse(Path(str(getattr(module, "__file__", ""))).read_text(encoding="utf-8"))
    found: set[str] = set()

    def strings(node: ast.expr) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.IfExp):
            return strings(node.body) + strings(node.orelse)
        return []

    key = re.compile(r"[a-z]+(?:-[a-z]+)+")
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple) and len(node.elts) == 2:
            if isinstance(node.elts[1], ast.Dict | ast.Name):
                found.update(filter(key.fullmatch, strings(node.elts[0])))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("of", "add")
            and len(node.args) >= 3
        ):
            found.update(strings(node.args[2]))
    return found


def test_every_key_a_verifier_uses_is_in_the_catalogue() -> None:
    """A part is checked when it is made (a ValueError): this finds a key on a path no other
    test takes before a verifier stops on it — and a key in the catalogue no one says."""
    used = set().union(
        *(_keys_used(m) for m in (verification, checkpoints, domain_ledger, service_ledger))
    )
    assert used == DETAILS.keys(), (used - DETAILS.keys(), DETAILS.keys() - used)


def test_what_the_ledgers_verification_finds_reads_in_chinese() -> None:
    """`custodes ledger verify` said its findings in English in a Chinese locale but for the
    unsigned tail, which was matched by form."""
    rows, _ = chain_rows(6)
    altered = [list(r) for r in rows[:3] + rows[4:]]  # entry 4 gone
    altered[1][5] = '{"x":1}'  # entry 2 changed
    altered[4][6] = "0" * 64  # entry 6 no longer links to 5
    claim = domain_ledger.LedgerCheckpoint(1, "ab" * 32, T0, "k", "00")
    ghost = domain_ledger.LedgerCheckpoint(9, "cd" * 32, T0, "k", "00")
    walked = domain_ledger.walk(altered, head=(5, "ef" * 32), checkpoints=[claim, ghost])
    findings = [
        *walked.findings,
        *domain_ledger.compare_checkpoints([claim], [ghost]),
        domain_ledger.walk(rows, head=None).findings[0],
    ]
    kinds = {f.kind for f in findings}
    assert kinds >= {
        domain_ledger.ALTERED,
        domain_ledger.MISSING,
        domain_ledger.BROKEN_LINK,
        domain_ledger.CHECKPOINT_MISMATCH,
        domain_ledger.HEAD_MISMATCH,
        domain_ledger.CHECKPOINT_FILE,
        domain_ledger.UNSIGNED_TAIL,
    }, findings
    for f in findings:
        assert f.parts and finding_wording.english(f.parts) == f.message, f
        _, chinese = said.finding(f.kind, f.parts, f.message, "zh")
        hashes = re.sub(r"\b[0-9a-f]{16}\b", "", chinese)
        assert _chinese_only(hashes, []), (f.message, chinese)
        assert f.to_json()["wording"] == [{"key": k, "params": dict(p)} for k, p in f.parts]


def test_wording_is_total() -> None:
    parts = (("file-changed", {"seq": "3", "path": "x"}),)
    assert stored_parts(parts_json(parts)) == parts
    for bad in (None, "", "{", "{}", '[["k"]]', '[["k", {"a": 1}]]', "[[1, {}]]", "[5]"):
        assert stored_parts(bad) is None, bad
    tr = i18n.translations("zh").gettext
    assert finding_wording.said((), tr) is None
    assert finding_wording.said((("no-such-key", {}),), tr) is None
    assert finding_wording.said((("file-changed", {"seq": "3"}),), tr) is None
    assert (
        finding_wording.said((("checkpoint-bad-signature", {"seq": "1", "where": "x"}),), tr)
        is None
    )
    assert said.finding("modified", (("no-such-key", {}),), "stored", "zh") == ("被修改", "stored")
    try:
        verification.finding("modified", 1, 1, ("file-changed", {"seq": "1"}))
    except ValueError:
        pass
    else:
        raise AssertionError("a part that does not render was made")
    # an alarm whose stored parts are damaged reads as its stored English detail
    message = "verification found 1 problem(s); first: camera c: modified: stored"
    params = {"count": "1", "camera": "c", "kind": "modified", "detail": "stored"}
    for stored in ("[[", parts_json((("no-such-key", {}),)), "%(x)s"):
        text = said.alarm_message(message, "verify-found", {**params, "detail_parts": stored}, "zh")
        assert text == "校验发现 1 个问题；第一个：摄像机 c：被修改：stored", stored
    assert Finding("modified", 1, 1, "as it was").parts == ()  # made before keys: its detail


def test_what_a_reviewer_fed_the_renderers_stays_total() -> None:
    """Stored alarms are read on every page (the banner): an empty kind showed the
    catalogue's header, and parts nested past the JSON parser's depth raised."""
    message = "verification found 1 problem(s); first: camera c: : d"
    params = {"count": "1", "camera": "c", "kind": "", "detail": "d"}
    text = said.alarm_message(message, "verify-found", params, "zh")
    assert "Project-Id-Version" not in text and text.endswith("：：d")
    deep = {**params, "kind": "modified", "detail_parts": "[" * 100_000}
    assert said.alarm_message(message, "verify-found", deep, "zh").endswith("被修改：d")
    # the path a quarantined file is kept in is data, even when it reads like a reason
    assert said.recorder_reason("no playable fragment: stopped; kept in stopped", "zh") == (
        "没有可播放的分片：已停止；已保存在 stopped"
    )
    # a finding is hashable, as a frozen dataclass is
    assert (
        len({verification.finding("modified", 1, 1, ("file-changed", {"seq": "1", "path": "p"}))})
        == 1
    )

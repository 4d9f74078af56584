"""One language at a time (issue 12): what `custodes verify-export` finds in a bundle is worded
by key and parameters (domain/export_wording.py), so its recipient — a police or judicial
officer, often reading Chinese only — reads every finding in Chinese. They were English
sentences, printed as they were in a Chinese locale."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from custodes.domain import export_format as fmt
from custodes.domain import export_judgement
from custodes.domain.alarm_wording import placeholders
from custodes.domain.export_judgement import BundleFacts, FileFacts, Finding, judge
from custodes.domain.export_wording import PROBLEM_PARTS, PROBLEMS, SUBJECTS
from custodes.domain.finding_wording import english
from custodes.entrypoints.web import i18n, said
from custodes.services.signing import signature_ok

from .test_cli_language import run
from .test_export_format import PINNED, STRICT_CASES, _edit

CJK = re.compile(r"[\u4e00-\u9fff]")
# names a Chinese sentence keeps as they are: formats, algorithms, a file's name, JSON's words
KEPT = re.compile(r"SHA-256|sha256|Ed25519|JSON|ISO 8601|manifest\.json|null|true|false")


def _chinese(text: str, data: list[str]) -> bool:
    """Chinese, with no English word left once the parameters (data) are taken out."""
    text = KEPT.sub("\x00", text)  # in the data too: "clip.sha256" is a field's path
    for value in sorted((KEPT.sub("\x00", v) for v in data), key=len, reverse=True):
        text = text.replace(value, "")
    return CJK.search(text) is not None and not re.search(r"[A-Za-z]{2,}", text)


def _data(f: Finding) -> list[str]:
    return [v for _, params in (f.about, *f.parts) for v in params.values()]


def _in_chinese(f: Finding) -> tuple[str, str]:
    return said.export_finding(f.about, f.parts, f.subject, f.problem, "zh")


def test_every_subject_and_problem_has_a_chinese_translation_with_its_parameters() -> None:
    zh = i18n.translations("zh")
    en = i18n.translations("en")
    for table in (SUBJECTS, PROBLEM_PARTS):
        for key, msgid in table.items():
            if msgid == "%(name)s":  # a file's name, said as it is
                continue
            chinese = zh.gettext(msgid)
            assert chinese != msgid and CJK.search(chinese), key
            assert placeholders(chinese) == placeholders(msgid), key
            assert en.gettext(msgid) == msgid, key


def _keys_used(module: object) -> set[str]:
    """The wording keys a module's source names: the second argument of `fail`/`warn`/`_at`,
    the first of `_seq` and of a `("key", {…})` part, and the values of `_PHRASES`."""
    tree = ast.parse(Path(str(getattr(module, "__file__", ""))).read_text(encoding="utf-8"))
    key = re.compile(r"[a-z]+(?:-[a-z]+)*")
    found: set[str] = set()

    def constant(node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value if key.fullmatch(node.value) else None
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            at = {"fail": 1, "warn": 1, "_at": 1, "_seq": 0}.get(name)
            if at is not None and len(node.args) > at:
                found.update(filter(None, [constant(node.args[at])]))
        elif isinstance(node, ast.Tuple) and [type(e) for e in node.elts][1:] == [ast.Dict]:
            found.update(filter(None, [constant(node.elts[0])]))
    phrases = getattr(module, "_PHRASES", {})
    found.update(phrases.values())
    return found


def test_every_key_the_judgement_and_the_format_name_is_worded() -> None:
    used = _keys_used(export_judgement) | _keys_used(fmt)
    assert used, "the walk found nothing: it no longer reads the modules"
    unknown = used - set(SUBJECTS) - set(PROBLEM_PARTS)
    assert not unknown, unknown
    assert {"missing", "unvouched", "file-stray", "segment", "key"} <= used
    assert {"must-be", "must-be-null", "field-missing", "not-a-field"} <= used


@pytest.mark.parametrize(("change", "message"), STRICT_CASES)
def test_a_manifest_that_is_not_one_says_why_in_chinese(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    verdict = judge(BundleFacts(_edit(change), bytes(64), {}), signature_ok)
    [f] = verdict.findings
    assert f.problem.startswith("not a valid manifest: " + message), f.problem
    assert english(f.parts, PROBLEM_PARTS) == f.problem  # the English is the parts'
    subject, problem = _in_chinese(f)
    assert subject == fmt.MANIFEST_FILE
    assert problem.startswith("不是有效的清单："), problem
    assert _chinese(problem, _data(f)), (f.problem, problem)


@pytest.mark.parametrize("raw", [b"", b"[]", b"{}", b"[" * 100_000])
def test_what_is_no_manifest_at_all_says_so_in_chinese(raw: bytes) -> None:
    [f] = judge(BundleFacts(raw, None, {}), signature_ok).findings
    _, problem = _in_chinese(f)
    assert _chinese(problem, _data(f)), (f.problem, problem)


def _judged(doc_change: Callable[[dict[str, Any]], None] | None = None) -> list[Finding]:
    """The pinned manifest (signed by nobody real), with a change, its files absent or
    wrong, a stray file and a link: many findings of many kinds."""
    raw = _edit(doc_change) if doc_change else PINNED.encode()
    m = fmt.decode(raw)
    files = {m.clip.file: FileFacts(1, "0" * 64), "notes.txt": FileFacts(3, "1" * 64)}
    first = m.segments[0]
    if first.file is not None:
        files[first.file] = FileFacts(first.bytes + 1, first.sha256)  # its size wrong only
    facts = BundleFacts(raw, b"\x00" * 10, files, odd=["evil-link"])
    return judge(facts, signature_ok, pinned=["ab" * 32]).findings


def _tamper(doc: dict[str, Any]) -> None:
    doc["segments"][0]["bytes"] += 1  # its link no longer follows
    doc["segments"][1]["seq"] = doc["segments"][0]["seq"]  # out of order
    doc["segments"][1]["file"] = fmt.segment_file(doc["segments"][1]["seq"])
    doc["grant"]["action"] = "view"
    doc["requested"]["start_us"] -= 10**12  # before the grant
    doc["requested"]["start"] = fmt.iso(doc["requested"]["start_us"])
    doc["chain"]["anchors"].insert(0, {"seq": -1, "link": "11" * 32})  # not the genesis
    doc["chain"]["checkpoints"][0]["key_id"] = "f" * 16  # a key the bundle has not


@pytest.mark.parametrize("change", [None, _tamper], ids=["as-signed-by-nobody", "tampered"])
def test_every_finding_of_a_bundle_reads_in_chinese(
    change: Callable[[dict[str, Any]], None] | None,
) -> None:
    findings = _judged(change)
    assert len(findings) >= 6, findings
    for f in findings:
        assert english([f.about], SUBJECTS) == f.subject
        assert english(f.parts, PROBLEM_PARTS) == f.problem
        subject, problem = _in_chinese(f)
        if f.about[0] != "file":  # a file's name is the subject itself
            assert _chinese(subject, _data(f)), (f.subject, subject)
        assert _chinese(problem, _data(f)), (f.problem, problem)
        assert said.export_finding(f.about, f.parts, f.subject, f.problem, "en") == (
            f.subject,
            f.problem,
        )


def test_the_keys_seen_in_those_bundles_are_most_of_the_table() -> None:
    """The two bundles above walk most problems: a new key is tried, not only listed."""
    seen = {key for change in (None, _tamper) for f in _judged(change) for key, _ in f.parts}
    assert len(seen) >= 12, seen
    assert seen <= set(PROBLEMS)


def test_a_finding_whose_parts_do_not_fit_reads_as_its_english() -> None:
    subject, problem = said.export_finding(
        ("segment", {}), [("no-such-key", {})], "segment 3", "was eaten", "zh"
    )
    assert (subject, problem) == ("segment 3", "was eaten")


def test_the_command_line_says_a_forged_bundle_s_findings_in_chinese(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    doc = json.loads(PINNED)
    _tamper(doc)
    (bundle / fmt.MANIFEST_FILE).write_text(json.dumps(doc), encoding="utf-8")
    (bundle / fmt.SIGNATURE_FILE).write_bytes(bytes(64))
    (bundle / "notes.txt").write_text("x", encoding="utf-8")
    res = run("zh_CN.UTF-8", "verify-export", str(bundle))
    assert res.returncode == 1, res.stderr
    lines = [line for line in res.stdout.splitlines() if line.startswith(("不通过", "警告"))]
    assert len(lines) >= 6, res.stdout
    for line in lines:
        assert CJK.search(line.split(" ", 1)[1]), line
    for english_problem in ("no signed checkpoint vouches", "missing", "out of order"):
        assert english_problem not in res.stdout, res.stdout
    english_run = run("C.UTF-8", "verify-export", str(bundle))
    assert "out of order in the manifest" in english_run.stdout, english_run.stdout


def test_every_reason_a_bundle_or_key_file_cannot_be_read_has_chinese() -> None:
    """Unreadable bundles and key files are worded by msgid (services/verify_export.py)."""
    from custodes.services import verify_export

    tree = ast.parse(Path(verify_export.__file__).read_text(encoding="utf-8"))
    msgids = {
        str(node.args[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") in ("BundleUnreadable", "KeyFileError")
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert len(msgids) >= 8, msgids
    zh = i18n.translations("zh")
    for msgid in {*msgids, verify_export.PIN_ADVICE}:
        assert CJK.search(zh.gettext(msgid)), msgid
        assert placeholders(zh.gettext(msgid)) == placeholders(msgid), msgid


def test_the_command_line_says_why_it_cannot_read_a_bundle_or_a_key_in_chinese(
    tmp_path: Path,
) -> None:
    nowhere = tmp_path / "nowhere"
    res = run("zh_CN.UTF-8", "verify-export", str(nowhere))
    assert res.returncode == 2 and f"{nowhere}：没有这个文件或目录" in res.stderr, res.stderr
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / fmt.MANIFEST_FILE).write_text(PINNED, encoding="utf-8")
    key = tmp_path / "key.txt"
    key.write_text("not a key\n", encoding="utf-8")
    res = run("zh_CN.UTF-8", "verify-export", str(bundle), "--key", str(key))
    assert res.returncode == 2 and "有一行既不是十六进制密钥也不是 JSON" in res.stderr, res.stderr
    res = run("C.UTF-8", "verify-export", str(nowhere))
    assert f"{nowhere}: no such file or directory" in res.stderr, res.stderr

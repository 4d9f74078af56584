"""The command line speaks its locale's language (issue 12): Chinese under a zh locale,
English otherwise, `CUSTODES_LANG` over both; its machine output (`--json`) is the same in
either. Real `custodes` processes: the language is chosen once, when the process starts."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import typer
from babel.messages.pofile import read_po
from typer.models import OptionInfo

from custodes.domain.access_rules import OrgKind
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.entrypoints import cli_export, cli_i18n
from custodes.entrypoints.cli import app
from custodes.entrypoints.web import i18n
from custodes.services import cameras as camera_service
from custodes.services.context import Context
from custodes.services.setup import JURISDICTIONS

ZH, C = "zh_CN.UTF-8", "C.UTF-8"
CLI_DIR = Path(__file__).parents[1] / "src" / "custodes" / "entrypoints"
_LOCALE = ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE", i18n.CLI_LANG_ENV)

# English words a Chinese screen may show: names (ours, the tools', the test's camera),
# protocols, formats and the words of a command line. Whatever else is English is a miss.
ALLOWED = {
    "custodes", "ffmpeg", "shell", "zip", "hex", "json", "csv", "ctrl", "gate", "bool",
    "str", "int", "float", "path", "postgresql", "unit", "operating", "python",
    "localhost", "installation",  # the TLS certificate's names and subject
}  # fmt: skip


def _command_names(group: typer.Typer) -> set[str]:
    """The words one types or a usage line names: every command's and group's name, every
    argument's (`custodes camera show REF`)."""
    names = set()
    for command in group.registered_commands:
        if command.callback is None:
            continue
        names.add(command.name or command.callback.__name__)
        for name, hint in typing.get_type_hints(command.callback, include_extras=True).items():
            if not any(isinstance(m, OptionInfo) for m in getattr(hint, "__metadata__", ())):
                names.add(name)
    for sub in group.registered_groups:
        names.add(sub.name or "")
        if sub.typer_instance is not None:
            names |= _command_names(sub.typer_instance)
    return names


# and the values one types: roles, organisations' kinds, jurisdictions
_VALUES = {*_command_names(app), *Role, *OrgKind, *JURISDICTIONS}
ALLOWED |= {word for value in _VALUES for word in re.split(r"[-_]", value)}
# A technical token: a path, an option, a code, a URL, an address, a value with digits
_TECHNICAL = re.compile(r"[/\\._=@<>\[\]{}'\-\d]|^[A-Z0-9]+$")


def english_words(text: str) -> list[str]:
    """ASCII words of three letters or more, outside commands in backticks, technical
    tokens (paths, options, ids), upper-case names (TLS, RTSP, OPTIONS) and ALLOWED."""
    text = re.sub(r"`[^`]*`", " ", text)
    words = []
    for token in re.findall(r"[!-~]+", text):  # runs of printable ASCII: CJK splits them
        core = token.strip('()（）,;:!?"“”`…*')
        for word in re.findall(r"[A-Za-z]{3,}", core):
            if _TECHNICAL.search(core) and not core.isalpha():
                break
            if word.isupper() or word.lower() in ALLOWED:
                continue
            words.append(word)
    return words


def run(lang: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`custodes ARGS` under LANG=`lang` (the other locale variables unset), 200 columns."""
    environ = {k: v for k, v in os.environ.items() if k not in _LOCALE}
    environ.update(LANG=lang, COLUMNS="200", **env)
    return subprocess.run(
        [sys.executable, "-m", "custodes.entrypoints.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )


def has_chinese(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def test_the_checker_finds_english_and_passes_names() -> None:
    assert english_words("摄像机 Gate 1：已设置（hidden）") == ["hidden"]
    assert english_words("见 `custodes status` 和 /var/lib/x.log，--data，TLS，rtsp://h/a") == []


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["camera", "--help"],
        ["camera", "add", "--help"],
        ["status", "--help"],
        ["ledger", "export", "--help"],
        ["account", "add", "--help"],
        ["alarm", "list", "--help"],
    ],
    ids=" ".join,
)
def test_help_is_in_the_locales_language(args: list[str]) -> None:
    zh = run(ZH, *args)
    assert zh.returncode == 0, zh.stderr
    assert "用法：" in zh.stdout and "显示本帮助并退出。" in zh.stdout
    assert english_words(zh.stdout) == []
    en = run(C, *args)
    assert en.returncode == 0, en.stderr
    assert "Usage:" in en.stdout and "Show this message and exit." in en.stdout
    assert not has_chinese(en.stdout)


@pytest.mark.parametrize(
    ("args", "zh_said", "en_said"),
    [
        (["status", "--bogus"], "没有选项：--bogus", "No such option: --bogus"),
        (["camera", "add", "x"], "缺少选项 '--url'。", "Missing option '--url'."),
        (["camera", "nope"], "没有命令 'nope'。", "No such command 'nope'."),
    ],
)
def test_a_refused_command_line_is_said_in_the_locales_language(
    args: list[str], zh_said: str, en_said: str
) -> None:
    zh, en = run(ZH, *args), run(C, *args)
    assert zh.returncode == en.returncode == 2
    assert zh_said in zh.stderr and "用法：" in zh.stderr
    assert english_words(zh.stderr) == []
    assert en_said in en.stderr and not has_chinese(en.stderr)


def test_every_help_text_and_message_has_a_chinese_translation() -> None:
    """Every help text of every command (read in a Chinese process, as Typer shows it) and
    every `_("…")` of the command-line modules."""
    script = (
        "from custodes.entrypoints.cli import app\n"
        "from custodes.entrypoints.cli_i18n import help_holders\n"
        "import re\n"
        "for h in help_holders(app):\n"
        "    if h.help and not re.search('[\\u4e00-\\u9fff]', h.help): print(repr(h.help))\n"
    )
    environ = {k: v for k, v in os.environ.items() if k not in _LOCALE}
    res = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**environ, i18n.CLI_LANG_ENV: "zh"},
        check=True,
    )
    assert res.stdout == ""
    wanted = set()
    for path in [*CLI_DIR.glob("cli*.py"), CLI_DIR / "demo_cast.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {  # NAME = "…" at module level: `_(NAME)` is a msgid too
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_"
                and node.args
            ):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                wanted.add(arg.value)
            elif isinstance(arg, ast.Name) and arg.id in constants:
                wanted.add(constants[arg.id])
    wanted |= {*cli_export.MANIFEST_LINES, *cli_i18n.FORMS, *cli_i18n.CLICK_FORMS}
    assert len(wanted) > 80
    with (i18n.LOCALE_DIR / "zh.po").open("rb") as f:  # a msgstr may equal its msgid
        translated = {m.id for m in read_po(f) if m.string}
    assert sorted(m for m in wanted if m not in translated and m.strip()) == []


def test_what_the_services_say_is_said_in_chinese() -> None:
    """A service's English message by the web's catalogue or one of the command line's own
    forms (cli_i18n.sentence), in a Chinese process."""
    said = {
        "only 3 days of headroom beyond the retention floors": (
            "超出最短保存期限所需空间的余量仅够 3 天"
        ),
        "no account 'nobody'": "没有编号为 'nobody' 的账户",
        "root is the last enabled system administrator and cannot be demoted; make another "
        "account system administrator first": (
            "root 是最后一个启用的系统管理员，不能降为其他角色；请先将另一账户设为系统管理员"
        ),
        "something nobody words": "something nobody words",
    }
    script = (
        "import json, sys\n"
        "from custodes.entrypoints.cli_i18n import sentence\n"
        "print(json.dumps({t: sentence(t) for t in json.loads(sys.argv[1])}))\n"
    )
    environ = {k: v for k, v in os.environ.items() if k not in _LOCALE}
    res = subprocess.run(
        [sys.executable, "-c", script, json.dumps(list(said))],
        capture_output=True,
        text=True,
        env={**environ, i18n.CLI_LANG_ENV: "zh"},
        check=True,
    )
    assert json.loads(res.stdout) == said


@pytest.mark.parametrize(
    ("environ", "lang"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_TW.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8", "LANGUAGE": "zh_CN:en"}, "zh"),
        ({"LANG": "C", "LANGUAGE": "zh_CN"}, "en"),  # gettext ignores LANGUAGE under C
        ({"LANG": "zh_CN.UTF-8", "CUSTODES_LANG": "en"}, "en"),
        ({"LANG": "C.UTF-8", "CUSTODES_LANG": "zh"}, "zh"),
        ({"CUSTODES_LANG": "fr"}, "en"),
        ({}, "en"),
    ],
)
def test_language_of_the_command_line(environ: dict[str, str], lang: str) -> None:
    assert i18n.cli_lang(environ, "utf-8") == lang


def test_chinese_only_where_the_output_can_carry_it() -> None:
    """LANG=en_US.ISO-8859-1 LANGUAGE=zh_CN chose Chinese for a Latin-1 terminal, and every
    line it printed was a UnicodeEncodeError; a real process shows the English instead."""
    latin = {"LANG": "en_US.ISO-8859-1", "LANGUAGE": "zh_CN"}
    assert i18n.cli_lang(latin, "iso-8859-1") == "en"
    assert i18n.cli_lang(latin, "utf-8") == "zh"
    assert i18n.cli_lang({"CUSTODES_LANG": "zh"}, "ascii") == "en"
    res = run("en_US.ISO-8859-1", "--help", LANGUAGE="zh_CN", PYTHONIOENCODING="iso-8859-1")
    assert res.returncode == 0, res.stderr
    assert "Usage" in res.stdout


def test_errors_status_and_tables_in_chinese_json_the_same(ctx: Context) -> None:
    camera_service.add_camera(
        ctx, CameraSpec(name="Gate 1", url="rtsp://u:p@10.0.0.1/main", place="school-gate")
    )
    data = ["--data", str(ctx.data.root)]
    said = {}
    for lang in (ZH, C):
        said[lang] = {
            "missing": run(lang, "camera", "show", "Nope", *data),
            "bad time": run(lang, "verify", "--from", "yesterday", *data),
            "no account": run(lang, "account", "disable", "nobody", *data),
            "refused": run(lang, "account", "add", "bob", "--role", "nope", *data),
            "not initialised": run(lang, "status", "--data", str(ctx.data.root / "nothing")),
            "status": run(lang, "status", *data),
            "list": run(lang, "camera", "list", *data),
            "show": run(lang, "camera", "show", "Gate 1", *data),
            "last admin": run(lang, "account", "set-role", "admin", "auditor", *data),
            "ledger": run(lang, "ledger", "verify", *data),
            "tls": run(lang, "tls", "show", *data),
            "retention": run(lang, "retention", "show", *data),
            "accounts": run(lang, "account", "list", *data),
            "status json": run(lang, "status", "--json", *data),
            "list json": run(lang, "camera", "list", "--json", *data),
        }
    zh, en = said[ZH], said[C]
    for key in ("missing", "bad time", "no account", "refused", "not initialised", "last admin"):
        assert zh[key].returncode == en[key].returncode == 2
        assert zh[key].stderr.startswith("错误：") and en[key].stderr.startswith("error: ")
        assert english_words(zh[key].stderr) == [], key
    assert "没有摄像机 'Nope'" in zh["missing"].stderr
    assert "no camera 'Nope'" in en["missing"].stderr
    assert "不是 ISO 8601 格式的时间" in zh["bad time"].stderr
    assert "不是 Custodes 数据目录" in zh["not initialised"].stderr
    assert "录像服务：未运行" in zh["status"].stdout and "24 小时内中断" in zh["status"].stdout
    assert "recorder: not running" in en["status"].stdout
    assert "主码流地址" in zh["list"].stdout and "登录凭据" in zh["list"].stdout
    assert "credentials" in en["list"].stdout
    assert "尚无录像" in zh["show"].stdout and "nothing recorded yet" in en["show"].stdout
    assert "最后一个启用的系统管理员" in zh["last admin"].stderr
    assert "日志台账完好" in zh["ledger"].stdout and "ledger intact" in en["ledger"].stdout
    assert "法定最短期限" in zh["retention"].stdout and "系统管理员" in zh["accounts"].stdout
    for key in ("status", "list", "show", "ledger", "tls", "retention", "accounts"):
        assert zh[key].returncode == 0, zh[key].stderr
        assert english_words(zh[key].stdout + zh[key].stderr) == [], key
        if key != "accounts":  # the operating unit is named "本单位 Operating unit"
            assert not has_chinese(en[key].stdout + en[key].stderr), key
    assert zh["list json"].stdout == en["list json"].stdout  # byte for byte
    # the status's too, but for the disk's free bytes, which others' writes move meanwhile
    free = re.compile(r'"free_bytes": \d+')
    assert free.sub("", zh["status json"].stdout) == free.sub("", en["status json"].stdout)
    assert json.loads(zh["status json"].stdout)["cameras"][0]["state"] == "idle"

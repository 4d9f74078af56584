"""The command line's language, chosen once per process before the Typer app is built.

The locale decides (web/i18n.py `cli_lang`: `CUSTODES_LANG`, then LANGUAGE, LC_ALL,
LC_MESSAGES, LANG); the catalogues are the web's (one source of truth, English msgids).
Help texts are read when the app is built, so `translate_app` rewrites every command's,
group's and option's help in place, once, after the commands are registered; Click's and
Typer's own words ("Usage:", "Options") are said through the same catalogue. Machine output
(`--json`, CSV) never passes through here.
"""

from __future__ import annotations

import importlib
import inspect
import re
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import typer
from typer.models import ParameterInfo

from custodes.entrypoints.web import i18n, invalid, wording

LANG = i18n.cli_lang()
_tr = i18n.translations(LANG)


def _(msgid: str) -> str:
    """`msgid` in the command line's language."""
    return _tr.gettext(msgid)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _tr.ngettext(singular, plural, n)


# What the services say that no web page words, by form (msgids, locale/*.po): the command
# line's own occasions (the last administrator refused here, the retention plan).
FORMS = (
    "%(name)s is the last enabled system administrator and cannot be demoted; make another "
    "account system administrator first",
    "%(name)s is the last enabled system administrator and cannot be disabled; make another "
    "account system administrator first",
    "the volume holds every camera's retention",  # services/capacity.py, `retention plan`
    "only %(days)s days of headroom beyond the retention floors",
    "the volume cannot hold the retention floors: %(short)s GB short; recording stops in about "
    "%(days)s days",
)


def sentence(text: str) -> str:
    """A service's English message in the command line's language, worded as the web words it
    (web/invalid.py `sentence`: the catalogue's, or a known form filled in), or by one of the
    FORMS; else as it is."""
    said = invalid.sentence(text, LANG)
    if said != text or LANG == "en":
        return said
    return _by_form(text, FORMS)


def _by_form(text: str, forms: tuple[str, ...]) -> str:
    """`text` said in the command line's language by the first of `forms` it fits; else as
    it is."""
    for form in forms:
        pattern = re.sub(r"%\\\((\w+)\\\)s", r"(?P<\1>.+?)", re.escape(form))
        found = re.fullmatch(pattern, text, re.DOTALL)
        if found:
            return _(form) % found.groupdict()
    return text


def lead(word: str) -> str:
    """A leading word ("error:", "警告：") and the space after it: none after a full-width
    colon, which has its own."""
    return word if word.endswith("：") else f"{word} "


def say(msgid: str, params: Mapping[str, object]) -> str:
    """A service's msgid and its parameters (AccountError, Refusal) as the web says them."""
    return wording.say(msgid, params, LANG)


def label(labels: Mapping[str, str], code: str) -> str:
    """A code of the rules (a role, an organisation's kind) by its label; English keeps the
    code, the word a script and `--role` use."""
    if LANG == "en" or code not in labels:
        return code
    return _(labels[code])


def help_msgid(text: str) -> str:
    """A help text's msgid: its lines joined (a docstring wraps where its source does)."""
    return " ".join(inspect.cleandoc(text).split())


def _help(text: str | None) -> str | None:
    """A help text in the command line's language; untranslated, the text as it was."""
    if not text:
        return text
    msgid = help_msgid(text)
    translated = _tr.gettext(msgid)
    return text if translated == msgid else translated


def _parameters(callback: Callable[..., Any]) -> Iterator[ParameterInfo]:
    """The options and arguments of a command. Its annotations are strings (`from __future__
    import annotations`), evaluated anew by each reader into new `typer.Option`s: they are
    evaluated once here and kept, so that the help translated is the help Typer reads."""
    hints = typing.get_type_hints(callback, include_extras=True)
    callback.__annotations__ = hints
    for name in inspect.signature(callback).parameters:
        for meta in getattr(hints.get(name), "__metadata__", ()):
            if isinstance(meta, ParameterInfo):
                yield meta


def help_holders(group: typer.Typer) -> Iterator[Any]:
    """Whatever holds a help text in `group`: itself, its commands (a command without help
    gets its docstring's), their options and arguments, its groups, theirs."""
    yield group.info
    for command in group.registered_commands:
        if command.callback is None:
            continue
        if command.help is None:
            command.help = inspect.getdoc(command.callback)
        yield command
        yield from _parameters(command.callback)
    for sub in group.registered_groups:
        yield sub
        if sub.typer_instance is not None:
            yield from help_holders(sub.typer_instance)


def translate_app(app: typer.Typer) -> None:
    """Every help text of `app` and its groups in the command line's language (in place;
    an option shared by many commands is one object, translated once)."""
    if LANG == "en":
        return
    seen: set[int] = set()
    for holder in help_holders(app):
        if id(holder) not in seen:
            seen.add(id(holder))
            holder.help = _help(holder.help)
    _speak_for_click()


# Typer's modules bind gettext's `_` at import; theirs becomes ours. The Click it carries
# (typer._click) has no gettext: its two words a person reads are said here.
_FRAMEWORK = ("typer.core", "typer.rich_utils")
_RICH_CONSTANTS = (
    "DEPRECATED_STRING",
    "DEFAULT_STRING",
    "ENVVAR_STRING",
    "REQUIRED_LONG_STRING",
    "ARGUMENTS_PANEL_TITLE",
    "OPTIONS_PANEL_TITLE",
    "COMMANDS_PANEL_TITLE",
    "ERRORS_PANEL_TITLE",
    "ABORTED_TEXT",
    "RICH_HELP",
)
HELP_OPTION = "Show this message and exit."  # msgids (locale/*.po)
USAGE = "Usage:"


def _speak_for_click() -> None:
    import importlib

    for name in _FRAMEWORK:
        module = importlib.import_module(name)
        if hasattr(module, "_"):
            module._ = _  # type: ignore[attr-defined]
    rich_utils = importlib.import_module("typer.rich_utils")
    for constant in _RICH_CONSTANTS:
        setattr(rich_utils, constant, _(getattr(rich_utils, constant)))
    _translate_completion_options()
    _translate_click()


def _translate_completion_options() -> None:
    completion = importlib.import_module("typer.completion")
    for placeholder in (
        completion._install_completion_placeholder_function,
        completion._install_completion_no_auto_placeholder_function,
    ):
        for parameter in inspect.signature(placeholder).parameters.values():
            if isinstance(parameter.default, ParameterInfo):
                parameter.default.help = _help(parameter.default.help)


def _translate_click() -> None:
    from typer._click import core, exceptions, formatting

    get_help_option = core.Command.get_help_option

    def translated_help_option(self: core.Command, ctx: core.Context) -> Any:
        option = get_help_option(self, ctx)
        if option is not None and option.help == HELP_OPTION:
            option.help = _(HELP_OPTION)
        return option

    write_usage = formatting.HelpFormatter.write_usage

    def translated_usage(
        self: formatting.HelpFormatter, prog: str, args: str = "", prefix: str | None = None
    ) -> None:
        write_usage(self, prog, args, f"{_(USAGE)} " if prefix is None else prefix)

    core.Command.get_help_option = translated_help_option  # type: ignore[method-assign]
    formatting.HelpFormatter.write_usage = translated_usage  # type: ignore[method-assign]
    for error in (exceptions.BadParameter, exceptions.MissingParameter, exceptions.NoSuchOption):
        error.format_message = _said_by_form(error.format_message)  # type: ignore[method-assign,assignment]
    core.Context.fail = _fail_by_form(core.Context.fail)  # type: ignore[method-assign,assignment]


# What the Click inside Typer says of a command line it refuses, by form (msgids).
CLICK_FORMS = (
    "Missing option %(name)s.",
    "Missing argument %(name)s.",
    "No such option: %(name)s (Possible options: %(options)s)",  # before the shorter form
    "No such option: %(name)s",
    "Invalid value for %(name)s: %(message)s",
    "Got unexpected extra argument(s) (%(args)s)",
)


def _said_by_form(format_message: Callable[[Any], str]) -> Callable[[Any], str]:
    def said(self: Any) -> str:
        return _by_form(format_message(self), CLICK_FORMS)

    return said


def _fail_by_form(fail: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    def failed(self: Any, message: str) -> Any:
        return fail(self, _by_form(message, CLICK_FORMS))

    return failed

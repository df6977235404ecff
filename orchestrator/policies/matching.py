"""The two pattern syntaxes of policies, validated at load time and compiled for the engine.

Text matches (labels, option names, page texts) are written for people: a plain string matches as a
case-insensitive substring, and only a string written `/.../` (flag `i` allowed) is a regular
expression. URL patterns are always regular expressions over the page's path, anchored with `^`, so
one pattern works on the real site and on the replica mounted under a prefix.
"""

from __future__ import annotations

import re

_REGEX_FORM = re.compile(r"^/(?P<body>.+)/(?P<flags>[a-z]*)$", re.DOTALL)
_ALLOWED_FLAGS = {"i": re.IGNORECASE}


def is_regex_form(text: str) -> bool:
    """Whether `text` is written `/.../flags`, i.e. meant as a regular expression."""
    return _REGEX_FORM.match(text) is not None


def compile_text_match(text: str) -> re.Pattern[str]:
    """The pattern a text match stands for; raises ValueError when it is not a valid one."""
    if not text.strip():
        raise ValueError("a text to match must not be empty")
    written = _REGEX_FORM.match(text)
    if written is None:
        return re.compile(re.escape(text), re.IGNORECASE)
    flags = 0
    for letter in written["flags"]:
        if letter not in _ALLOWED_FLAGS:
            raise ValueError(f"unsupported regex flag {letter!r} in {text!r} (only 'i')")
        flags |= _ALLOWED_FLAGS[letter]
    return _compile(written["body"], flags, text)


def check_text_match(text: str) -> str:
    """Validator: a plain label or a `/regex/` that compiles."""
    compile_text_match(text)
    return text


def check_regex_text_match(text: str) -> str:
    """Validator: a text match that must be a `/regex/`, because a fixed string captures nothing."""
    if not is_regex_form(text):
        raise ValueError(f"{text!r} must be a regular expression written /.../")
    compile_text_match(text)
    return text


def check_path_pattern(pattern: str) -> str:
    """Validator: a regex over the URL path, anchored at the start so it cannot match mid-path."""
    if not pattern.startswith("^/"):
        raise ValueError(f"path pattern {pattern!r} must start with '^/' (it matches the URL path)")
    _compile(pattern, 0, pattern)
    return pattern


def check_full_path_pattern(pattern: str) -> str:
    """Validator: a path pattern anchored at both ends, so it asserts one page and no other."""
    check_path_pattern(pattern)
    if not pattern.endswith("$"):
        raise ValueError(f"path pattern {pattern!r} must end with '$' (it asserts the whole path)")
    return pattern


def _compile(body: str, flags: int, written: str) -> re.Pattern[str]:
    try:
        return re.compile(body, flags)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {written!r}: {exc}") from exc

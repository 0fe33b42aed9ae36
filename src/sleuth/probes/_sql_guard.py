"""The guard a SQL statement passes before it is sent: is it one read?

sqlglot's tokenizer for the server's dialect reads the text (strings, quoted
names, dollar quoting, nested comments and MySQL's ``#`` and ``-- `` as each
server does; sqlparse, measured, reads ``#`` as a comment in PostgreSQL,
``--x`` as one in MySQL and ``'\\'`` with a backslash escape in both). The
statement passes when, token by token, comments set aside as the server sets
them aside:

- the text is one statement (a trailing ``;`` is allowed);
- its first word, past opening brackets, is a read (SELECT, WITH, SHOW...);
- nothing inside writes or locks: no INSERT, UPDATE, DELETE or MERGE (a
  data-modifying WITH, EXPLAIN ANALYZE of a write), no INTO, no FOR UPDATE /
  FOR SHARE / LOCK IN SHARE MODE, no NEXT VALUE FOR;
- it names no function the kind lists as acting outside the transaction
  (on other sessions, the server, its files), quoted or schema-qualified;
- every character is either in a token or in whitespace and comments the
  server reads the same way: MySQL's executable comments (``/*! */``,
  ``/*M! */``) and optimizer hints (``/*+ */``), text sqlglot skips that the
  server would not (its ``{# #}``), a U&"..." name, and in MySQL a backslash
  before a quote (its meaning depends on the server's sql_mode) are refused.

This is a tripwire with clear messages, not the wall: each kind also sends one
statement per call and keeps the session read-only on the server, and the
probe's role should hold no write grants (docs/probes.md says what each stops).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from sleuth.errors import WriteRefused
from sleuth.probes._dependency import load

if TYPE_CHECKING:
    from sleuth.engine import Engine

# Words that write or change data wherever they stand in a statement; one
# followed by "(" is MySQL's INSERT() string function, not the statement.
_WRITES_INSIDE = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE"})
# (word, next word): a locking read, or a sequence advanced.
_PAIRS = {
    ("FOR", "UPDATE"): "a locking read holds row locks that block the "
    "application's writes",
    ("FOR", "SHARE"): "a locking read holds row locks that block the "
    "application's writes",
    ("FOR", "KEY"): "a locking read holds row locks that block the "
    "application's writes",
    ("FOR", "NO"): "a locking read holds row locks that block the application's writes",
    ("LOCK", "IN"): "a locking read holds row locks that block the "
    "application's writes",
    ("NEXT", "VALUE"): "it advances a sequence",
}
_STRING_TYPES = frozenset(
    {
        "STRING",
        "BIT_STRING",
        "BYTE_STRING",
        "HEX_STRING",
        "HEREDOC_STRING",
        "NATIONAL_STRING",
        "NATIONAL_RAW_STRING",
        "RAW_STRING",
        "UNICODE_STRING",
    }
)
_NAME_TYPES = frozenset({"VAR", "IDENTIFIER"})
# What the servers' lexers take as whitespace; any other character between
# tokens (a no-break space...) is text the guard cannot place.
_WHITESPACE = " \t\n\r\f\v"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReadRules:
    """What a read is for one kind of server, and how its lexer reads text."""

    dialect: str  # sqlglot's name for the server's SQL: "postgres", "mysql"
    reads: frozenset[str]  # words a read-only statement starts with
    # Names (lowercase, whole) of functions that act outside the transaction.
    acting_functions: re.Pattern[str]
    nested_comments: bool = False  # PostgreSQL: /* /* */ */ is one comment
    hash_comments: bool = False  # MySQL: "#" starts a comment
    dash_comment_needs_space: bool = False  # MySQL: "-- " is one, "--x" is not
    # MySQL runs /*! ... */ and /*M! ... */, and obeys /*+ ... */ hints.
    executable_comments: bool = False
    # MySQL reads \' in a string as a quote unless sql_mode has
    # NO_BACKSLASH_ESCAPES: the guard cannot know which, so refuses \' and \".
    backslash_escapes: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Statement:
    """One statement the guard let through."""

    keyword: str  # its first word, upper case: "SELECT", "WITH"...


class SqlGuard:
    """Reads statements for one kind of server; ``for_run`` shares one a run."""

    def __init__(self, rules: ReadRules, *, kind: str) -> None:
        self._rules = rules
        self._tokenizer = _tokenizer(rules, kind=kind)

    @classmethod
    def for_run(cls, engine: Engine, rules: ReadRules, *, kind: str) -> SqlGuard:
        """The run's guard for ``rules`` (call on the loop thread).

        sqlglot loads on first use (0.2 to 0.4 s here, once a run) and its
        tokenizer class is built once (about 1 ms); reading a statement then
        takes 0.1 to 0.2 ms for a one-line query, under 2 ms for a page of SQL.
        """
        return engine.resource(("sql-guard", rules), lambda: cls(rules, kind=kind))

    def first_keyword(self, sql: str) -> str:
        """``DELETE`` for ``"/* x */ (delete from t)"``; ``""`` when unreadable."""
        try:
            tokens = self._tokenizer.tokenize(sql)
        except Exception:  # sqlglot's TokenError, or worse: no keyword to name
            return ""
        return _first_word(tokens)

    def refuse_unless_read(self, sql: str, *, kind: str, display: str) -> Statement:
        """The statement, or WriteRefused saying what was refused and why.

        Nothing is sent either way: this runs before the session opens.
        """
        __tracebackhide__ = True
        keyword, problem = self._read(sql, kind=kind)
        if problem is None:
            return Statement(keyword=keyword)
        said, why = problem
        raise WriteRefused(
            f"{kind} {display}: {said} refused: {why}. Nothing was sent.",
            method=keyword or "?",
            url=display,
        )

    def _read(self, sql: str, *, kind: str) -> tuple[str, tuple[str, str] | None]:
        """The first keyword, and ``(what was refused, why)`` or None for a read."""
        rules = self._rules
        try:
            tokens = self._tokenizer.tokenize(sql)
        except Exception as exc:  # sqlglot's TokenError: an unterminated string...
            return "", (
                "a statement the guard cannot read",
                f"sqlglot's {rules.dialect} tokenizer stopped (an unterminated "
                f"string, quoted name or comment?): {' '.join(str(exc).split())}",
            )
        keyword = _first_word(tokens)
        unplaced = _unplaced_text(sql, tokens, rules)
        if unplaced is not None:
            return keyword, unplaced
        statements = _split(tokens)
        if not statements:
            return "", ("an empty statement", "there is nothing to run")
        if len(statements) > 1:
            words = ", ".join(_first_word(s) or "?" for s in statements)
            return keyword, (
                f"a text of {len(statements)} statements ({words})",
                f"the {kind} helper sends one statement per call, so that nothing "
                f"can end or widen its read-only transaction",
            )
        if keyword not in rules.reads:
            said = (
                f"{_article(keyword)} {keyword} statement"
                if keyword
                else "a statement with no keyword"
            )
            return keyword, (
                said,
                f"the {kind} helper only reads, and a statement must start with "
                f"one of {', '.join(sorted(rules.reads))}",
            )
        return keyword, _inside(sql, statements[0], rules)


def _tokenizer(rules: ReadRules, *, kind: str) -> Any:
    """sqlglot's tokenizer for the dialect, reading every word as a token.

    sqlglot folds the rest of some statements (EXPLAIN's, SHOW's) into one
    string token; with no such "commands" every word stays visible.
    """
    load(f"sqlglot.dialects.{rules.dialect}", kind=kind, package="sqlglot", extra=kind)
    dialects = load(
        "sqlglot.dialects.dialect", kind=kind, package="sqlglot", extra=kind
    )
    dialect = dialects.Dialect.get_or_raise(rules.dialect)
    every_word = type(
        "EveryWordTokenizer", (dialect.tokenizer_class,), {"COMMANDS": set()}
    )
    return every_word(dialect=dialect)


def _split(tokens: list[Any]) -> list[list[Any]]:
    """The statements: runs of tokens between semicolons, empty ones dropped."""
    statements: list[list[Any]] = [[]]
    for token in tokens:
        if token.token_type.name == "SEMICOLON":
            statements.append([])
        else:
            statements[-1].append(token)
    return [s for s in statements if s]


def _article(word: str) -> str:
    return "an" if word[:1] in "AEIOU" else "a"


def _first_word(tokens: list[Any]) -> str:
    for token in tokens:
        if token.token_type.name != "L_PAREN":
            return str(token.text).upper() if _is_word(token) else ""
    return ""


def _is_word(token: Any) -> bool:
    """A keyword or an unquoted name, not a string, number or quoted name."""
    name = token.token_type.name
    return name not in _STRING_TYPES and name != "IDENTIFIER" and name != "NUMBER"


def _inside(sql: str, tokens: list[Any], rules: ReadRules) -> tuple[str, str] | None:
    """What in a read's tokens writes, locks or acts: ``(said, why)``."""
    for i, token in enumerate(tokens):
        kind = token.token_type.name
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        word = str(token.text).upper() if _is_word(token) else ""
        if kind == "HINT":  # sqlglot's MySQL reads /*+ ... */ as a token
            return (
                "a statement with an optimizer hint (/*+ ... */)",
                "a hint can lift the session's limits for the statement "
                "(MAX_EXECUTION_TIME, SET_VAR)",
            )
        if word in _WRITES_INSIDE and not (
            following is not None and following.token_type.name == "L_PAREN"
        ):
            return (
                f"a statement with {word} inside",
                "a read may not contain INSERT, UPDATE, DELETE or MERGE (a "
                "data-modifying WITH, EXPLAIN ANALYZE of a write)",
            )
        if word == "INTO":
            return (
                "a statement with INTO",
                "SELECT ... INTO creates a table, or writes a file or a variable",
            )
        if following is not None and _is_word(following):
            pair = (word, str(following.text).upper())
            if pair in _PAIRS:
                return f"a statement with {' '.join(pair)}", _PAIRS[pair]
        if kind == "VAR" and word == "U" and _escaped_name(token, tokens[i + 1 :]):
            return (
                'a statement with a U&"..." name',
                "the guard does not decode escaped names, so it cannot tell "
                "which function the statement calls",
            )
        if kind in _NAME_TYPES:
            name = str(token.text).lower()
            if rules.acting_functions.fullmatch(name):
                return (
                    f"a statement calling {name}",
                    "it acts beyond a read (on other sessions, the server, its "
                    "files, sequences or settings), which a read-only session may "
                    "not stop",
                )
        if (
            rules.backslash_escapes
            and kind in _STRING_TYPES
            and _ends_early_without_escapes(sql[token.start : token.end + 1])
        ):
            return (
                "a statement with a backslash before a quote in a string",
                "whether it escapes the quote depends on the server's sql_mode "
                "(NO_BACKSLASH_ESCAPES), so the guard cannot tell where the "
                "string ends; write a quote inside a string as ''",
            )
    return None


def _escaped_name(token: Any, rest: list[Any]) -> bool:
    """``U&"..."``: U, then & and a quoted name, written without spaces."""
    if len(rest) < 2 or rest[0].token_type.name != "AMP":
        return False
    amp, name = rest[0], rest[1]
    return bool(
        amp.start == token.end + 1
        and name.start == amp.end + 1
        and name.token_type.name in _NAME_TYPES | _STRING_TYPES
    )


def _ends_early_without_escapes(raw: str) -> bool:
    """True when a quoted token, read without backslash escapes, ends sooner."""
    quote = raw[-1:] if raw[-1:] in ("'", '"') else ""
    if not quote:
        return False
    body = raw[raw.index(quote) + 1 : -1]
    return quote in body.replace(quote * 2, "")


def _unplaced_text(
    sql: str, tokens: list[Any], rules: ReadRules
) -> tuple[str, str] | None:
    """Text between tokens that is not whitespace or a comment the server skips."""
    position = 0
    for token in [*tokens, None]:
        end = len(sql) if token is None else token.start
        problem = _gap_problem(sql[position:end], rules)
        if problem is not None:
            return problem
        if token is not None:
            position = token.end + 1
    return None


def _gap_problem(gap: str, rules: ReadRules) -> tuple[str, str] | None:
    i = 0
    while i < len(gap):
        if gap[i] in _WHITESPACE:
            i += 1
        elif _line_comment_at(gap, i, rules):
            newline = gap.find("\n", i)
            i = len(gap) if newline < 0 else newline + 1
        elif gap.startswith("/*", i):
            opener = _executable_opener(gap, i) if rules.executable_comments else ""
            if opener:
                return (
                    f"a statement with an executable comment ({opener} ... */)",
                    "MySQL runs or obeys what is inside it, so the statement is "
                    "not what it looks like",
                )
            end = _comment_end(gap, i, nested=rules.nested_comments)
            if end < 0:
                return "a statement with an unterminated comment", "it never ends"
            i = end
        else:
            return (
                f"a statement with text the guard cannot place ({gap[i : i + 12]!r})",
                "the server may read it differently than the guard does",
            )
    return None


def _executable_opener(gap: str, i: int) -> str:
    return next((o for o in ("/*!", "/*M!", "/*+") if gap.startswith(o, i)), "")


def _line_comment_at(gap: str, i: int, rules: ReadRules) -> bool:
    if rules.hash_comments and gap.startswith("#", i):
        return True
    if not gap.startswith("--", i):
        return False
    after = gap[i + 2 : i + 3]
    # MySQL: the second dash must be followed by whitespace or a control character.
    return not rules.dash_comment_needs_space or not after or ord(after) <= 32


def _comment_end(gap: str, start: int, *, nested: bool) -> int:
    """The index just past the comment opened at ``start``; -1 if it never ends."""
    depth, i = 0, start
    while i < len(gap) - 1:
        pair = gap[i : i + 2]
        if pair == "/*" and (nested or depth == 0):
            depth, i = depth + 1, i + 2
        elif pair == "*/":
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return -1

"""The rules for Python probe modules, read from their syntax tree alone.

Nothing here imports a probe module: ``ast.parse`` reads it as text, so a suite
whose imports would fail, or would reach production, is linted all the same.
What a call does is judged by how it is written: ``target.http.post(...)``,
``requests.delete(...)``, ``session.put(...)`` on a ``requests.Session()``,
``api.call("POST", ...)`` with the method written out.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import tokenize
from collections.abc import Iterator

from sleuth.lint.findings import Finding
from sleuth.lint.hosts import host_of
from sleuth.lint.params import call_name, dotted, param_values
from sleuth.lint.secrets import ADVICE, secrets_in
from sleuth.lint.timeouts import TimeoutLimits
from sleuth.redact import is_weak, looks_secret
from sleuth.suite.writes import compile_patterns

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HTTP_LIBRARIES = frozenset({"requests", "httpx", "aiohttp"})
CLIENT_FACTORIES = frozenset({"Session", "Client", "AsyncClient", "ClientSession"})
# Calls whose first argument (or url=) is the address they reach.
URL_CALLS = frozenset(
    {"get", "head", "options", "post", "put", "patch", "delete", "request"}
    | {"call", "fetch", "urlopen", "Request", "stream", "ws_connect"}
)
# Calls that check something, by the name their authors gave them.
_CHECK_PREFIXES = ("assert", "check", "expect", "verify")
_CHECK_CALLS = frozenset({"raise_for_status", "fail", "raises"})
_SETTING_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ModuleContext:
    """What the rules need to know of the suite around one module."""

    display: str  # the file as shown in findings
    nodeid_prefix: str  # the module's path relative to the suite's root
    writes_patterns: tuple[str, ...]
    hosts: frozenset[str]
    limits: TimeoutLimits


def check_module(tree: ast.Module, context: ModuleContext) -> list[Finding]:
    """Every finding in one probe module, parsed."""
    return list(_Module(tree, context).findings())


def python_secrets(tree: ast.Module, text: str, display: str) -> Iterator[Finding]:
    """Secrets written in a Python file's strings and comments (names are code)."""
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            for rule, what in secrets_in(token.string):
                yield Finding(
                    file=display,
                    line=token.start[0],
                    rule=rule,
                    message=f"{what}: {ADVICE}",
                )
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for offset, text in enumerate(node.value.splitlines() or [""]):
                for rule, what in secrets_in(text):
                    yield Finding(
                        file=display,
                        line=node.lineno + offset,
                        rule=rule,
                        message=f"{what}: {ADVICE}",
                    )


def _is_check_true(keyword: ast.keyword) -> bool:
    """``check=True``, as subprocess.run takes it: fail unless it went well."""
    value = keyword.value
    return (
        keyword.arg == "check"
        and isinstance(value, ast.Constant)
        and value.value is True
    )


def _is_writes_mark(node: ast.expr) -> bool:
    if isinstance(node, ast.Call):
        node = node.func
    name = dotted(node) or ""
    return name.endswith("mark.writes")


class _Module:
    def __init__(self, tree: ast.Module, context: ModuleContext) -> None:
        self.tree = tree
        self.context = context
        self.libraries: dict[str, str] = {}  # local name -> requests/httpx/aiohttp[.x]
        self.clients: set[str] = set()  # names bound to a Session() or Client()
        self.module_writes = False
        self._read_module()
        self.checkers = self._checking_functions()

    # -- the module's names ---------------------------------------------------

    def _read_module(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    root = alias.name.partition(".")[0]
                    if root in HTTP_LIBRARIES:
                        # import aiohttp.web binds aiohttp; ... as web binds the rest
                        self.libraries[alias.asname or root] = (
                            alias.name if alias.asname else root
                        )
            elif isinstance(node, ast.ImportFrom) and node.module:
                if node.module.partition(".")[0] in HTTP_LIBRARIES:
                    for alias in node.names:
                        self.libraries[alias.asname or alias.name] = (
                            f"{node.module}.{alias.name}"
                        )
            elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value:
                targets = (
                    node.targets if isinstance(node, ast.Assign) else [node.target]
                )
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                if self._is_client(node.value):
                    self.clients.update(names)
                if "pytestmark" in names:
                    values = (
                        node.value.elts
                        if isinstance(node.value, ast.List | ast.Tuple)
                        else [node.value]
                    )
                    self.module_writes |= any(_is_writes_mark(v) for v in values)
            elif isinstance(node, ast.With | ast.AsyncWith):
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name) and self._is_client(
                        item.context_expr
                    ):
                        self.clients.add(item.optional_vars.id)

    def _library_of(self, node: ast.expr) -> str | None:
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head not in self.libraries:
            return None
        return f"{self.libraries[head]}.{rest}" if rest else self.libraries[head]

    def _is_client(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Await):
            node = node.value
        if not isinstance(node, ast.Call):
            return False
        library = self._library_of(node.func)
        return library is not None and library.rpartition(".")[2] in CLIENT_FACTORIES

    def _checking_functions(self) -> set[str]:
        """Module-level helpers that check something, directly or through another."""
        helpers = {
            node.name: node
            for node in self.tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        checkers: set[str] = set()
        changed = True
        while changed:
            changed = False
            for name, node in helpers.items():
                if name not in checkers and self._checks(node, checkers):
                    checkers.add(name)
                    changed = True
        return checkers

    # -- the rules ----------------------------------------------------------------

    def findings(self) -> Iterator[Finding]:
        for test, classes in self._tests():
            yield from self._test_findings(test, classes)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                yield from self._timeout_findings(node)
                yield from self._host_findings(node)

    def _tests(
        self,
    ) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef, list[ast.ClassDef]]]:
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.name.startswith("test"):
                    yield node, []
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                for item in node.body:
                    if isinstance(
                        item, ast.FunctionDef | ast.AsyncFunctionDef
                    ) and item.name.startswith("test"):
                        yield item, [node]

    def _finding(self, node: ast.AST, rule: str, message: str) -> Finding:
        return Finding(
            file=self.context.display,
            line=getattr(node, "lineno", 1),
            rule=rule,
            message=message,
        )

    def _test_findings(
        self, test: ast.FunctionDef | ast.AsyncFunctionDef, classes: list[ast.ClassDef]
    ) -> Iterator[Finding]:
        if not self._checks(test, self.checkers):
            yield self._finding(
                test,
                "asserts-nothing",
                f"{test.name} asserts nothing: it passes whatever the target "
                f"answers. Add an assert, or a check such as target.check_setting()",
            )
        if not self._marked_writes(test, classes):
            # Write methods among the parametrize values: api.call(method, ...).
            methods = {
                value.name: value.node.value.upper()
                for value in param_values(test)
                if isinstance(value.node, ast.Constant)
                and isinstance(value.node.value, str)
                and value.node.value.upper() in WRITE_METHODS
            }
            for call in ast.walk(test):
                if isinstance(call, ast.Call):
                    method = self._write_method(call, methods)
                    if method is not None:
                        yield self._finding(
                            call,
                            "write-without-mark",
                            f"{method} in {test.name}, which is not marked "
                            f"@pytest.mark.writes: mark it (it then runs only with "
                            f"--allow-writes), or list it under writes: in sleuth.yaml",
                        )
        yield from self._parametrize_findings(test)

    def _checks(self, function: ast.AST, checkers: set[str]) -> bool:
        for node in ast.walk(function):
            if isinstance(node, ast.Assert | ast.Raise):
                return True
            if isinstance(node, ast.Call):
                name = call_name(node) or ""
                if (
                    name.startswith(_CHECK_PREFIXES)
                    or name in _CHECK_CALLS
                    or (isinstance(node.func, ast.Name) and name in checkers)
                    or any(_is_check_true(k) for k in node.keywords)
                ):
                    return True
        return False

    def _marked_writes(
        self, test: ast.FunctionDef | ast.AsyncFunctionDef, classes: list[ast.ClassDef]
    ) -> bool:
        if self.module_writes or any(
            _is_writes_mark(mark)
            for owner in (test, *classes)
            for mark in owner.decorator_list
        ):
            return True
        nodeid = "::".join(
            [self.context.nodeid_prefix, *(c.name for c in classes), test.name]
        )
        compiled = compile_patterns(self.context.writes_patterns)
        if compiled is None:
            return False
        # A pattern naming some of its parametrized cases counts: which cases
        # write is for the run to tell, with the node ids it alone knows.
        return bool(compiled.fullmatch(nodeid)) or any(
            pattern.startswith(f"{nodeid}[") for pattern in self.context.writes_patterns
        )

    def _write_method(self, call: ast.Call, methods: dict[str, str]) -> str | None:
        """``POST`` (etc.) when ``call`` sends a write, as far as its text says;
        ``methods``: the write methods among the test's parametrize values."""
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr.upper() in WRITE_METHODS:
            receiver = func.value
            name = dotted(receiver) or ""
            if (
                self._library_of(receiver) is not None
                or name.rpartition(".")[2] in {"http", "ahttp"}
                or (isinstance(receiver, ast.Name) and receiver.id in self.clients)
                or self._is_client(receiver)
            ):
                return func.attr.upper()
        if (
            isinstance(func, ast.Name)
            and func.id.upper() in WRITE_METHODS
            and func.id in self.libraries
        ):
            return func.id.upper()
        method = call.args[0] if call.args else None
        for keyword in call.keywords:
            if keyword.arg == "method":
                method = keyword.value
        if isinstance(method, ast.Name) and method.id in methods:
            return f"{methods[method.id]} (a parametrize value of {method.id!r})"
        if isinstance(method, ast.Constant) and isinstance(method.value, str):
            word = method.value
            if word in WRITE_METHODS or (
                word.upper() in WRITE_METHODS and call_name(call) == "request"
            ):
                return word.upper()
        return None

    def _parametrize_findings(
        self, test: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> Iterator[Finding]:
        for value in param_values(test):
            if value.in_test_id and self._carries_secret(value.name, value.node):
                yield self._finding(
                    value.node,
                    "secret-in-test-id",
                    f"the value of {value.name!r} in {test.name}'s parametrize would "
                    f"be part of its test id, in every report: give the case an "
                    f"id= (or ids=), or read the value from a setting",
                )

    @staticmethod
    def _carries_secret(name: str, value: ast.expr) -> bool:
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
            return False
        text = value.value
        if any(True for _ in secrets_in(text)):
            return True
        return (
            looks_secret(name)
            and not is_weak(text)
            and not _SETTING_NAME.match(text)  # a setting's name, not its value
            and not text.startswith(("${", "/"))
        )

    def _timeout_findings(self, call: ast.Call) -> Iterator[Finding]:
        for keyword in call.keywords:
            if keyword.arg != "timeout":
                continue
            value = keyword.value
            if isinstance(value, ast.Constant) and value.value is None:
                yield self._finding(
                    value,
                    "no-timeout",
                    "timeout=None lets this wait forever (only the probe's "
                    "deadline ends it): give a number of seconds",
                )
            elif isinstance(value, ast.Constant) and isinstance(
                value.value, int | float | str
            ):
                message = self.context.limits.over_budget(value.value)
                if message:
                    yield self._finding(value, "timeout-over-budget", message)

    def _host_findings(self, call: ast.Call) -> Iterator[Finding]:
        if call_name(call) not in URL_CALLS:
            return
        url = call.args[0] if call.args else None
        for keyword in call.keywords:
            if keyword.arg in ("url", "str_or_url"):
                url = keyword.value
        if isinstance(url, ast.JoinedStr) and url.values:
            url = url.values[0]  # f"https://host/{path}": the host is written out
        if not (isinstance(url, ast.Constant) and isinstance(url.value, str)):
            return
        host = host_of(url.value)
        if host is not None and host not in self.context.hosts:
            yield self._finding(url, "unknown-host", unknown_host_message(host))


def unknown_host_message(host: str) -> str:
    return (
        f"reaches {host}, which no target in the config names: probe it "
        f"through a target (base_url, services) so it gets its deadline, "
        f"evidence and masking, or name the host there"
    )

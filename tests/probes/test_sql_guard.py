"""The SQL guard's reading of statements, without a server.

What the servers do with these texts is in tests/integration/test_*_guard.py;
here, every refusal's message, and the texts each dialect reads differently.
"""

from __future__ import annotations

import pytest

from sleuth.errors import WriteRefused
from sleuth.probes._sql_guard import SqlGuard
from sleuth.probes.mysql import MysqlProbe
from sleuth.probes.postgres import PostgresProbe

PG = SqlGuard(PostgresProbe.read_rules, kind="postgres")
MY = SqlGuard(MysqlProbe.read_rules, kind="mysql")
GUARDS = {"postgres": PG, "mysql": MY}


def refusal(kind: str, sql: str) -> str:
    with pytest.raises(WriteRefused) as caught:
        GUARDS[kind].refuse_unless_read(sql, kind=kind, display="db")
    message = str(caught.value)
    assert message.startswith(f"{kind} db: ")
    assert message.endswith(" Nothing was sent.")
    return message[len(f"{kind} db: ") : -len(" Nothing was sent.")]


@pytest.mark.parametrize(
    ("kind", "sql", "said"),
    [
        ("postgres", "SELECT 1; COMMIT; BEGIN READ WRITE; DELETE FROM t",
         "a text of 4 statements (SELECT, COMMIT, BEGIN, DELETE) refused: the "
         "postgres helper sends one statement per call, so that nothing can end or "
         "widen its read-only transaction."),
        ("mysql", "SELECT 1 ;\n 'x'",
         "a text of 2 statements (SELECT, ?) refused: the mysql helper sends one "
         "statement per call, so that nothing can end or widen its read-only "
         "transaction."),
        ("mysql", "/**/ DELETE FROM t",
         "a DELETE statement refused: the mysql helper only reads, and a statement "
         "must start with one of DESC, DESCRIBE, EXPLAIN, SELECT, SHOW, TABLE, "
         "VALUES, WITH."),
        ("postgres", "(INSERT INTO t VALUES (1))",
         "an INSERT statement refused: the postgres helper only reads, and a "
         "statement must start with one of EXPLAIN, SELECT, SHOW, TABLE, VALUES, "
         "WITH."),
        ("postgres", "'a string'",
         "a statement with no keyword refused: the postgres helper only reads, and "
         "a statement must start with one of EXPLAIN, SELECT, SHOW, TABLE, VALUES, "
         "WITH."),
        ("postgres", " -- nothing\n;",
         "an empty statement refused: there is nothing to run."),
        ("postgres", "WITH d AS (DELETE FROM t RETURNING 1) SELECT 1",
         "a statement with DELETE inside refused: a read may not contain INSERT, "
         "UPDATE, DELETE or MERGE (a data-modifying WITH, EXPLAIN ANALYZE of a "
         "write)."),
        ("mysql", "SELECT * INTO OUTFILE '/tmp/x' FROM t",
         "a statement with INTO refused: SELECT ... INTO creates a table, or "
         "writes a file or a variable."),
        ("postgres", "SELECT * FROM t FOR NO KEY UPDATE",
         "a statement with FOR NO refused: a locking read holds row locks that "
         "block the application's writes."),
        ("mysql", "SELECT NEXT VALUE FOR s",
         "a statement with NEXT VALUE refused: it advances a sequence."),
        ("postgres", 'SELECT pg_catalog."pg_terminate_backend" /* x */ (42)',
         "a statement calling pg_terminate_backend refused: it acts beyond a read "
         "(on other sessions, the server, its files, sequences or settings), which "
         "a read-only session may not stop."),
        ("postgres", 'SELECT U&"pg\\005fterminate_backend"(42)',
         'a statement with a U&"..." name refused: the guard does not decode '
         "escaped names, so it cannot tell which function the statement calls."),
        ("mysql", "SELECT /*+ MAX_EXECUTION_TIME(99999) */ 1",
         "a statement with an optimizer hint (/*+ ... */) refused: a hint can lift "
         "the session's limits for the statement (MAX_EXECUTION_TIME, SET_VAR)."),
        ("mysql", "SELECT 1 /*!50000 , GET_LOCK('x', 1) */",
         "a statement with an executable comment (/*! ... */) refused: MySQL runs "
         "or obeys what is inside it, so the statement is not what it looks like."),
        ("mysql", "SELECT 1 /*M! ; DELETE FROM t */",
         "a statement with an executable comment (/*M! ... */) refused: MySQL runs "
         "or obeys what is inside it, so the statement is not what it looks like."),
        ("mysql", "SELECT 'it\\'s'",
         "a statement with a backslash before a quote in a string refused: whether "
         "it escapes the quote depends on the server's sql_mode "
         "(NO_BACKSLASH_ESCAPES), so the guard cannot tell where the string ends; "
         "write a quote inside a string as ''."),
        ("postgres", "SELECT 1 {# ; DELETE FROM t #}",
         "a statement with text the guard cannot place ('{# ; DELETE ') refused: "
         "the server may read it differently than the guard does."),
        ("postgres", "SELECT\u00a01",
         "a statement with text the guard cannot place ('\\xa0') refused: the "
         "server may read it differently than the guard does."),
        ("postgres", "SELECT 'never ends",
         "a statement the guard cannot read refused: sqlglot's postgres tokenizer "
         "stopped (an unterminated string, quoted name or comment?): Error "
         "tokenizing 'SELECT 'never end'."),
    ],
)  # fmt: skip
def test_each_refusal_says_what_and_why(kind, sql, said):
    assert refusal(kind, sql) == said


@pytest.mark.parametrize(
    ("kind", "sql"),
    [
        # PostgreSQL: "#" is XOR; -- comments need no space; '\' is a backslash.
        ("postgres", "SELECT 1 # 1, pg_terminate_backend(42)"),
        ("postgres", "SELECT '\\'; DELETE FROM t; --'"),
        # MySQL: "#" starts a comment; "--x" is not one; "\'" depends on sql_mode.
        ("mysql", "SELECT 1 #\n; DELETE FROM t"),
        ("mysql", "SELECT 1 --1; DELETE FROM t"),
        ("mysql", "SELECT '\\'; DELETE FROM t; -- '"),
        # Both: dollar quotes in MySQL are not strings, so this is three.
        ("mysql", "SELECT $$;DELETE FROM t;$$"),
        # MySQL's comments do not nest: the DELETE is outside.
        ("mysql", "SELECT 1 /* a /* b */ DELETE */"),
        ("postgres", "SELECT * FROM t FOR SHARE"),
        ("mysql", "SELECT * FROM t LOCK IN SHARE MODE"),
        ("postgres", "EXPLAIN ANALYZE DELETE FROM t"),
        ("postgres", "select\tset_config('default_transaction_read_only','off',false)"),
        ("mysql", "SELECT `get_lock`('x', 10)"),
        ("postgres", "SELECT query_to_xml('SELECT 1', true, false, '')"),
    ],
)
def test_what_each_dialect_reads_as_code_is_checked_as_code(kind, sql):
    refusal(kind, sql)


@pytest.mark.parametrize(
    ("kind", "sql", "keyword"),
    [
        ("postgres", "SELECT 1;", "SELECT"),
        ("postgres", "  /* why */ -- note\n ((select 1))", "SELECT"),
        ("postgres", "WITH x AS (SELECT 1) SELECT * FROM x", "WITH"),
        ("postgres", "SELECT $x$;DELETE FROM t;$x$", "SELECT"),
        ("postgres", "SELECT 1 /* a /* nested */ DELETE */", "SELECT"),
        ("postgres", "SELECT 1 --x; DELETE FROM t", "SELECT"),
        ("postgres", "SELECT * FROM pg_replication_slots, pg_file_settings", "SELECT"),
        ("postgres", "EXPLAIN (ANALYZE, BUFFERS) SELECT 1", "EXPLAIN"),
        ("postgres", "SHOW server_version", "SHOW"),
        ("postgres", "TABLE t", "TABLE"),
        ("postgres", "VALUES (1)", "VALUES"),
        ("postgres", "SELECT x FROM t WHERE a = %s AND b = %(b)s", "SELECT"),
        ("postgres", "SELECT E'it\\'s', 'a;b', \"odd;name\"", "SELECT"),
        ("postgres", "SELECT /*+ SeqScan(t) */ * FROM t", "SELECT"),  # pg_hint_plan
        ("mysql", "SELECT 'it''s', \"a;b\", `c;d` FROM t # done", "SELECT"),
        ("mysql", "SELECT 1 -- \n", "SELECT"),
        ("mysql", "SELECT REPLACE('a', 'b', 'c'), INSERT('abc', 1, 1, 'x')", "SELECT"),
        ("mysql", "SELECT 'a\\\\b'", "SELECT"),
        ("mysql", "DESCRIBE t", "DESCRIBE"),
        ("mysql", "SHOW GLOBAL STATUS LIKE 'Threads%%'", "SHOW"),
        ("mysql", "SELECT SLEEP(0), @@version, @x := 1", "SELECT"),
    ],
)
def test_reads_pass(kind, sql, keyword):
    guard = GUARDS[kind]
    assert guard.refuse_unless_read(sql, kind=kind, display="db").keyword == keyword
    assert guard.first_keyword(sql) == keyword


def test_first_keyword_of_an_unreadable_text_is_empty():
    assert PG.first_keyword("SELECT 'never ends") == ""
    assert PG.first_keyword("-- only a comment") == ""

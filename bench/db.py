"""PostgreSQL plumbing for the benchmark: create and drop its own databases, bulk-load with COPY.

Every function here refuses a database whose name does not start with `bench_`: the benchmark never
touches another database on the server.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


def _check_name(name: str) -> None:
    if not name.startswith("bench_"):
        raise RuntimeError(f"refusing to touch database {name!r}: benchmark databases are named bench_*")


def db_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def maintenance_url(url: str) -> str:
    """The same server, the `postgres` database: where CREATE/DROP DATABASE run."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))


def recreate_database(url: str) -> None:
    name = db_name(url)
    _check_name(name)
    drop_database(url)
    with psycopg.connect(maintenance_url(url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    name = db_name(url)
    _check_name(name)
    with psycopg.connect(maintenance_url(url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_exists(url: str) -> bool:
    name = db_name(url)
    _check_name(name)
    with psycopg.connect(maintenance_url(url), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


# --- COPY ------------------------------------------------------------------------------------------------


def copy_text(value: Any) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, dict | list):
        value = json.dumps(value)
    text = str(value)
    if any(c in text for c in "\\\t\n\r"):
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


class RowFormat:
    """A COPY line template for one table: constant columns are formatted once, the varying ones per row.

    `columns` is the table's column order; `constants` maps column -> value used on every row; the row
    dicts given to `line()` map the remaining columns to their values, already as COPY text (`copy_text`)."""

    def __init__(self, columns: Sequence[str], constants: dict[str, Any]) -> None:
        self.columns = list(columns)
        self.varying = [c for c in self.columns if c not in constants]
        parts = [copy_text(constants[c]).replace("%", "%%") if c in constants else f"%({c})s" for c in self.columns]
        self.template = "\t".join(parts) + "\n"

    def line(self, values: dict[str, str]) -> str:
        return self.template % values


def copy_rows(conn: psycopg.Connection, table: str, fmt: RowFormat, rows: Iterable[dict[str, str]],
              chunk: int = 20_000) -> int:
    """COPY rows (dicts of column -> COPY text for `fmt.varying`) into `table`; returns the count."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in fmt.columns))
    count = 0
    template = fmt.template
    with conn.cursor() as cur, cur.copy(statement) as copy:
        buffer: list[str] = []
        for row in rows:
            buffer.append(template % row)
            if len(buffer) >= chunk:
                copy.write("".join(buffer))
                count += len(buffer)
                buffer.clear()
        if buffer:
            copy.write("".join(buffer))
            count += len(buffer)
    return count


@contextlib.contextmanager
def indexes_deferred(conn: psycopg.Connection, tables: Sequence[str],
                     log: Callable[[str], None] = lambda _m: None) -> Iterator[None]:
    """Drop the secondary indexes, unique and foreign-key constraints of `tables` (primary keys and checks
    stay), let the caller bulk-load, then recreate them exactly as they were (definitions read from the
    catalog): building an index once is much cheaper than maintaining it row by row. What pg_restore does."""
    table_list = list(tables)
    constraints = conn.execute(
        """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype
             FROM pg_constraint c
            WHERE c.contype IN ('f', 'u') AND c.conrelid::regclass::text = ANY(%(t)s)""",
        {"t": table_list}).fetchall()
    constraint_names = {name for _table, name, _def, _type in constraints}
    indexes = conn.execute(
        """SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = 'public' AND i.tablename = ANY(%(t)s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname AND c.contype = 'p')""",
        {"t": table_list}).fetchall()
    indexes = [row for row in indexes if row[1] not in constraint_names]
    # Foreign keys first (they depend on the unique indexes they reference), then uniques, then indexes.
    for table, name, _definition, _kind in sorted(constraints, key=lambda c: c[3] != "f"):
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(table), sql.Identifier(name)))
    for _table, name, _definition in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    conn.commit()
    log(f"dropped {len(indexes)} indexes and {len(constraints)} constraints for the load")
    try:
        yield
    finally:
        conn.rollback()
        conn.execute("SET maintenance_work_mem = '256MB'")
        for _table, _name, definition in indexes:
            conn.execute(definition)
        for table, name, definition, _kind in sorted(constraints, key=lambda c: c[3] == "f"):
            conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)))
        conn.commit()
        log(f"rebuilt {len(indexes)} indexes and {len(constraints)} constraints")


def reset_sequences(conn: psycopg.Connection, tables: Sequence[str]) -> None:
    """After COPY with explicit ids: the next id the application gets follows the loaded ones."""
    for table in tables:
        conn.execute(sql.SQL(
            "SELECT setval(pg_get_serial_sequence({t}, 'id'), GREATEST((SELECT max(id) FROM {i}), 1))").format(
            t=sql.Literal(table), i=sql.Identifier(table)))
    conn.commit()


def vacuum_analyze(url: str, tables: Sequence[str]) -> None:
    """Fresh planner statistics and visibility maps, as autovacuum would leave them, before timing."""
    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))


def _model_constants(model: Any, varying: set[str], now: dt.datetime, given: dict[str, Any]) -> dict[str, Any]:
    """Every column the loader does not vary: the value given, else the field's default, so a column someone
    adds later with a default is filled without touching the loader."""
    from django.db.models import Model

    out: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        column = field.column
        if column in varying:
            continue
        if column in given:
            out[column] = given[column]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            out[column] = now
        elif field.has_default():
            value = field.get_default()
            out[column] = value.pk if isinstance(value, Model) else value
        elif field.null:
            out[column] = None
        elif field.get_internal_type() in ("CharField", "TextField", "SlugField", "EmailField"):
            out[column] = ""
        else:
            raise RuntimeError(f"bench loader: no value for {model.__name__}.{field.name}; the loader needs updating")
    return out


def model_format(model: Any, varying: list[str], now: dt.datetime, **given: Any) -> RowFormat:
    """The COPY line template of a Django model's table: `varying` columns per row, the rest constant."""
    columns = [f.column for f in model._meta.concrete_fields]
    missing = set(varying) - set(columns)
    if missing:
        raise RuntimeError(f"bench loader: {model.__name__} has no columns {sorted(missing)}")
    return RowFormat(columns, _model_constants(model, set(varying), now, given))

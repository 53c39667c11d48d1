"""Writing counter rows in few statements (app/progress/tallies.py decides what to write).

A write is a list of steps, in the order their rows must be locked:
- `Add`: add deltas to rows of one counter table, creating the rows missing (an upsert);
- `Take`: add deltas, some negative, to rows of one counter table that must exist (they
  were counted before; a missing one means the counters are out of step);
- `SetCounted`: the households' counted state (their rows are locked already).
`answering` carries out steps that answer what they wrote, for rows that belong to locked
households alone: an Add step answers its rows' new counts (a reach row that holds only what
was just added is new, and moves its volunteer's households); `Teach` answers the topics its
households learned just now (each moves its commune's topic counter).

On PostgreSQL the steps of a call go in one statement, an Add step's rows sent as one JSON
list. In `write`, each step is a WITH query that starts only once the one before it has run
(its rows wait on a count of the one before), so rows are locked in the order given, as every
writer locks them. Logging a session writes a dozen rows of six tables this way in one round
trip instead of six, which matters most where the database is on another machine. Elsewhere
(SQLite, in process) each step is its own statement.

The statements are compiled once per shape: SQLAlchemy compiles its dialects' upserts again
on every call, which costs more than running them.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB

from app.models import Household, Topic, learned_topic

COUNTERS = ("registered", "trained", "households", "sessions", "newly_trained")
# Days a counter row keeps the latest of: a write sets them only to a later day.
LATEST = ("last_held_on",)


@dataclass
class Add:
    """Rows of one counter table: (key, insert-only columns, deltas, days for LATEST)."""

    model: type
    rows: list[tuple[dict, dict, dict[str, int], dict]] = field(default_factory=list)


@dataclass
class Take(Add):
    """Rows that take away: each must exist."""


@dataclass
class Teach:
    """Households that attended a session of these topics: each pair not learned yet is
    learned now. The households must be locked (their learned topics are theirs alone)."""

    households: list[int]
    topics: list[int]

    @property
    def rows(self) -> list[int]:
        """What the step writes for (none without topics), as `Add.rows` for other steps."""
        return self.households if self.topics else []


@dataclass
class SetCounted:
    """Households' counted state: [{"household", "counted", "first_day"}]."""

    rows: list[dict]
    now: datetime


def write(steps: list[Add | SetCounted], connection) -> None:
    """Carry out the steps, in order, on the connection (the caller's transaction)."""
    steps = [step for step in steps if step.rows]
    if not steps:
        return
    if connection.dialect.name == "postgresql":
        _write_in_one_statement(steps, connection)
        return
    for step in steps:
        if isinstance(step, SetCounted):
            connection.execute(_SET_COUNTED, [{**row, "now": step.now} for row in step.rows])
        elif isinstance(step, Take):
            _kind, table, key, _insert_only = _shape(step)
            for row in _values(step):
                _check_found(step, connection.execute(_take_one(table, key), row).rowcount, expected=1)
        else:
            statement = _upsert_one(*_shape(step)[1:])
            values = _values(step)
            connection.execute(statement, values[0] if len(values) == 1 else values)


def answering(steps: list[Add | Teach], connection) -> list[list[tuple]]:
    """Carry out steps that answer what they wrote, for each step in order: an Add step, each
    row's key and counters as they stand after it (a counter equal to the row's delta: the row
    is new); a Teach step, the (household, topic) pairs learned just now. Their rows must
    belong to locked households: the steps run in no set order. On PostgreSQL, one statement,
    in which every step sees the tables as they were before it: no two steps of a call may
    write the same row."""
    answers: list[list[tuple]] = [[] for _step in steps]
    written = [number for number, step in enumerate(steps) if step.rows]
    if not written:
        return answers
    if connection.dialect.name == "postgresql":
        statement = _answering_in_one_statement(tuple(_shape(steps[number]) for number in written))
        parameters = {}
        for position, number in enumerate(written):
            parameters.update(_answering_parameters(steps[number], f"s{position}_"))
        for number, rows in zip(written, connection.execute(statement, parameters).one(), strict=True):
            answers[number] = [tuple(row) for row in rows or []]
        return answers
    for number in written:
        step = steps[number]
        statement = _TEACH if isinstance(step, Teach) else _add_returning(*_shape(step)[1:])
        answers[number] = [tuple(row) for row in connection.execute(statement, _answering_parameters(step))]
    return answers


def _answering_parameters(step: Add | Teach, prefix: str = "") -> dict:
    if isinstance(step, Teach):
        return {prefix + "households": step.households, prefix + "topics": step.topics}
    return {prefix + "rows": json.dumps(_values(step), default=date.isoformat)}


def _write_in_one_statement(steps: list, connection) -> None:
    statement = _chained(tuple(_shape(step) for step in steps))
    parameters = {}
    for number, step in enumerate(steps):
        rows = step.rows if isinstance(step, SetCounted) else _values(step)
        # One JSON document per step: one string costs less to send than an array per column.
        parameters[f"s{number}_rows"] = json.dumps(rows, default=date.isoformat)
        if isinstance(step, SetCounted):
            parameters[f"s{number}_now"] = step.now
    counts = connection.execute(statement, parameters).scalar_one()
    for step, found in zip(steps, counts, strict=True):
        if isinstance(step, Take):
            _check_found(step, found, expected=len(step.rows))


def _check_found(step: Take, found: int, expected: int) -> None:
    if found != expected:
        table = step.model.__tablename__
        raise RuntimeError(f"{table} has no row for some of {step.rows}: the counters are out of step")


def _shape(step) -> tuple:
    """What a step's statement depends on: its kind, its table and its columns."""
    if isinstance(step, SetCounted | Teach):
        return (type(step),)
    key, insert_only = step.rows[0][0], step.rows[0][1]
    return (type(step), step.model.__table__, tuple(key), tuple(insert_only or {}))


def _values(step: Add) -> list[dict]:
    """Each row's bound values: its key, its insert-only columns, its deltas and its days."""
    table = step.model.__table__
    return [
        {
            **key,
            **(insert_only or {}),
            **{name: deltas.get(name, 0) for name in COUNTERS if name in table.c},
            **{name: later.get(name) for name in LATEST if name in table.c},
        }
        for key, insert_only, deltas, later in step.rows
    ]


# ---------------------------------------------------------------------------------------------
# The statements


def _columns(table: sa.Table) -> tuple[list[str], list[str]]:
    return [name for name in COUNTERS if name in table.c], [name for name in LATEST if name in table.c]


def _kept_later(table: sa.Table, new) -> dict:
    """Each LATEST day: the row's own, unless the new one is later."""
    return {
        name: sa.case((sa.or_(new[name].is_(None), table.c[name] >= new[name]), table.c[name]), else_=new[name])
        for name in _columns(table)[1]
    }


def _adding_on_conflict(insert, table: sa.Table, key):
    """The INSERT, adding its counters to the row already there when its key is taken."""
    added = {name: table.c[name] + insert.excluded[name] for name in _columns(table)[0]}
    return insert.on_conflict_do_update(index_elements=list(key), set_={**added, **_kept_later(table, insert.excluded)})


@cache
def _upsert_one(table: sa.Table, key: tuple[str, ...], insert_only: tuple[str, ...]) -> sa.TextClause:
    """SQLite: INSERT … ON CONFLICT (key) DO UPDATE adding every counter, for one row."""
    counters, latest = _columns(table)
    binds = [sa.bindparam(name, type_=table.c[name].type) for name in (*key, *insert_only, *counters, *latest)]
    statement = _adding_on_conflict(sqlite.insert(table).values({bind.key: bind for bind in binds}), table, key)
    return _compiled(statement, "sqlite", binds)


@cache
def _take_one(table: sa.Table, key: tuple[str, ...]) -> sa.TextClause:
    """SQLite: UPDATE adding every counter to one row found by its key."""
    counters, latest = _columns(table)
    binds = [sa.bindparam(name, type_=table.c[name].type) for name in (*key, *counters, *latest)]
    by_name = {bind.key: bind for bind in binds}
    statement = (
        sa.update(table)
        .where(*(table.c[name] == by_name[name] for name in key))
        .values({**{name: table.c[name] + by_name[name] for name in counters}, **_kept_later(table, by_name)})
    )
    return _compiled(statement, "sqlite", binds)


_SET_COUNTED = (
    sa.update(Household.__table__)
    .where(Household.__table__.c.id == sa.bindparam("household"))
    .values(is_counted=sa.bindparam("counted"), trained_on=sa.bindparam("first_day"), updated_at=sa.bindparam("now"))
)


@cache
def _chained(shapes: tuple[tuple, ...]) -> sa.TextClause:
    """PostgreSQL: every step in one statement, step n's rows bound as `s<n>_rows` (a JSON
    list, read in order), answering an array of how many rows each step wrote."""
    steps, binds = [], []
    for number, shape in enumerate(shapes):
        gate = None
        if steps:  # held back until the step before has run
            gate = sa.select(sa.func.count()).select_from(steps[-1]).scalar_subquery().is_not(None)
        statement, step_binds = _STEP_STATEMENTS[shape[0]](*shape[1:], prefix=f"s{number}_", gate=gate)
        steps.append(statement.returning(sa.literal_column("1")).cte(f"step_{number}"))
        binds += step_binds
    counts = postgresql.array([sa.select(sa.func.count()).select_from(step).scalar_subquery() for step in steps])
    return _compiled(sa.select(counts), "postgresql", binds)


def _rows_of(types: dict[str, sa.types.TypeEngine], prefix: str, gate) -> tuple[sa.Subquery, list]:
    """The rows of a step, from its JSON list: SELECT … FROM jsonb_to_recordset(:<prefix>rows)
    AS new(<name> <type>, …) [WHERE gate]."""
    bind = sa.bindparam(prefix + "rows", type_=sa.Text)
    rows = sa.func.jsonb_to_recordset(sa.cast(bind, JSONB)).table_valued(
        *(sa.column(name, type_) for name, type_ in types.items())
    )
    rows = rows.render_derived(name="new", with_types=True)
    select = sa.select(*rows.c)
    return (select if gate is None else select.where(gate)).subquery("new_rows"), [bind]


def _types(table: sa.Table, names) -> dict[str, sa.types.TypeEngine]:
    return {name: table.c[name].type for name in names}


def _add_statement(table: sa.Table, key, insert_only, prefix: str, gate):
    counters, latest = _columns(table)
    columns = [*key, *insert_only, *counters, *latest]
    rows, binds = _rows_of(_types(table, columns), prefix, gate)
    statement = postgresql.insert(table).from_select(columns, sa.select(*(rows.c[name] for name in columns)))
    return _adding_on_conflict(statement, table, key), binds


@cache
def _add_returning(table: sa.Table, key: tuple[str, ...], insert_only: tuple[str, ...]):
    """SQLite: an Add step's upsert of rows sent as one JSON list (`rows`), RETURNING each
    row's key and counters (PostgreSQL: `_answering_in_one_statement`)."""
    counters, latest = _columns(table)
    # SQLite reads the list with json_each; an INSERT … SELECT with ON CONFLICT needs a WHERE.
    bind = sa.bindparam("rows", type_=sa.Text)
    columns = [*key, *insert_only, *counters, *latest]
    each = sa.func.json_each(bind).table_valued("value")
    rows = sa.select(*(sa.func.json_extract(each.c.value, sa.literal_column(f"'$.{name}'")) for name in columns)).where(
        sa.true()
    )
    statement = _adding_on_conflict(sqlite.insert(table).from_select(columns, rows), table, key)
    statement = statement.returning(*(table.c[name] for name in (*key, *counters)))
    return _compiled(statement, "sqlite", [bind])


def _teaching(households_chosen, topics_chosen) -> sa.Insert:
    """Every pair of the chosen households and topics not learned yet, and only those, back
    in RETURNING."""
    pairs = (
        sa.select(Household.id, Topic.id)
        .join(Topic, topics_chosen)
        .where(
            households_chosen,
            ~sa.exists().where(learned_topic.c.household_id == Household.id, learned_topic.c.topic_id == Topic.id),
        )
    )
    statement = sa.insert(learned_topic).from_select(["household_id", "topic_id"], pairs)
    return statement.returning(learned_topic.c.household_id, learned_topic.c.topic_id)


# SQLite: the households and topics bound as two lists.
_TEACH = _teaching(
    Household.id.in_(sa.bindparam("households", expanding=True)), Topic.id.in_(sa.bindparam("topics", expanding=True))
)


def _teach_statement(prefix: str):
    """PostgreSQL: the households and topics bound as two arrays."""
    households, topics = (
        sa.bindparam(prefix + name, type_=postgresql.ARRAY(sa.Integer)) for name in ("households", "topics")
    )
    return _teaching(Household.id == sa.any_(households), Topic.id == sa.any_(topics)), [households, topics]


@cache
def _answering_in_one_statement(shapes: tuple[tuple, ...]) -> sa.TextClause:
    """PostgreSQL: each step a WITH query, step n's values bound with the prefix `s<n>_`;
    the answer is one row holding each step's returned rows as a JSON list (NULL: none)."""
    steps, binds = [], []
    for number, shape in enumerate(shapes):
        prefix = f"s{number}_"
        if shape[0] is Teach:
            statement, step_binds = _teach_statement(prefix)
        else:
            table, key, insert_only = shape[1:]
            statement, step_binds = _add_statement(table, key, insert_only, prefix=prefix, gate=None)
            statement = statement.returning(*(table.c[name] for name in (*key, *_columns(table)[0])))
        steps.append(statement.cte(f"step_{number}"))
        binds += step_binds
    answers = [
        sa.select(sa.func.json_agg(sa.func.json_build_array(*step.c))).select_from(step).scalar_subquery()
        for step in steps
    ]
    return _compiled(sa.select(*answers), "postgresql", binds)


def _take_statement(table: sa.Table, key, _insert_only, prefix: str, gate):
    counters, latest = _columns(table)
    rows, binds = _rows_of(_types(table, [*key, *counters, *latest]), prefix, gate)
    statement = (
        sa.update(table)
        .where(*(table.c[name] == rows.c[name] for name in key))
        .values({**{name: table.c[name] + rows.c[name] for name in counters}, **_kept_later(table, rows.c)})
    )
    return statement, binds


def _set_counted_statement(prefix: str, gate):
    table = Household.__table__
    types = {"household": table.c.id.type, "counted": table.c.is_counted.type, "first_day": table.c.trained_on.type}
    rows, binds = _rows_of(types, prefix, gate)
    now = sa.bindparam(prefix + "now", type_=table.c.updated_at.type)
    statement = (
        sa.update(table)
        .where(table.c.id == rows.c.household)
        .values(is_counted=rows.c.counted, trained_on=rows.c.first_day, updated_at=now)
    )
    return statement, [*binds, now]


_STEP_STATEMENTS = {Add: _add_statement, Take: _take_statement, SetCounted: _set_counted_statement}


def _compiled(statement, dialect_name: str, binds: list[sa.BindParameter]) -> sa.TextClause:
    base = sqlite.base.SQLiteDialect if dialect_name == "sqlite" else postgresql.base.PGDialect
    compiled = statement.compile(dialect=base(paramstyle="named"))
    return sa.text(str(compiled)).bindparams(*(sa.bindparam(bind.key, type_=bind.type) for bind in binds))

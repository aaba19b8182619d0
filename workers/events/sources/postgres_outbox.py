"""The trigger-fed outbox behind a PostgreSQL table change source, installed in the user's database.

Why a trigger and an outbox, not logical decoding: logical decoding needs ``wal_level=logical`` (a
server restart, often not the user's to make), a replication slot that holds back WAL for as long as
its reader is away (a stopped mapping can fill the user's disk), and the REPLICATION attribute or a
superuser; a trigger needs only what the table's owner already has (the TRIGGER privilege and CREATE
on the table's schema), works on any PostgreSQL 11+ at ``wal_level=replica`` and is dropped with the
mapping. Its cost: one extra row written per change, inside the writer's transaction.

Each mapping has its own outbox (``<schema>.stepline_changes_<uuid hex>``: an id from a sequence, the
operation, the primary key and the images as ``jsonb``) and its own ``AFTER INSERT OR UPDATE OR DELETE
FOR EACH ROW`` trigger filling it, owned by the installing role (``SECURITY DEFINER`` with a fixed
``search_path``, so any role writing the table may); the installing role must be able to read the
whole table, row-level security included (the trigger sees every row). The id is taken while the
writer holds the changed row's lock, so one key's changes get ids in commit order; a poller reads the
committed rows in id order and deletes each once its outcome is recorded (the acknowledgement). A
row whose writer commits late (a long transaction) is read when it commits: nothing is skipped. The
trigger notifies ``stepline_changes_<uuid hex>`` so an idle poller wakes at once, and every
``TRIM_EVERY`` changes deletes rows older than ``RETENTION`` (DynamoDB Streams' 24 hours), read or
not: an outbox nobody reads (a disabled mapping, one deleted while its database was unreachable)
stays bounded.

An UPDATE that changes nothing records nothing; one that changes the primary key records a REMOVE of
the old key and an INSERT of the new one (per-key order holds for both keys).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncpg

from workers.dbproxy.server import Target

VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
RETENTION = "24 hours"
TRIM_EVERY = 1000
"""The trigger deletes changes older than ``RETENTION`` when it writes every this many."""
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
"""Schema and table names Stepline accepts (taken exactly as written, as if double-quoted)."""


_POLICED = (
    "SELECT c.relrowsecurity AND NOT r.rolsuper AND NOT r.rolbypassrls "
    "AND (c.relforcerowsecurity OR NOT pg_has_role(c.relowner, 'USAGE')) "
    "FROM pg_class c, pg_roles r WHERE c.oid = $1::oid AND r.rolname = current_user"
)
"""Whether row-level security filters what the current role reads of a table (the trigger would not)."""


class OutboxError(Exception):
    """A table the outbox cannot be installed on or read (the message is for the user)."""


@dataclass(frozen=True, slots=True)
class Names:
    """The user's table and the mapping's outbox, trigger, function and channel."""

    schema: str
    table: str
    outbox: str

    def __post_init__(self) -> None:
        """Only plain identifiers: ``_quoted`` wraps them in double quotes, which is quoting only then."""
        if not all(IDENTIFIER.fullmatch(n) for n in (self.schema, self.table, self.outbox)):
            shown = f"{self.schema[:80]!r}.{self.table[:80]!r}"
            raise OutboxError(f"{shown} is not a schema.table name Stepline reads")

    @classmethod
    def of(cls, mapping_uuid: str, schema: str, table: str) -> Names:
        return cls(schema, table, f"stepline_changes_{mapping_uuid.replace('-', '')}")

    @property
    def channel(self) -> str:
        return self.outbox

    @property
    def shown(self) -> str:
        return f"{self.schema}.{self.table}"


async def connect(url: str, command_timeout: float | None = None) -> asyncpg.Connection:
    """A connection to a db proxy's target (``url``), as the proxy itself would log in; a statement
    taking longer than ``command_timeout`` seconds raises (a dead peer cannot hang a poller)."""
    target = Target.from_url(url)
    ssl: object = False
    if target.tls_required:
        ssl = target.ssl_context()
    elif target.sslmode in ("prefer", "allow"):
        ssl = "prefer"
    return await asyncpg.connect(
        host=target.host, port=target.port, user=target.user, password=target.password,
        database=target.database, ssl=ssl, timeout=10, command_timeout=command_timeout,
        server_settings={"application_name": "stepline-esm"},
    )  # fmt: skip


def _quoted(names: Names) -> tuple[str, str, str]:
    """The three names double-quoted (``IDENTIFIER`` admits no quote, so wrapping is quoting)."""
    return f'"{names.schema}"', f'"{names.table}"', f'"{names.outbox}"'


def _body(schema: str, outbox: str, channel: str, view: str) -> str:
    new = "nrow" if view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") else "NULL"
    old = "orow" if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") else "NULL"
    target = f"{schema}.{outbox} (op, keys, new, old)"
    return f"""
DECLARE
  nrow jsonb := to_jsonb(NEW);
  orow jsonb := to_jsonb(OLD);
  nkeys jsonb;
  okeys jsonb;
  n bigint;
BEGIN
  IF nrow IS NOT NULL THEN
    SELECT jsonb_object_agg(k, nrow -> k) INTO nkeys FROM unnest(TG_ARGV) AS k;
  END IF;
  IF orow IS NOT NULL THEN
    SELECT jsonb_object_agg(k, orow -> k) INTO okeys FROM unnest(TG_ARGV) AS k;
  END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO {target} VALUES ('INSERT', nkeys, {new}, NULL) RETURNING id INTO n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO {target} VALUES ('REMOVE', okeys, NULL, {old}) RETURNING id INTO n;
  ELSIF nrow = orow THEN
    RETURN NULL;
  ELSIF nkeys = okeys THEN
    INSERT INTO {target} VALUES ('MODIFY', nkeys, {new}, {old}) RETURNING id INTO n;
  ELSE
    INSERT INTO {target} VALUES ('REMOVE', okeys, NULL, {old}) RETURNING id INTO n;
    INSERT INTO {target} VALUES ('INSERT', nkeys, {new}, NULL) RETURNING id INTO n;
  END IF;
  PERFORM pg_notify('{channel}', '');
  IF n % {TRIM_EVERY} = 0 AND (SELECT at FROM {schema}.{outbox} ORDER BY id LIMIT 1)
      < clock_timestamp() - interval '{RETENTION}' THEN  -- the oldest first: a scan only when due
    DELETE FROM {schema}.{outbox} WHERE at < clock_timestamp() - interval '{RETENTION}';
  END IF;
  RETURN NULL;
END
"""


async def install(connection: asyncpg.Connection, names: Names, view: str, *, snapshot: bool) -> None:
    """Create the outbox and the trigger (``snapshot``: with every existing row as an INSERT first, in
    the same transaction, so no change is missed or doubled). OutboxError says what is wrong."""
    if view not in VIEW_TYPES:
        raise OutboxError(f"{view!r} is not a StreamViewType ({', '.join(VIEW_TYPES)})")
    schema, table, outbox = _quoted(names)
    relation = await connection.fetchval("SELECT to_regclass($1)::oid", f"{schema}.{table}")
    if relation is None:
        raise OutboxError(f"table {names.shown} does not exist (or the db proxy's role cannot see it)")
    if not await connection.fetchval("SELECT has_table_privilege($1::oid, 'SELECT')", relation):
        raise OutboxError(
            f"the db proxy's role may not read table {names.shown} (SELECT on the whole table is needed: "
            "the images hold every column)"
        )
    if await connection.fetchval(_POLICED, relation):
        raise OutboxError(
            f"table {names.shown} has row-level security that applies to the db proxy's role: its changes "
            "would show rows the role cannot read"
        )
    keys: list[str] | None = await connection.fetchval(
        "SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum)) "
        "FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = $1::oid AND i.indisprimary",
        relation,
    )
    if not keys:
        raise OutboxError(f"table {names.shown} has no primary key (its changes need one: the Keys)")
    arguments = ", ".join([await connection.fetchval("SELECT quote_literal($1)", k) for k in keys])
    kind = await connection.fetchval("SELECT relkind FROM pg_class WHERE oid = $1::oid", relation)
    if kind not in (b"r", "r", b"p", "p"):
        raise OutboxError(f"{names.shown} is not a table")
    try:
        async with connection.transaction():
            await connection.execute("SET LOCAL lock_timeout = '5s'")
            await connection.execute(
                f"CREATE TABLE {schema}.{outbox} (id bigserial PRIMARY KEY, op text NOT NULL, keys jsonb "
                "NOT NULL, new jsonb, old jsonb, at timestamptz NOT NULL DEFAULT clock_timestamp())"
            )
            body = _body(schema, outbox, names.channel, view)
            await connection.execute(
                f"CREATE FUNCTION {schema}.{outbox}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER "
                f"SET search_path = pg_catalog, pg_temp AS $stepline${body}$stepline$"
            )
            await connection.execute(f"REVOKE ALL ON FUNCTION {schema}.{outbox}() FROM PUBLIC")
            await connection.execute(
                f"CREATE TRIGGER {outbox} AFTER INSERT OR UPDATE OR DELETE ON {schema}.{table} "
                f"FOR EACH ROW EXECUTE FUNCTION {schema}.{outbox}({arguments})"
            )
            if snapshot:
                image = "to_jsonb(t)" if view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") else "NULL"
                await connection.execute(
                    f"INSERT INTO {schema}.{outbox} (op, keys, new) SELECT 'INSERT', "
                    "(SELECT jsonb_object_agg(k, to_jsonb(t) -> k) FROM unnest($1::text[]) k), "
                    f"{image} FROM {schema}.{table} t",
                    keys,
                )
    except asyncpg.InsufficientPrivilegeError as exc:
        raise OutboxError(
            f"the db proxy's role cannot install the change trigger on {names.shown}: {exc}"
        ) from None
    except asyncpg.LockNotAvailableError:
        raise OutboxError(
            f"table {names.shown} stayed locked by another transaction for 5 s: try again"
        ) from None
    except asyncpg.DuplicateTableError:
        raise OutboxError(f"an outbox for this mapping already exists in schema {names.schema}") from None


async def uninstall(connection: asyncpg.Connection, names: Names) -> None:
    """Drop the trigger, its function and the outbox (those that exist)."""
    schema, table, outbox = _quoted(names)
    async with connection.transaction():
        await connection.execute("SET LOCAL lock_timeout = '5s'")
        if await connection.fetchval("SELECT to_regclass($1)", f"{schema}.{table}") is not None:
            await connection.execute(f"DROP TRIGGER IF EXISTS {outbox} ON {schema}.{table}")
        await connection.execute(f"DROP FUNCTION IF EXISTS {schema}.{outbox}()")
        await connection.execute(f"DROP TABLE IF EXISTS {schema}.{outbox}")


async def read(
    connection: asyncpg.Connection, names: Names, limit: int, besides: list[int] | None = None
) -> list[asyncpg.Record]:
    """The first ``limit`` committed changes not yet acknowledged (nor in ``besides``: a batch still in
    flight), in id order; OutboxError when the outbox is gone."""
    schema, _, outbox = _quoted(names)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(
            f"SELECT id, op, keys::text AS keys, new::text AS new, old::text AS old, "
            f"extract(epoch FROM at)::float8 AS at FROM {schema}.{outbox} WHERE id <> ALL($2::bigint[]) "
            "ORDER BY id LIMIT $1",
            limit,
            besides or [],
        )
        return rows
    except asyncpg.UndefinedTableError:
        raise OutboxError(f"the outbox of table {names.shown} is gone (was it dropped?)") from None


async def acknowledge(connection: asyncpg.Connection, names: Names, ids: list[int]) -> None:
    if not ids:
        return
    schema, _, outbox = _quoted(names)
    await connection.execute(f"DELETE FROM {schema}.{outbox} WHERE id = ANY($1::bigint[])", ids)

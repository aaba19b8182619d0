"""Pure pieces of the db proxy: authentication, statement bookkeeping, message framing, sealing."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

import pytest

from foundation.sealing import Sealer, SealError
from workers.dbproxy import pgwire, statements
from workers.dbproxy.auth import ScramClient, md5_password
from workers.dbproxy.server import Target, TargetError
from workers.dbproxy.wire import startup_refusal


def test_scram_sha_256_matches_rfc_7677() -> None:
    client = ScramClient("pencil", nonce="rOprNGfwEbeRWgbNEkqO", user="user")
    assert client.first() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    assert client.final(server_first) == (
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    client.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    with pytest.raises(ValueError, match="signature is wrong"):
        client.verify(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")


def test_scram_rejects_a_nonce_the_server_did_not_extend() -> None:
    with pytest.raises(ValueError, match="nonce"):
        ScramClient("pw", nonce="abc").final(b"r=xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")


def test_md5_password_is_postgres_format() -> None:
    """PostgreSQL's rule: 'md5' + md5(hex(md5(password + user)) + salt)."""
    inner = hashlib.md5(b"secretalice").hexdigest().encode()
    expected = b"md5" + hashlib.md5(inner + b"\x01\x02\x03\x04").hexdigest().encode()
    assert md5_password("alice", "secret", b"\x01\x02\x03\x04") == expected
    assert md5_password("alice", "secret", b"salt") != md5_password("alice", "secret", b"tlas")


@pytest.mark.parametrize(
    ("sql", "changes"),
    [
        (b"SET search_path TO x", True),
        (b"  set statement_timeout = 5", True),
        (b"SELECT 1; RESET ALL", True),
        (b"CREATE TEMP TABLE t (x int)", True),
        (b"SELECT set_config('a.b', '1', false)", True),
        (b"SELECT pg_advisory_lock(1)", True),
        (b"LISTEN channel", True),
        (b"UPDATE t SET x = 1", False),
        (b"SELECT pg_advisory_xact_lock(1)", False),
        (b"INSERT INTO settings VALUES (1)", False),
        (b"SELECT * FROM temperature", False),
    ],
    ids=lambda v: v.decode() if isinstance(v, bytes) else str(v),
)
def test_session_state_detection(sql: bytes, changes: bool) -> None:
    assert statements.changes_session(sql) is changes


@pytest.mark.parametrize(
    ("sql", "target"),
    [
        (b"DEALLOCATE _pg3_1", b"_pg3_1"),
        (b'deallocate prepare "__asyncpg_stmt_2__";', b"__asyncpg_stmt_2__"),
        (b"DEALLOCATE ALL", b"ALL"),
        (b"SELECT 'DEALLOCATE x'", None),
    ],
)
def test_deallocate_target(sql: bytes, target: bytes | None) -> None:
    assert statements.deallocate_target(sql) == target


def test_named_statements_are_renamed_by_content() -> None:
    name, first = statements.from_parse(b"stmt_1\0SELECT $1\0\0\1\0\0\0\x17")
    other_name, same = statements.from_parse(b"_pg3_0\0SELECT $1\0\0\1\0\0\0\x17")
    _, different = statements.from_parse(b"stmt_1\0SELECT $2\0\0\0")
    assert (name, other_name) == (b"stmt_1", b"_pg3_0")
    assert first is not None and same is not None and different is not None
    assert first.server_name == same.server_name != different.server_name
    assert first.parse_body == first.server_name + b"\0SELECT $1\0\0\1\0\0\0\x17"
    assert statements.from_parse(b"\0SELECT 1\0\0\0") == (b"", None)


def test_bind_rename_keeps_portal_and_parameters() -> None:
    payload = b"portal\0stmt_1\0\0\0\0\1\0\0\0\1x\0\0"
    assert statements.bind_statement(payload) == b"stmt_1"
    assert statements.rename_bind(payload, b"sl_abc") == b"portal\0sl_abc\0\0\0\0\1\0\0\0\1x\0\0"


def test_message_framing_round_trips() -> None:
    framed = pgwire.message(b"Q", pgwire.cstr("SELECT 1"))
    assert framed == b"Q\0\0\0\rSELECT 1\0"
    stream = pgwire.MessageStream()
    stream.data_received(framed + framed[:4])
    assert stream._cut() == (b"Q", b"SELECT 1\0")
    assert stream._cut() is None
    stream.data_received(framed[4:])
    assert stream._cut() == (b"Q", b"SELECT 1\0")


def test_error_fields_and_startup_params_parse() -> None:
    error = pgwire.error_response("42P01", 'relation "x" does not exist')
    assert pgwire.error_fields(error[5:]) == {
        "S": "ERROR",
        "V": "ERROR",
        "C": "42P01",
        "M": 'relation "x" does not exist',
    }
    startup = pgwire.startup({"user": "fn", "database": "d"})
    assert pgwire.startup_params(startup[4:]) == {"user": "fn", "database": "d"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p%40ss@db.example:6543/app", Target("db.example", 6543, "u", "p@ss", "app")),
        ("postgresql+asyncpg://postgres@127.0.0.1/x", Target("127.0.0.1", 5432, "postgres", None, "x")),
        (
            "postgres:///app?host=/var/run/postgresql",
            Target("/var/run/postgresql", 5432, "postgres", None, "app"),
        ),
    ],
)
def test_target_from_url(url: str, expected: Target) -> None:
    assert Target.from_url(url) == expected
    assert "p@ss" not in Target.from_url(url).describe()
    assert "p@ss" not in repr(Target.from_url(url))  # tracebacks and logs never show the password


def test_target_rejects_other_schemes_and_unknown_ssl_modes() -> None:
    with pytest.raises(TargetError, match="must start with postgresql://"):
        Target.from_url("mysql://u@h/db")
    with pytest.raises(TargetError, match="sslmode=always; expected one of disable, allow, prefer"):
        Target.from_url("postgresql://u@h/db?sslmode=always")


@pytest.mark.parametrize(
    ("mode", "required", "verify", "hostname"),
    [
        ("prefer", False, False, False),
        ("require", True, False, False),
        ("verify-ca", True, True, False),
        ("verify-full", True, True, True),
    ],
)
def test_ssl_modes(mode: str, required: bool, verify: bool, hostname: bool) -> None:
    target = Target.from_url(f"postgresql://u@db.example/app?sslmode={mode}")
    context = target.ssl_context()
    assert (target.tls_required, context.verify_mode == ssl.CERT_REQUIRED, context.check_hostname) == (
        required,
        verify,
        hostname,
    )


def test_sealing_round_trips_and_refuses_another_key(tmp_path: Path) -> None:
    sealed = Sealer("key one").seal("postgresql://u:secret@h/db")
    assert "secret" not in sealed
    assert Sealer("key one").open(sealed) == "postgresql://u:secret@h/db"
    with pytest.raises(SealError, match="STEPLINE_SECRET_KEY"):
        Sealer("key two").open(sealed)
    first = Sealer.from_settings(None, tmp_path)
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert Sealer.from_settings(None, tmp_path).open(first.seal("x")) == "x"


@pytest.mark.parametrize(
    ("params", "refused"),
    [
        ({"user": "fn", "database": "d", "client_encoding": "'utf-8'"}, None),  # asyncpg
        ({"user": "fn", "database": "d", "client_encoding": "UTF8", "application_name": "x"}, None),
        ({"user": "fn", "database": "d", "DateStyle": "ISO, MDY", "extra_float_digits": "3"}, None),
        ({"user": "fn", "options": "-c search_path=other"}, "options="),
        ({"user": "fn", "TimeZone": "UTC"}, "TimeZone="),
        ({"user": "fn", "client_encoding": "LATIN1"}, "client_encoding="),
        ({"user": "fn", "replication": "database"}, "replication connections"),
    ],
    ids=["asyncpg", "libpq", "datestyle", "options", "timezone", "latin1", "replication"],
)
def test_startup_settings_that_cannot_follow_a_client_are_refused(
    params: dict[str, str], refused: str | None
) -> None:
    reason = startup_refusal(params)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason and "not supported" in reason

"""The database proxy: PostgreSQL for sandboxed functions through a few pooled connections.

Way 1, the bundled clients (``native``), and way 2, ordinary drivers speaking the PostgreSQL
protocol (``wire``), share one ``pool`` of raw server connections per proxy (``server``); ``proxy``
serves one proxy's Unix sockets, ``manager`` the proxies of a process. docs/dbproxy-and-file-systems.md
has the whole picture.

What clients see when something goes wrong is PostgreSQL's own ErrorResponse (SQLSTATE + message).
Inside, errors are::

    ServerError(ConnectionError)      code = SQLSTATE sent to the client
    ├── BorrowTimeout                 53300: no connection free within the borrow timeout
    └── (raised as is)                08001 unreachable, 08006 lost, 28xxx refused login
    TargetError(ValueError)           a target URL that is not postgresql://
    SealError(ValueError)             a stored target this secret key cannot open
    SocketPathTooLong(ValueError)     a socket directory too deep for a Unix socket path
    pgwire.StreamClosed(ConnectionError)   a peer went away (ends that side's session)
    pgwire.ProtocolViolation(ValueError)   bytes that are not PostgreSQL messages
"""

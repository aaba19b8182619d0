"""The foundation: what every layer above the language stands on.

Settings (``foundation.settings``), the registry's tables and queries (``foundation.registry``), the
registry database's migrations check (``foundation.db``), secret sealing (``foundation.sealing``), the
data directory (``foundation.datadir``) and the start-up checks every entry point runs
(``foundation.preflight``). It imports only the language (``statemachine``) and libraries: never the
runtime (``workers``), the API (``api``) or the shell (``shell``).
"""

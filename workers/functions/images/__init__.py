"""Container-image functions without a container daemon.

An image arrives as an OCI image layout (a directory or its tar) or a ``docker save`` tarball
(``sources``, ``manifests``); its blobs are stored content-addressed and verified, layers shared
between images (``store``); its layers are applied once into a root file system, refusing what a
hostile tenant could use against the host (``layers``); a function naming it runs that root file
system read-only under bubblewrap (``run`` says what to start, ``workers.functions.sandbox`` binds it).
"""

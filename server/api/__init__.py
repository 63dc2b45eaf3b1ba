"""The REST API and the pages: routes, the model routes, the OpenAPI description.

Every route answers errors in one JSON shape (``server/errors.py``). Limits are applied for every
``/api/`` route by one hook (``server/access/limits.py``), not route by route.

May import: ``server.access``, ``server.serving``, ``server.storage``, ``server.versions``,
``server.live.protocol`` (the payload parsers both entry points share) and the top-level modules.
"""

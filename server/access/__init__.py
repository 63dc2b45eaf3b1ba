"""Who may do what, and how much: the teacher key, owner tokens, pseudonyms, addresses, rooms and limits.

Every budget (per connection, per address, per REST caller) lives in ``limits.py``; the inference
queue's fair share per address is a share of the queue and lives with it.

May import: ``server.storage`` (opened rooms are kept in the store) and the top-level modules
(``config``, ``errors``, ``logs``): everything else asks it, it asks nothing above it.
"""

"""Streams as content (issue 15): registration and declarations (`registration.py`), the monitor's
progress, lease and notes (`store.py`), playlists (`playlists.py`), segment sampling (`sampling.py`),
fragment C2PA (`fragments.py`), the work queue (`queue.py`) and the monitor itself (`monitor.py`).
The `streams` and `stream_notes` tables belong to this package."""

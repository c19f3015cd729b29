"""Optuna storages as cellsearch uses them.

- urls.py: what a `storage.url` names (SQLite file, journal file, server), its default, its password masked
- locks.py: the setup lock and the admission locks (a file lock on one machine, an advisory lock on PostgreSQL)
- journal.py: Optuna's journal file, appended so that a killed writer leaves no torn record
- open.py: open the storage a URL names, with one-line errors
"""

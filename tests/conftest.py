"""The fixtures the tests share: the real data folder, and fresh databases on the local PostgreSQL and Redis
servers (skipped when absent, failed when CI requires them). Plain helpers are in support.py."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from support import require_data, service_or_skip

# the kernel measurements (search/kernels.py) of this test session in a folder of its own, shared with the runs the
# tests start (they inherit the environment), not the user's cache
os.environ["CELLSEARCH_CACHE_DIR"] = tempfile.mkdtemp(prefix="cellsearch-test-cache-")


@pytest.fixture
def rt_polarity_dir() -> Path:
    return require_data("rt-polarity")


@pytest.fixture
def postgres_url():
    """A fresh database on the local PostgreSQL server (127.0.0.1:5432, trust auth), dropped afterwards."""
    import uuid

    import psycopg

    admin = os.environ.get("CELLSEARCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
    service_or_skip("PostgreSQL at 127.0.0.1:5432", lambda: psycopg.connect(admin, connect_timeout=5).close())
    name = f"cellsearch_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield admin.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def redis_url():
    import redis

    url = os.environ.get("CELLSEARCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    service_or_skip("Redis at 127.0.0.1:6379", lambda: redis.Redis.from_url(url, socket_timeout=5).ping())
    yield url

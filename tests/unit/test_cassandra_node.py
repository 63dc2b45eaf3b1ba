"""The test node's start-up: a node that hangs is started once more, and a failure shows the node's log."""

import subprocess
import sys
from pathlib import Path

import pytest

from scripts.cassandra_node import Node
from tests.support.server_process import free_port

HANGS = "print('stuck', flush=True); import time; time.sleep(600)"
LISTENS = """
import socket, sys, time
print("listening", flush=True)
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
time.sleep(600)
"""


class StandIn(Node):
    """A node whose launches are scripted: each entry of ``hangs`` says whether that launch never listens."""

    def __init__(self, root: Path, port: int, hangs: list[bool]) -> None:
        super().__init__(root, port=port)
        self.hangs, self.launches = hangs, 0

    def spawn(self) -> subprocess.Popen:
        hang = self.hangs[self.launches]
        self.launches += 1
        command = [sys.executable, "-c", HANGS if hang else LISTENS, str(self.port)]
        with open(self.log_file, "ab") as log:
            return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def test_a_node_that_hangs_in_start_up_is_killed_and_started_once_more(tmp_path):
    node = StandIn(tmp_path, free_port(), hangs=[True, False])
    try:
        node.start(timeout=2)
        assert node.launches == 2
        assert node.accepts_connections()
        assert node.log_file.read_text().split() == ["stuck", "listening"]
    finally:
        node.kill()


def test_a_node_that_hangs_twice_is_killed_and_fails_with_its_log(tmp_path):
    node = StandIn(tmp_path, free_port(), hangs=[True, True])
    with pytest.raises(TimeoutError, match=r"within 1 s; its log ends with:\nstuck\nstuck"):
        node.start(timeout=1)
    assert node.launches == 2
    assert node.running_pid() is None, "the hung node is not left holding its ports"

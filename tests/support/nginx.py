"""Run the shipped ``deploy/nginx.conf`` with the real nginx, unprivileged, in a temporary folder.

The file is a ``conf.d`` include of the ``nginx`` image (http context). ``render`` makes a
runnable copy: the upstream hosts that only resolve inside compose (web1, web2) become
127.0.0.1 at a given port, the listen ports become free local ones, the commented-out TLS
server block is uncommented with a throwaway self-signed certificate, and pid, logs and
temporary files and the access log go into the folder. Every substitution must match, so a reshaped config
fails here rather than being tested half.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import requests

from tests.support.server_process import ROOT, free_port

CONFIG = ROOT / "deploy" / "nginx.conf"


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    assert found, "nginx is missing: run scripts/install-system-deps.sh (make system-deps)"
    return found


def version() -> tuple[int, ...]:
    output = subprocess.run([nginx_binary(), "-v"], capture_output=True, text=True, check=True).stderr
    return tuple(int(part) for part in re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", output).groups())


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
    subprocess.run(
        [*request, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def substitute(text: str, pattern: str, replacement: str, count: int) -> str:
    text, made = re.subn(pattern, replacement, text, flags=re.M)
    assert made == count, f"{pattern!r} matched {made} times in deploy/nginx.conf, expected {count}"
    return text


def uncomment_tls_block(text: str) -> str:
    """The example ``# server { … # }`` block at the end, as live configuration."""
    start = text.index("\n# server {")
    block = text[start:]
    assert block.rstrip().endswith("# }"), "the TLS example is the file's last block"
    live = "\n".join(re.sub(r"^# ?", "", line) for line in block.splitlines())
    return text[:start] + live + "\n"


def render(folder: Path, upstream_port: int, http_port: int, tls_port: int, site: str | None = None) -> Path:
    """A runnable main config in ``folder`` around (a copy of) the shipped site config; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(folder)
    text = uncomment_tls_block(CONFIG.read_text() if site is None else site)
    text = substitute(text, r"^(\s*)server web\d+:8000;", rf"\g<1>server 127.0.0.1:{upstream_port};", 2)
    text = substitute(text, r"^(\s*)listen 80;", rf"\g<1>listen 127.0.0.1:{http_port};", 1)
    text = substitute(text, r"^(\s*)listen 443 ssl;", rf"\g<1>listen 127.0.0.1:{tls_port} ssl;", 1)
    text = substitute(text, r"/etc/nginx/certs/fullchain\.pem", str(cert), 1)
    text = substitute(text, r"/etc/nginx/certs/privkey\.pem", str(key), 1)
    text = substitute(text, r"/var/log/nginx/access\.log", str(folder / "access.log"), 2)
    if version() < (1, 25, 1):  # the compose image's "http2 on;" is newer than this nginx: the old spelling
        text = substitute(text, r"^\s*http2 on;\n", "", 1)
        text = substitute(text, rf"listen 127\.0\.0\.1:{tls_port} ssl;", f"listen 127.0.0.1:{tls_port} ssl http2;", 1)
    (folder / "site.conf").write_text(text)
    temporary = "\n".join(
        f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = folder / "nginx.conf"
    main.write_text(
        f"daemon off;\nmaster_process off;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\n"
        f"events {{ worker_connections 1024; }}\n"
        f"http {{\n    access_log off;\n{temporary}\n    include {folder / 'site.conf'};\n}}\n"
    )
    return main


def command(main: Path, *arguments: str) -> list[str]:
    return [nginx_binary(), "-p", str(main.parent), "-e", str(main.parent / "error.log"), "-c", str(main), *arguments]


def check(main: Path) -> subprocess.CompletedProcess:
    """``nginx -t`` on the rendered config."""
    return subprocess.run(command(main, "-t"), capture_output=True, text=True)


def start(folder: Path, upstream: int, site: str | None = None) -> tuple[subprocess.Popen, str, str]:
    """nginx with the shipped config in front of the server on port ``upstream``, answering: the process and
    its plain and TLS base URLs."""
    http, tls = free_port(), free_port()
    main = render(folder, upstream, http, tls, site)
    checked = check(main)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command(main), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            requests.get(f"http://127.0.0.1:{http}/healthz", timeout=1)
            break
        except requests.ConnectionError:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.05)
    return process, f"http://127.0.0.1:{http}", f"https://127.0.0.1:{tls}"

"""The container files, checked statically (no Docker engine runs here): they must agree
with the code, the Procfile and each other."""

import os
import re
import shlex
import subprocess
import sys

import pytest
import yaml

from server.config import DEFAULTS
from server.storage.urls import open_store
from tests.support import nginx
from tests.support.server_process import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
WEB = [name for name in SERVICES if name.startswith("web")]


def test_compose_has_replicas_cassandra_redis_and_a_proxy():
    assert len(WEB) >= 2
    assert SERVICES["cassandra"]["image"].startswith("cassandra:")
    assert SERVICES["redis"]["image"].startswith("redis:")
    assert "proxy" in SERVICES


def test_dependencies_name_existing_services():
    for name, service in SERVICES.items():
        dependencies = service.get("depends_on", {})
        for dependency in dependencies if isinstance(dependencies, list) else dependencies.keys():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"


@pytest.mark.parametrize("name", [*WEB, "release"])
def test_web_environment_uses_real_settings_and_real_hosts(name):
    environment = SERVICES[name]["environment"]
    assert set(environment) <= set(DEFAULTS), "every variable is a setting the server reads"
    store = open_store(environment["STORE_URL"])
    assert store.hosts == ["cassandra"]
    assert re.match(r"redis://redis:6379/\d+$", environment["MESSAGE_QUEUE_URL"])


def test_proxy_is_sticky_and_points_at_the_replicas():
    proxy = SERVICES["proxy"]
    source = proxy["volumes"][0].split(":")[0]
    config = (ROOT / source).read_text()
    assert "ip_hash;" in config
    upstreams = re.findall(r"server (\w+):(\d+);", config)
    assert sorted(host for host, _ in upstreams) == sorted(WEB)
    assert {port for _, port in upstreams} == {SERVICES[WEB[0]]["environment"]["PORT"]}
    assert "Upgrade $http_upgrade" in config, "websockets pass through"


def test_dockerfile_is_slim_non_root_with_a_healthcheck():
    assert re.search(r"^FROM python:3\.\d+-slim", DOCKERFILE, re.M)
    user = re.search(r"^USER (\S+)", DOCKERFILE, re.M).group(1)
    assert user not in {"root", "0"}
    assert "/healthz" in re.search(r"^HEALTHCHECK .*(?:\n .*)*", DOCKERFILE, re.M).group(0)


def test_dockerfile_copies_what_exists_and_bakes_the_model_in():
    sources = [source for line in re.findall(r"^COPY (.+)$", DOCKERFILE, re.M) for source in line.split()[:-1]]
    for source in sources:
        assert (ROOT / source).exists(), source
    assert "model/" in sources


def test_dockerfile_runs_the_procfile_web_process():
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    words = shlex.split(procfile["web"])
    settings = [word for word in words if re.match(r"^[A-Z_]+=", word)]
    command = re.search(r'^CMD \["sh", "-c", "exec (.+)"\]$', DOCKERFILE, re.M).group(1)
    assert shlex.split(command) == words[len(settings) :]
    for setting in settings:  # what the Procfile sets on the command line, the image sets as ENV
        assert re.search(rf"^\s+{re.escape(setting)}\b", DOCKERFILE, re.M), setting
    assert SERVICES["release"]["command"] == shlex.split(procfile["release"])


def test_proxy_port_is_what_nginx_listens_on():
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    listen = re.search(r"listen (\d+);", config).group(1)
    published = [mapping.split(":")[1] for mapping in SERVICES["proxy"]["ports"]]
    assert published == [listen]


def test_readme_commands_match_the_container_files():
    readme = (ROOT / "README.md").read_text()
    port = re.search(r"^EXPOSE (\d+)$", DOCKERFILE, re.M).group(1)
    assert f"docker run -p {port}:{port}" in readme
    assert re.search(rf"^\s+PORT={port}\b", DOCKERFILE, re.M)
    assert "docker compose up --build" in readme
    published = SERVICES["proxy"]["ports"][0].split(":")[0]
    assert f"http://localhost:{published}" in readme


def active_nginx_lines() -> list[str]:
    """nginx.conf without its comments (the TLS example is commented out)."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def test_proxy_limits_requests_and_connections_per_address():
    lines = active_nginx_lines()
    zones = {re.search(r"zone=(\w+)", line).group(1) for line in lines if line.startswith("limit_req_zone")}
    connection_zones = {re.search(r"zone=(\w+)", line).group(1) for line in lines if line.startswith("limit_conn_zone")}
    assert zones, "a limit_req_zone"
    assert connection_zones, "a limit_conn_zone"
    used = [re.search(r"zone=(\w+)", line).group(1) for line in lines if line.startswith("limit_req ")]
    assert used.count(next(iter(zones))) >= 2, "both locations are rate limited"
    assert any(line.split()[1] in connection_zones for line in lines if line.startswith("limit_conn "))


def test_proxy_forwards_the_scheme_and_documents_tls():
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    assert active_nginx_lines().count("proxy_set_header X-Forwarded-Proto $scheme;") == 2
    for example in (
        "#     listen 443 ssl;",
        "#     ssl_certificate ",
        "#         proxy_set_header X-Forwarded-Proto $scheme;",
    ):
        assert example in config
    assert "Strict-Transport-Security" not in config, "the server sends HSTS itself (once) over HTTPS"


@pytest.mark.parametrize("name", WEB)
def test_web_replicas_trust_one_proxy(name):
    assert SERVICES[name]["environment"]["PROXY_COUNT"] == "1"
    assert DEFAULTS["PROXY_COUNT"] == 0, "without a proxy nothing forwarded is trusted"


def test_nginx_accepts_the_shipped_config_and_its_tls_example(tmp_path):
    """The real ``nginx -t`` on deploy/nginx.conf with the TLS block uncommented (tests/support/nginx.py)."""
    checked = nginx.check(nginx.render(tmp_path, upstream_port=9, http_port=8080, tls_port=8443))
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


@pytest.mark.parametrize(
    ("directive", "broken"),
    [
        ("limit_req zone=per_address burst=40", "limit_req zone=no_such_zone burst=40"),
        ("#     ssl_protocols TLSv1.2 TLSv1.3;", "#     ssl_protocols TLSv1.2 TLSv9;"),
    ],
)
def test_nginx_check_fails_on_a_broken_directive(tmp_path, directive, broken):
    """The check above bites: one bad directive, in the live block or the TLS example, fails it."""
    site = nginx.CONFIG.read_text()
    assert directive in site
    checked = nginx.check(nginx.render(tmp_path, 9, 8080, 8443, site=site.replace(directive, broken, 1)))
    assert checked.returncode != 0
    assert "test failed" in checked.stderr


def test_both_server_blocks_limit_and_forward_the_same_way():
    """The TLS example is the live block plus TLS: the same limits, upgrade and forwarded headers."""
    text = nginx.CONFIG.read_text()
    start = text.index("\n# server {")
    live = [line.strip() for line in active_nginx_lines() if not line.startswith(("upstream", "server ", "ip_hash"))]
    example = [line.lstrip("#").strip() for line in text[start:].splitlines() if line.lstrip("#").strip()]
    for line in (
        "limit_conn connections 200;",
        "limit_req zone=per_address burst=100 nodelay;",
        "limit_req zone=per_address burst=40 nodelay;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "error_page 429 = @rate_limited;",
        "add_header Retry-After 1 always;",
    ):
        assert line in live, line
        assert line in example, line
    assert live.count("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;") == 2
    assert example.count("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;") == 2


def test_dockerfile_compiles_the_png_kernel_into_a_cache_the_server_loads(tmp_path):
    """The image's build step, run here with its ``NUMBA_CACHE_DIR``: a later process loads the compiled
    kernel from that cache (a hit, no compiling) instead of spending a second on it at its first frame."""
    cache = re.search(r"NUMBA_CACHE_DIR=(\S+)", DOCKERFILE).group(1)
    build = re.search(r'^RUN (python -c "[^"]+") && chown -R digits:digits (\S+)$', DOCKERFILE, re.M)
    assert build.group(2) == cache
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    command = shlex.split(build.group(1))
    assert command[0] == "python"  # the image's interpreter: here, the one running the tests
    subprocess.run([sys.executable, *command[1:]], cwd=ROOT, env=environment, check=True, timeout=300)
    assert list(tmp_path.rglob("*.nbi")), "the build left an index of compiled functions"
    loaded = (
        "from model.runtime import png; kernel = png.compiled_kernel(); print(sum(kernel.stats.cache_hits.values()))"
    )
    hits = subprocess.run(
        [sys.executable, "-c", loaded], cwd=ROOT, env=environment, check=True, timeout=300, capture_output=True
    )
    assert int(hits.stdout) >= 1

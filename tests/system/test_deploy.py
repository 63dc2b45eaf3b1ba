"""The container files, checked statically (no Docker engine runs here): they must agree
with the code, the Procfile and each other."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from model.training import fonts
from server.config import DEFAULTS
from server.config import ROOT as SERVER_ROOT
from server.storage.urls import open_store
from tests.support import nginx
from tests.support.server_process import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
WEB = [name for name in SERVICES if name.startswith("web")]
# The Dockerfile's stages: name -> (the stage it is built FROM, its lines). `docker build .` builds the last one.
STAGES = {
    name: (parent, body)
    for parent, name, body in re.findall(r"^FROM (\S+) AS (\S+)\n(.*?)(?=^FROM |\Z)", DOCKERFILE, re.M | re.S)
}
TRAINING_PACKAGES = ("tensorflow", "keras", "requirements-train", "requirements-dev")


def installed_requirements(stage: str) -> list[str]:
    """The requirement files a stage's own lines install with pip."""
    return re.findall(r"pip install .*-r (\S+)", STAGES[stage][1])


def in_image(setting: str) -> str:
    """A path setting's default (under the repository) as it is in the image (under WORKDIR)."""
    workdir = re.search(r"^WORKDIR (\S+)$", DOCKERFILE, re.M).group(1)
    return str(Path(workdir) / Path(DEFAULTS[setting]).relative_to(SERVER_ROOT))


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


@pytest.mark.parametrize("name", [*WEB, "release", "retrain"])
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


def test_the_serving_image_has_no_tensorflow():
    """`docker build .` builds the last stage, `web`: the runtime stage's requirements.txt and nothing else."""
    assert list(STAGES)[-1] == "web"
    parent = STAGES["web"][0]
    assert STAGES[parent][0].startswith("python:"), "web is built on the first stage, not on the retrain stage"
    assert installed_requirements(parent) == ["requirements.txt"]
    assert installed_requirements("web") == []
    for stage in (parent, "web"):
        for line in re.findall(r"^(?:RUN|COPY) .*$", STAGES[stage][1], re.M):
            assert not any(package in line.lower() for package in TRAINING_PACKAGES), line
    requirements = (ROOT / "requirements.txt").read_text().lower()
    assert not re.search(r"^(tensorflow|keras)", requirements, re.M)
    for name in [*WEB, "release"]:
        assert SERVICES[name]["build"] == {"context": ".", "target": "web"}, name


def test_compose_retrains_in_its_own_service_on_the_shared_models_volume():
    """The retrain service: the retrain stage (the runtime stage plus requirements-train.txt), the store the web
    replicas log to, and the models volume they serve from; only started when asked for (`docker compose run`)."""
    retrain = SERVICES["retrain"]
    assert retrain["build"] == {"context": ".", "target": "retrain"}
    assert STAGES["retrain"][0] == STAGES["web"][0], "the same code and serving packages as the web image"
    assert installed_requirements("retrain") == ["requirements-train.txt"]
    assert retrain["profiles"], "`docker compose up` does not start it"
    assert retrain["environment"]["STORE_URL"] == SERVICES[WEB[0]]["environment"]["STORE_URL"]
    models = in_image("MODELS_DIR")
    shared = {volume.split(":")[0] for volume in retrain["volumes"] if volume.split(":")[1] == models}
    assert shared, f"the retrain service mounts a volume at {models}"
    assert shared <= set(COMPOSE["volumes"])
    for name in WEB:
        assert shared <= {volume.split(":")[0] for volume in SERVICES[name]["volumes"] if volume.endswith(f":{models}")}


def test_the_retrain_stage_runs_make_retrains_command_with_mnist_and_the_fonts():
    body = STAGES["retrain"][1]
    makefile = (ROOT / "Makefile").read_text()
    command = re.search(r"^retrain:.*\n\t\$\(PY\) (.+)$", makefile, re.M).group(1)
    assert re.search(r"^CMD (.+)$", body, re.M).group(1) == str(["python", *command.split()]).replace("'", '"')
    assert re.search(r"^RUN python -m model\.training\.data\b", body, re.M), "MNIST, which the retrain's gate reads"
    installed = set(
        re.search(r"apt-get install -y --no-install-recommends ((?:\S+[ \\\n]+)+?)&&", body).group(1).split()
    )
    assert set(fonts.packages()) <= installed - {"\\"}
    assert re.search(r"^USER (\S+)$", body, re.M).group(1) not in {"root", "0"}


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


def test_documented_commands_match_the_container_files():
    """docs/scaling.md's container commands (the README links there)."""
    doc = (ROOT / "docs" / "scaling.md").read_text()
    port = re.search(r"^EXPOSE (\d+)$", DOCKERFILE, re.M).group(1)
    assert f"docker run -p {port}:{port}" in doc
    assert re.search(rf"^\s+PORT={port}\b", DOCKERFILE, re.M)
    assert "docker compose up --build" in doc
    published = SERVICES["proxy"]["ports"][0].split(":")[0]
    assert f"http://localhost:{published}" in doc
    assert "docker compose run --rm retrain" in doc


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
    locations = [line for line in lines if line.startswith("location ") and "@" not in line]
    assert len(used) == len(locations), "every proxied location is rate limited"
    assert set(used) <= zones
    assert any(line.split()[1] in connection_zones for line in lines if line.startswith("limit_conn "))


def test_proxy_forwards_the_scheme_and_documents_tls():
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    lines = active_nginx_lines()
    assert lines.count("proxy_set_header X-Forwarded-Proto $scheme;") == lines.count("proxy_pass http://digits;")
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
        "limit_req zone=page_files burst=1000 nodelay;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "error_page 429 = @rate_limited;",
        "add_header Retry-After 1 always;",
    ):
        assert line in live, line
        assert line in example, line
    forwarded = "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;"
    assert live.count(forwarded) == example.count(forwarded) == live.count("proxy_pass http://digits;")


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
        "from model.runtime import kernels; kernels.warm(); "
        "print(min(sum(kernels.compiled(*kernel).stats.cache_hits.values()) for kernel in kernels.KERNELS))"
    )
    hits = subprocess.run(
        [sys.executable, "-c", loaded], cwd=ROOT, env=environment, check=True, timeout=300, capture_output=True
    )
    assert int(hits.stdout) >= 1

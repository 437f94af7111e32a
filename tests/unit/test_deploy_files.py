"""The Procfile, docker-compose.yml, the gateway's Caddyfile and the install scripts describe the same
processes (compose cannot run here)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.cli import _select_processes
from shared.config import SERVICES

ROOT = Path(__file__).resolve().parents[2]
#: the processes beside the six services' web and worker ones
CONSOLE_PORT = 8000
GATEWAY_PORT = 8080
CADDY_RUN = "caddy run --config deploy/Caddyfile --adapter caddyfile"


def _procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def test_procfile_has_one_web_and_one_worker_per_service_the_console_and_the_gateway() -> None:
    procs = _procfile()
    assert set(procs) == set(SERVICES) | {f"{s}_worker" for s in SERVICES} | {"console", "gateway"}
    for service in [*SERVICES, "console"]:
        assert f"'services.{service}.app:create_app()'" in procs[service]
    for service in SERVICES:
        assert procs[f"{service}_worker"] == f"exec yunkefu worker {service}"
    assert procs["gateway"].startswith("exec env ") and procs["gateway"].endswith(f" {CADDY_RUN}")


def _gunicorn_args(command: str, env: dict[str, str]) -> list[str]:
    """The arguments the shell honcho starts would pass to gunicorn, with this environment."""
    assert command.startswith("exec gunicorn ")
    shown = "exec printf '%s\\n' " + command.removeprefix("exec gunicorn ")
    out = subprocess.run(["sh", "-c", shown], env={"PATH": os.environ["PATH"], **env}, capture_output=True)
    return out.stdout.decode().splitlines()


def _bind(args: list[str]) -> str:
    return args[args.index("--bind") + 1]


def test_make_run_binds_loopback_by_default_and_bind_host_and_port_offset_move_it() -> None:
    procs = _procfile()
    for service, port in {**SERVICES, "console": CONSOLE_PORT}.items():
        assert _bind(_gunicorn_args(procs[service], {})) == f"127.0.0.1:{port}"
        moved = _gunicorn_args(procs[service], {"BIND_HOST": "0.0.0.0", "PORT_OFFSET": "100"})
        assert _bind(moved) == f"0.0.0.0:{port + 100}"


def _gateway_env(env: dict[str, str]) -> dict[str, str]:
    """The environment the Procfile's gateway line gives caddy (``env`` without a command prints it)."""
    command = _procfile()["gateway"].removesuffix(CADDY_RUN)
    base = {"PATH": os.environ["PATH"]}
    out = subprocess.run(
        ["sh", "-c", command], env={**base, **env}, cwd=ROOT, capture_output=True, check=True
    )
    return dict(line.split("=", 1) for line in out.stdout.decode().splitlines())


def test_make_runs_gateway_listens_on_8080_and_reaches_every_process_also_after_port_offset() -> None:
    for offset in (0, 100):
        env = _gateway_env({"PORT_OFFSET": str(offset)} if offset else {})
        assert env["GATEWAY_PORT"] == str(GATEWAY_PORT + offset)
        assert env["CONSOLE_UPSTREAM"] == f"127.0.0.1:{CONSOLE_PORT + offset}"
        for service, port in SERVICES.items():
            assert env[f"{service.upper()}_UPSTREAM"] == f"127.0.0.1:{port + offset}"
        # caddy's autosaved config and its data stay in the project's git-ignored var/
        for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
            assert env[name] == str(ROOT / "var" / "gateway")


# --- yunkefu run without caddy ----------------------------------------------------------------------------


def test_run_skips_only_the_processes_whose_system_program_is_missing() -> None:
    procs = _procfile()
    selected, skipped = _select_processes(procs, which=lambda program: None)
    assert skipped == {"gateway": "caddy"}
    assert selected == [name for name in procs if name != "gateway"]  # the Procfile's order

    selected, skipped = _select_processes(procs, which=lambda program: f"/usr/bin/{program}")
    assert skipped == {}
    assert selected == list(procs)


def test_run_looks_for_the_program_as_a_word_of_the_command() -> None:
    entries = {"a": "exec env X=1 caddy run", "b": "exec python caddyish.py", "c": "echo caddy"}
    asked: list[str] = []

    def which(program: str) -> str | None:
        asked.append(program)
        return None

    assert _select_processes(entries, which=which) == (["b"], {"a": "caddy", "c": "caddy"})
    assert asked == ["caddy"]


def test_the_readme_gives_the_procfiles_gunicorn_workers_default() -> None:
    procs = _procfile()
    pattern = re.compile(r"--workers \$\{GUNICORN_WORKERS:-(\d+)\}")
    defaults = {m.group(1) for s in SERVICES if (m := pattern.search(procs[s]))}
    assert len(defaults) == 1
    row = next(line for line in (ROOT / "README.md").read_text().splitlines() if "`GUNICORN_WORKERS`" in line)
    assert f"`{defaults.pop()}` with `make run`" in row


def test_make_run_uses_the_wrapper_that_exits_0_on_a_normal_stop_in_development_mode() -> None:
    makefile = (ROOT / "Makefile").read_text()
    run = makefile[makefile.index("\nrun: install") :].split("\n\n")[0]
    assert "yunkefu run" in run and "honcho start" not in run
    assert "run: export YUNKEFU_ENV = development" in makefile
    assert "demo: export YUNKEFU_ENV = development" in makefile


#: compose services that are no Procfile process: the servers and the one-shot set-ups
SERVERS = ("rabbitmq", "postgres", "minio", "minio-setup", "migrate")


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_mirrors_the_procfile() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(SERVERS) <= set(services)
    assert "15672:15672" in services["rabbitmq"]["ports"]  # the management UI
    procs = _procfile()
    # every Procfile process is a compose service, and every compose service but the servers and the
    # one-shots (bucket, migration) is a Procfile process
    assert set(services) - set(SERVERS) == set(procs)
    for service, port in {**SERVICES, "console": CONSOLE_PORT}.items():
        web = services[service]
        assert web["command"][-1] == shlex.split(procs[service])[-1]
        assert web["environment"]["PORT"] == str(port)
        assert f"{port}:{port}" in web["ports"]
        assert web["build"]["dockerfile"] == "deploy/Dockerfile"
    for service in SERVICES:
        assert services[f"{service}_worker"]["command"] == shlex.split(
            procs[f"{service}_worker"].removeprefix("exec ")
        )
    gateway = services["gateway"]
    assert gateway["image"] == "caddy:2"
    assert gateway["command"] == shlex.split(CADDY_RUN.replace("deploy/Caddyfile", "/etc/caddy/Caddyfile"))
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in gateway["volumes"]
    assert f"{GATEWAY_PORT}:{GATEWAY_PORT}" in gateway["ports"]
    assert gateway["environment"]["GATEWAY_PORT"] == str(GATEWAY_PORT)
    assert gateway["environment"]["BIND_HOST"] == "0.0.0.0"  # published: every interface of the container
    init = (ROOT / "deploy" / "postgres-init.sql").read_text()
    for service in [*SERVICES, "console"]:
        assert f"CREATE DATABASE yunkefu_{service};" in init


def test_compose_gives_the_private_key_to_the_console_alone_and_the_public_keys_to_every_process() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    services = compose["services"]
    assert "JWT_SECRET" not in text and "dev-only-secret" not in text
    apps = [name for name, service in services.items() if service.get("image") == "yunkefu:latest"]
    assert set(apps) == {"migrate", "console", *SERVICES, *(f"{s}_worker" for s in SERVICES)}
    for name in apps:
        service = services[name]
        assert service["env_file"] == [{"path": ".env", "required": False}], name
        public = service["environment"]["JWT_PUBLIC_KEYS"]
        assert f"./deploy/keys/public:{public}:ro" in service["volumes"], name
        assert ("secrets" in service) == (name == "console"), name
        assert ("JWT_PRIVATE_KEY_FILE" in service["environment"]) == (name == "console"), name
    assert services["console"]["secrets"] == ["jwt_private_key"]
    assert services["console"]["environment"]["JWT_PRIVATE_KEY_FILE"] == "/run/secrets/jwt_private_key"
    assert compose["secrets"]["jwt_private_key"]["file"].startswith("./deploy/keys/")
    for service, port in SERVICES.items():
        assert (
            services["console"]["environment"][f"CONSOLE_{service.upper()}_URL"] == f"http://{service}:{port}"
        )
    # the keys never reach git or the image
    assert "deploy/keys/" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "COPY deploy " not in dockerfile and "COPY deploy/gunicorn.conf.py " in dockerfile
    # nothing usable in the example: the user fills every value in
    example = [line for line in (ROOT / ".env.example").read_text().splitlines() if line[:1].isalpha()]
    assert all(line.endswith("=") for line in example), example
    makefile = (ROOT / "Makefile").read_text()
    up = makefile[makefile.index("\nup:") :].split("\n\n")[0]
    assert "test -f .env" in up and "JWT_SECRET" not in up
    assert "yunkefu keys generate --dir deploy/keys" in up


def test_compose_stores_uploads_in_minio_and_runs_the_image_read_only() -> None:
    compose = _compose()
    services = compose["services"]
    apps = [name for name, service in services.items() if service.get("image") == "yunkefu:latest"]
    setup = services["minio-setup"]
    # the one-shot makes the bucket the processes use, at the address they use, once MinIO answers
    ((alias, url),) = setup["environment"].items()
    assert alias.startswith("MC_HOST_") and url.endswith("@minio:9000")
    bucket = setup["command"][-1].removeprefix(alias.removeprefix("MC_HOST_") + "/")
    assert setup["command"][:2] == ["mb", "--ignore-existing"]
    assert setup["depends_on"]["minio"]["condition"] == "service_healthy"
    for name in apps:
        env = services[name]["environment"]
        assert env["MEDIA_STORAGE"] == "s3", name
        assert env["S3_BUCKET"] == bucket, name
        assert env["S3_ENDPOINT_URL"] == "http://minio:9000", name
        assert env["AWS_ACCESS_KEY_ID"] == services["minio"]["environment"]["MINIO_ROOT_USER"], name
        assert env["AWS_SECRET_ACCESS_KEY"] == services["minio"]["environment"]["MINIO_ROOT_PASSWORD"], name
        # started only once the bucket is there (directly, or after `migrate`, which waits for it)
        waits = services[name]["depends_on"]
        first = waits.get("minio-setup") or services["migrate"]["depends_on"]["minio-setup"]
        assert "minio-setup" in waits or waits["migrate"]["condition"] == "service_completed_successfully"
        assert first["condition"] == "service_completed_successfully", name
        # as in Kubernetes: nothing but /tmp (and the mounted volumes) is written
        assert services[name]["read_only"] is True and services[name]["tmpfs"] == ["/tmp"], name
    # no password is written into the file: it comes from .env, which .env.example leaves empty
    assert services["minio"]["environment"]["MINIO_ROOT_PASSWORD"] == "${MINIO_ROOT_PASSWORD:-}"
    assert "MINIO_ROOT_PASSWORD=" in (ROOT / ".env.example").read_text().splitlines()
    assert "minio-data" in compose["volumes"]
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "\nUSER 1000:1000\n" in dockerfile  # numeric: Kubernetes can check runAsNonRoot
    # every place a process writes by default lies in /tmp (read_only root file system)
    env_line = next(line for line in dockerfile.splitlines() if line.startswith("ENV HOME="))
    assert "HOME=/tmp" in env_line and "VAR_DIR=/tmp/" in env_line
    for service in SERVICES:
        assert f"/data/media/{service}" in dockerfile  # a fresh volume (MEDIA_STORAGE=local) gets uid 1000


# --- the gateway's Caddyfile ----------------------------------------------------------------------------

CADDYFILE = ROOT / "deploy" / "Caddyfile"


def test_the_caddyfile_routes_every_service_and_reads_the_upstreams_the_procfile_and_compose_set() -> None:
    text = CADDYFILE.read_text()
    for service, port in SERVICES.items():
        assert f"import service {service} {{${service.upper()}_UPSTREAM:127.0.0.1:{port}}}" in text
    assert f"reverse_proxy {{$CONSOLE_UPSTREAM:127.0.0.1:{CONSOLE_PORT}}}" in text
    read = set(re.findall(r"\{\$([A-Z_]+)[:}]", text))
    assert read >= {"GATEWAY_PORT", "BIND_HOST", "CONSOLE_UPSTREAM"}
    upstreams = {name for name in read if name.endswith("_UPSTREAM")}
    assert upstreams == {f"{s.upper()}_UPSTREAM" for s in [*SERVICES, "console"]}
    assert upstreams <= set(_gateway_env({}))
    compose_env = _compose()["services"]["gateway"]["environment"]
    for service, port in {**SERVICES, "console": CONSOLE_PORT}.items():
        assert compose_env[f"{service.upper()}_UPSTREAM"] == f"{service}:{port}"


def _adapt(env: dict[str, str]) -> dict[str, Any]:
    """The JSON config caddy makes of the Caddyfile with this environment (what `caddy run` would load)."""
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.fail(
            "caddy is not installed (sudo apt-get install caddy, or make install as root)", pytrace=False
        )
    out = subprocess.run(
        [caddy, "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env},
        capture_output=True,
        check=True,
    )
    return json.loads(out.stdout)


def _proxied(handlers: list[dict[str, Any]]) -> list[str]:
    """The upstream addresses of every reverse_proxy among these handlers, subroutes included."""
    dials = []
    for handler in handlers:
        if handler["handler"] == "reverse_proxy":
            dials += [upstream["dial"] for upstream in handler["upstreams"]]
        for route in handler.get("routes", []):
            dials += _proxied(route["handle"])
    return dials


def _routes_by_path(
    config: dict[str, Any],
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    (server,) = config["apps"]["http"]["servers"].values()
    by_path, unmatched = {}, []
    for route in server["routes"]:
        paths = [path for match in route.get("match", []) for path in match.get("path", [])]
        for path in paths:
            by_path[path] = route["handle"]
        if not route.get("match"):
            unmatched.append(route)
    return by_path, unmatched


@pytest.mark.parametrize("where", ["make-run", "compose"])
def test_caddy_adapts_the_caddyfile_to_one_route_per_service_api_and_the_console_for_the_rest(
    where: str,
) -> None:
    if where == "compose":
        env = {k: str(v) for k, v in _compose()["services"]["gateway"]["environment"].items()}
        listen = f"0.0.0.0:{GATEWAY_PORT}"
    else:  # the Caddyfile's own defaults
        env, listen = {}, f"127.0.0.1:{GATEWAY_PORT}"

    def host(service: str) -> str:
        return service if where == "compose" else "127.0.0.1"

    config = _adapt(env)
    assert config["admin"] == {"disabled": True}
    (server,) = config["apps"]["http"]["servers"].values()
    assert server["listen"] == [listen]
    by_path, unmatched = _routes_by_path(config)
    for service, port in SERVICES.items():
        api = by_path[f"/api/{service}/v1/*"]
        (rewrite,) = [h for route in api[0]["routes"] for h in route["handle"] if h["handler"] == "rewrite"]
        assert rewrite["uri_substring"] == [
            {"find": f"/api/{service}/v1/", "replace": "/api/v1/", "limit": 1}
        ]
        assert _proxied(api) == [f"{host(service)}:{port}"]
        # the rest of /api/<service>/: its spec, docs and probes, and a 404 for anything else (/metrics)
        public = json.dumps(by_path[f"/api/{service}/*"])
        assert all(
            f'"{path}"' in public
            for path in ("/openapi.json", "/docs", "/docs/assets/*", "/healthz", "/readyz")
        )
        assert '"status_code":404' in public.replace(" ", "")
    # first the body limit, last the console for everything no path matched
    assert unmatched[0]["handle"][0]["handler"] == "request_body"
    assert unmatched[0]["handle"][0]["max_size"] > 20 * 1024 * 1024  # the services' MAX_UPLOAD_BYTES
    assert _proxied(unmatched[-1]["handle"]) == [f"{host('console')}:{CONSOLE_PORT}"]


# --- make install's system packages ---------------------------------------------------------------------

SYSTEM_DEPS = ROOT / "deploy" / "system-deps.sh"
PACKAGES = ["caddy", "chromium", "fonts-noto-cjk", "jq"]


def _system_deps(
    tmp_path: Path, *, uid: int, installed: list[str], env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run deploy/system-deps.sh against stand-ins for id, dpkg-query and apt-get (no sudo on PATH).

    The apt-get stand-in records its arguments and "installs" the packages it is given.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    db = tmp_path / "installed"
    db.write_text("".join(f"{p}\n" for p in installed))
    log = tmp_path / "apt-get.log"
    stubs = {
        "id": f"echo {uid}",
        "dpkg-query": f'for p; do :; done; grep -qx "$p" {db} && printf "install ok installed" || exit 1',
        "apt-get": (
            f'echo "$*" >> {log}; [ "$1" = install ] || exit 0; '
            f'for a in "$@"; do case "$a" in -*|install) ;; *) echo "$a" >> {db};; esac; done'
        ),
    }
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    for tool in ("bash", "grep", "env"):  # what the script itself runs; sudo is deliberately absent
        (bin_dir / tool).symlink_to(shutil.which(tool) or f"/bin/{tool}")
    result = subprocess.run(
        [str(SYSTEM_DEPS)], env={"PATH": str(bin_dir), **(env or {})}, capture_output=True, text=True
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def test_system_deps_installs_the_missing_packages_as_root(tmp_path: Path) -> None:
    result, calls = _system_deps(tmp_path, uid=0, installed=["jq"])
    assert result.returncode == 0, result.stderr
    assert calls == ["install -y -qq --no-install-recommends caddy chromium fonts-noto-cjk"]


def test_system_deps_does_nothing_when_everything_is_installed(tmp_path: Path) -> None:
    result, calls = _system_deps(tmp_path, uid=0, installed=PACKAGES)
    assert (result.returncode, calls, result.stdout, result.stderr) == (0, [], "", "")


def test_system_deps_without_root_prints_the_apt_get_line_and_lets_make_install_go_on(tmp_path: Path) -> None:
    result, calls = _system_deps(tmp_path, uid=1000, installed=["jq", "caddy"])
    assert result.returncode == 0
    assert calls == []
    assert "  sudo apt-get install -y chromium fonts-noto-cjk" in result.stderr.splitlines()


def test_system_deps_required_by_ci_fails_when_it_cannot_install(tmp_path: Path) -> None:
    result, calls = _system_deps(tmp_path, uid=1000, installed=[], env={"SYSTEM_DEPS_REQUIRED": "1"})
    assert result.returncode == 1
    assert calls == []


def test_make_install_runs_system_deps_before_the_venv_and_ci_requires_them() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "install: system-deps $(BIN)/yunkefu" in makefile
    assert "\tdeploy/system-deps.sh" in makefile or "\t@deploy/system-deps.sh" in makefile
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("SYSTEM_DEPS_REQUIRED=1 deploy/system-deps.sh") < ci.index("make test")
    assert "/usr/bin/chromium" in ci
    assert os.access(SYSTEM_DEPS, os.X_OK)


def test_the_readme_opens_with_the_setup_and_ends_it_at_the_console_sign_in() -> None:
    text = (ROOT / "README.md").read_text()
    block = text[text.index("```bash\n") : text.index("```\n", text.index("```bash\n") + 8)]
    assert text.index("```bash\n") < text.index("\n## ")  # before the first section
    for command in ("make install", "make run", "make test"):
        assert f"\n{command} " in block
    setup = text[text.index("```\n", text.index("```bash\n") + 8) + 4 :].strip().split("\n\n")[0]
    assert setup.endswith("open http://127.0.0.1:8000 and sign in")
    for said in ("8080", "caddy chromium fonts-noto-cjk", "apt-get"):
        assert said in setup

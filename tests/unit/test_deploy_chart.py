"""The Helm chart (deploy/helm/yunkefu), rendered with the venv's helm for several sets of values: every core
object is valid for the newest Kubernetes kubernetes-validate knows (strict: no unknown field), the operator
objects carry the fields the chart relies on, and the properties the deployment promises hold (restricted
pods, the private key in the console alone, probes, queue-length scaling, the gateway's routes, egress
limits, the migration hook). The last tests keep the chart, the Procfile and docker-compose.yml in step.

No cluster is needed; the published CRD schemas are not used (see docs/kubernetes.md, "Validation")."""

from __future__ import annotations

import copy
import functools
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from shared.config import SERVICES

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "yunkefu"
HELM = Path(sys.executable).parent / "helm"
RELEASE, NAMESPACE = "kefu", "yk-test"
FULLNAME = f"{RELEASE}-yunkefu"
CONSOLE_PORT = 8000
#: the services that keep uploads (the rest store no file)
FILE_STORES = {"onboarding", "training"}

KEYS = {
    "jwt": {
        "privateKey": "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
        "publicKeys": {
            "console.pub.pem": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"
        },
    }
}
EXTERNAL = {
    "postgresql": {"enabled": False},
    "rabbitmq": {"enabled": False},
    "externalDatabase": {
        "urls": {
            name: f"postgresql://u_{name}:pw@db.example:5432/kefu_{name}" for name in ["console", *SERVICES]
        },
        "networkPeers": [{"ipBlock": {"cidr": "10.20.0.0/24"}}],
    },
    "externalBroker": {
        "url": "amqps://kefu:pw@mq.example:5671/kefu",
        "port": 5671,
        "networkPeers": [{"ipBlock": {"cidr": "10.30.0.0/24"}}],
    },
    "s3": {"endpointUrl": "https://oss.example", "networkPeers": [{"ipBlock": {"cidr": "10.40.0.0/24"}}]},
}
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "external": EXTERNAL,
    "external-secrets": {
        "postgresql": {"enabled": False},
        "rabbitmq": {"enabled": False},
        "externalDatabase": {"existingSecret": "my-db-urls"},
        "externalBroker": {"existingSecret": "my-amqp"},
        "jwt": {
            "existingPrivateKeySecret": "my-signing-key",
            "existingPublicKeysConfigMap": "my-public-keys",
        },
    },
    "s3-off": {"s3": {"enabled": False}},
    "metrics-prefix": {
        "metrics": {"enabled": True},
        "broker": {"prefix": "kefu"},
        "ingress": {"host": "kefu.example.com", "tls": [{"secretName": "t", "hosts": ["kefu.example.com"]}]},
    },
}


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = _merged(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def _values_args(tmp: Path, values: dict[str, Any]) -> list[str]:
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "values.json"
    path.write_text(json.dumps(values))  # JSON is YAML
    return ["-f", str(path)]


def _helm(*args: str) -> subprocess.CompletedProcess[str]:
    assert HELM.exists(), f"{HELM} is missing: `make install` installs helm-binary (pyproject dev deps)"
    return subprocess.run([str(HELM), *args], capture_output=True, text=True, cwd=ROOT)


@functools.cache
def render(name: str) -> tuple[dict[str, Any], ...]:
    values = _merged(KEYS, VALUE_SETS[name])
    args = _values_args(Path(f"/tmp/yk-chart-{name}"), values)
    out = _helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *args)
    assert out.returncode == 0, out.stderr
    return tuple(doc for doc in yaml.safe_load_all(out.stdout) if doc)


def objects(name: str, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in render(name) if o["kind"] == kind}


def pods(name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(owner name, pod template) of every Deployment and Job."""
    for kind in ("Deployment", "Job"):
        for owner, obj in objects(name, kind).items():
            yield owner, obj["spec"]["template"]


def _values() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.yaml").read_text())


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _process(pod: dict[str, Any]) -> tuple[str, str]:
    labels = pod["metadata"]["labels"]
    return labels["yunkefu.dev/process"], labels["app.kubernetes.io/component"]


# --- rendering and schemas --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", VALUE_SETS)
def test_helm_lint_passes_strict(name: str, tmp_path: Path) -> None:
    out = _helm("lint", "--strict", str(CHART), *_values_args(tmp_path, _merged(KEYS, VALUE_SETS[name])))
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_chart_refuses_to_render_without_the_token_keys(tmp_path: Path) -> None:
    out = _helm("template", RELEASE, str(CHART))
    assert out.returncode != 0 and "is required: `yunkefu keys generate` makes a pair" in out.stderr
    half = _merged(KEYS, {"postgresql": {"enabled": False}})
    out = _helm("template", RELEASE, str(CHART), *_values_args(tmp_path, half))
    assert out.returncode != 0 and "externalDatabase.urls.console" in out.stderr


CORE_GROUPS = {"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1"}
CRD_KINDS = {
    "keda.sh/v1alpha1": {"ScaledObject", "TriggerAuthentication"},
    "rabbitmq.com/v1beta1": {"RabbitmqCluster"},
    "postgresql.cnpg.io/v1": {"Cluster", "Database"},
}


@pytest.mark.parametrize("name", VALUE_SETS)
def test_every_core_object_is_valid_for_the_newest_kubernetes_strictly(name: str) -> None:
    version = kubernetes_validate.latest_version()
    assert tuple(int(p) for p in version.split(".")[:2]) >= (1, 33)
    for obj in render(name):
        if obj["apiVersion"] in CORE_GROUPS:
            kubernetes_validate.validate(obj, version, strict=True)
        else:
            assert obj["kind"] in CRD_KINDS[obj["apiVersion"]], obj["kind"]


def test_the_strict_validation_refuses_an_unknown_field() -> None:
    # the check above is not vacuous: a misplaced key (here, a typo in the probe) is an error
    (deployment, *_) = objects("defaults", "Deployment").values()
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/readyz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, kubernetes_validate.latest_version(), strict=True)


def _obj(spec: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": spec,
        "required": required or list(spec),
        "additionalProperties": False,
    }


STR, INT = {"type": "string"}, {"type": "integer"}
NAME_REF = _obj({"name": STR})
#: The fields of the operators' CRDs the chart sets, with their types and places as in the CRDs' documented
#: API (KEDA 2.x, RabbitMQ Cluster Operator 2.x, CloudNativePG 1.25+); additionalProperties is false at every
#: level, so a misspelt or misplaced field fails here as the API server would refuse it.
CRD_SPECS = {
    "ScaledObject": _obj(
        {
            "scaleTargetRef": _obj({"apiVersion": STR, "kind": STR, "name": STR}),
            "minReplicaCount": {"type": "integer", "minimum": 1},
            "maxReplicaCount": INT,
            "pollingInterval": INT,
            "cooldownPeriod": INT,
            "triggers": {
                "type": "array",
                "items": _obj(
                    {
                        "type": {"const": "rabbitmq"},
                        "metadata": _obj(
                            {
                                "protocol": {"enum": ["amqp", "auto"]},
                                "mode": {"const": "QueueLength"},
                                "value": STR,
                                "queueName": STR,
                            }
                        ),
                        "authenticationRef": NAME_REF,
                    }
                ),
            },
        }
    ),
    "TriggerAuthentication": _obj(
        {
            "secretTargetRef": {
                "type": "array",
                "items": _obj({"parameter": {"const": "host"}, "name": STR, "key": STR}),
            }
        }
    ),
    "RabbitmqCluster": _obj(
        {
            "replicas": INT,
            "image": STR,
            "persistence": _obj({"storageClassName": STR, "storage": STR}, ["storage"]),
            "resources": {"type": "object"},
            "rabbitmq": _obj({"additionalConfig": STR}),
        },
        ["replicas", "persistence", "rabbitmq"],
    ),
    "Cluster": _obj(
        {
            "instances": INT,
            "imageName": STR,
            "storage": _obj({"size": STR, "storageClass": STR}, ["size"]),
            "resources": {"type": "object"},
            "bootstrap": _obj({"initdb": _obj({"database": STR, "owner": STR, "secret": NAME_REF})}),
            "managed": _obj(
                {
                    "roles": {
                        "type": "array",
                        "items": _obj(
                            {
                                "name": STR,
                                "ensure": {"enum": ["present", "absent"]},
                                "login": {"type": "boolean"},
                                "passwordSecret": NAME_REF,
                            }
                        ),
                    }
                }
            ),
        },
        ["instances", "storage", "bootstrap", "managed"],
    ),
    "Database": _obj(
        {
            "cluster": NAME_REF,
            "name": STR,
            "owner": STR,
            "ensure": {"enum": ["present", "absent"]},
            "databaseReclaimPolicy": {"enum": ["retain", "delete"]},
        }
    ),
}


@pytest.mark.parametrize("name", ["defaults", "metrics-prefix"])
def test_the_operator_objects_use_only_fields_of_their_crds(name: str) -> None:
    seen = set()
    for obj in render(name):
        if obj["apiVersion"] in CRD_KINDS:
            jsonschema.validate(obj["spec"], CRD_SPECS[obj["kind"]])
            assert set(obj) == {"apiVersion", "kind", "metadata", "spec"}
            seen.add(obj["kind"])
    assert seen == set(CRD_SPECS)


# --- pods -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", VALUE_SETS)
def test_every_pod_runs_restricted_non_root_on_a_read_only_root_with_tmp_writable(name: str) -> None:
    count = 0
    for owner, pod in pods(name):
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, owner
        assert spec["securityContext"]["runAsUser"] == 1000, owner  # the image's uid (deploy/Dockerfile)
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, owner
        assert spec["automountServiceAccountToken"] is False, owner
        tmp = next(v for v in spec["volumes"] if v["name"] == "tmp")
        assert "emptyDir" in tmp, owner
        for container in spec["containers"] + spec.get("initContainers", []):
            sc = container["securityContext"]
            assert sc["runAsNonRoot"] is True, owner
            assert sc["allowPrivilegeEscalation"] is False, owner
            assert sc["readOnlyRootFilesystem"] is True, owner
            assert sc["capabilities"] == {"drop": ["ALL"]}, owner
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, owner
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], owner
            count += 1
    assert count == 1 + 2 * len(SERVICES) + 1  # console, web + worker per service, the migration


@pytest.mark.parametrize("name", ["defaults", "external-secrets"])
def test_the_private_key_reaches_the_console_alone_and_the_public_keys_every_process(name: str) -> None:
    private = "my-signing-key" if name == "external-secrets" else f"{FULLNAME}-jwt-private"
    public = "my-public-keys" if name == "external-secrets" else f"{FULLNAME}-jwt-public"
    if name == "defaults":
        assert set(objects(name, "Secret")[private]["stringData"]) == {"private.pem"}
        assert set(objects(name, "ConfigMap")[public]["data"]) == {"console.pub.pem"}
    holders = []
    for owner, pod in pods(name):
        secrets = {v["secret"]["secretName"] for v in pod["spec"]["volumes"] if "secret" in v}
        (container,) = pod["spec"]["containers"]
        env = _env(container)
        if private in secrets:
            holders.append(_process(pod))
            mount = next(m for m in container["volumeMounts"] if m["name"] == "jwt-private")
            assert env["JWT_PRIVATE_KEY_FILE"] == f"{mount['mountPath']}/private.pem"
            volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "jwt-private")
            assert volume["secret"]["defaultMode"] == 0o440  # read through the fsGroup, by nobody else
        else:
            assert "JWT_PRIVATE_KEY_FILE" not in env, owner
        if _process(pod)[1] != "migrate":  # migrations verify no token
            (keys,) = [v for v in pod["spec"]["volumes"] if v.get("configMap", {}).get("name") == public]
            mount = next(m for m in container["volumeMounts"] if m["name"] == keys["name"])
            config = objects(name, "ConfigMap")[f"{FULLNAME}-env"]["data"]
            assert mount["mountPath"] == config["JWT_PUBLIC_KEYS"] and mount["readOnly"] is True
    assert holders == [("console", "web")]


def _deployment(name: str, process: str, component: str) -> dict[str, Any]:
    suffix = "-worker" if component == "worker" else ""
    return objects(name, "Deployment")[f"{FULLNAME}-{process}{suffix}"]


def test_every_web_has_startup_liveness_on_healthz_readiness_on_readyz_and_drains_before_sigkill() -> None:
    values = _values()["web"]
    for process, port in {"console": CONSOLE_PORT, **SERVICES}.items():
        deployment = _deployment("defaults", process, "web")
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        for probe, path in (
            ("startupProbe", "/healthz"),
            ("livenessProbe", "/healthz"),
            ("readinessProbe", "/readyz"),
        ):
            assert container[probe]["httpGet"] == {"path": path, "port": "http"}, (process, probe)
        env = _env(container)
        assert env["PORT"] == str(port)
        graceful = int(env["GUNICORN_GRACEFUL_TIMEOUT"])
        assert graceful == values["gracefulTimeoutSeconds"]
        sleep = container["lifecycle"]["preStop"]["exec"]["command"]
        assert sleep[0] == "sleep" and int(sleep[1]) > 0
        # the endpoint goes, then SIGTERM, then gunicorn's drain: all before the kubelet's SIGKILL
        assert pod["terminationGracePeriodSeconds"] > int(sleep[1]) + graceful, process
        assert "replicas" not in deployment["spec"]  # the HPA owns it
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    for service in SERVICES:
        worker = _deployment("defaults", service, "worker")["spec"]["template"]["spec"]
        assert worker["terminationGracePeriodSeconds"] == 60
        assert "readinessProbe" not in worker["containers"][0]  # a worker serves no traffic


def test_every_web_has_a_service_a_cpu_autoscaler_and_a_disruption_budget_and_every_worker_a_budget() -> None:
    services = objects("defaults", "Service")
    hpas = objects("defaults", "HorizontalPodAutoscaler")
    pdbs = objects("defaults", "PodDisruptionBudget")
    assert len(hpas) == 1 + len(SERVICES) and len(pdbs) == 1 + 2 * len(SERVICES)
    for process, port in {"console": CONSOLE_PORT, **SERVICES}.items():
        deployment = _deployment("defaults", process, "web")
        name = deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert services[name]["spec"]["ports"][0]["port"] == port
        assert services[name]["spec"]["selector"].items() <= labels.items()
        hpa = hpas[name]["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
        assert pdbs[name]["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    for service in SERVICES:
        worker = _deployment("defaults", service, "worker")
        assert pdbs[worker["metadata"]["name"]]["spec"]["selector"]["matchLabels"].items() <= (
            worker["spec"]["template"]["metadata"]["labels"].items()
        )
    # without autoscaling the Deployment says how many
    off = _merged(
        KEYS,
        {"web": {"autoscaling": {"enabled": False}, "replicas": 3}, "worker": {"keda": {"enabled": False}}},
    )
    out = _helm("template", RELEASE, str(CHART), *_values_args(Path("/tmp/yk-chart-noscale"), off))
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert not [
        d for d in docs if d["kind"] in ("HorizontalPodAutoscaler", "ScaledObject", "TriggerAuthentication")
    ]
    replicas = {d["metadata"]["name"]: d["spec"]["replicas"] for d in docs if d["kind"] == "Deployment"}
    assert replicas[f"{FULLNAME}-console"] == 3 and replicas[f"{FULLNAME}-billing-worker"] == 1


@pytest.mark.parametrize("name", ["defaults", "external", "external-secrets", "metrics-prefix"])
def test_every_service_has_a_worker_scaled_by_keda_on_its_own_queue(name: str) -> None:
    prefix = _merged(_values(), VALUE_SETS[name])["broker"]["prefix"]
    scaled = objects(name, "ScaledObject")
    (auth,) = objects(name, "TriggerAuthentication").values()
    (host,) = auth["spec"]["secretTargetRef"]
    assert host["parameter"] == "host"
    assert set(scaled) == {f"{FULLNAME}-{s}-worker" for s in SERVICES}
    for service in SERVICES:
        worker = _deployment(name, service, "worker")
        (container,) = worker["spec"]["template"]["spec"]["containers"]
        spec = scaled[worker["metadata"]["name"]]["spec"]
        assert spec["scaleTargetRef"]["name"] == worker["metadata"]["name"]
        assert "replicas" not in worker["spec"]  # KEDA owns it
        # at least one: the worker also relays the outbox and runs the periodic jobs
        assert spec["minReplicaCount"] >= 1
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "rabbitmq"
        assert trigger["metadata"]["queueName"] == f"{prefix}.{service}"
        assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
        # KEDA reads the broker from the very Secret key the worker connects with
        assert _env(container)["AMQP_URL"] == {"secretKeyRef": {"name": host["name"], "key": host["key"]}}
        assert objects(name, "ConfigMap")[f"{FULLNAME}-env"]["data"]["BROKER_PREFIX"] == prefix


# --- the gateway's routes ---------------------------------------------------------------------------------


def _caddy_public_paths() -> list[str]:
    text = (ROOT / "deploy" / "Caddyfile").read_text()
    (line,) = [line.split()[2:] for line in text.splitlines() if line.strip().startswith("@public path ")]
    assert "uri replace /api/{args.0}/v1/ /api/v1/ 1" in text
    return line


def _caddy_route(path: str) -> tuple[str, str]:
    """Where the gateway (deploy/Caddyfile) sends a path: (process, path the process sees)."""
    for service in SERVICES:
        if path.startswith(f"/api/{service}/v1/"):
            return service, path.replace(f"/api/{service}/v1/", "/api/v1/", 1)
        if path.startswith(f"/api/{service}/"):
            rest = path.removeprefix(f"/api/{service}")
            public = any(
                rest == p or (p.endswith("/*") and rest.startswith(p[:-1])) for p in _caddy_public_paths()
            )
            return (service, rest) if public else ("gateway 404", path)
    return "console", path


def _ingress_route(name: str, path: str) -> tuple[str, str]:
    """Where ingress-nginx sends a path given the chart's Ingresses: with use-regex on a host, every path is
    a case-insensitive regex anchored at the start, the longest tried first, and rewrite-target is expanded
    with the match's groups."""
    candidates = []
    for ingress in objects(name, "Ingress").values():
        target = ingress["metadata"]["annotations"].get("nginx.ingress.kubernetes.io/rewrite-target")
        for rule in ingress["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                candidates.append((p["path"], target, p["backend"]["service"]["name"]))
    for pattern, target, backend in sorted(candidates, key=lambda c: -len(c[0])):
        match = re.match(pattern, path, re.IGNORECASE)
        if match:
            seen = match.expand(target.replace("$", "\\")) if target else path
            return backend.removeprefix(f"{FULLNAME}-"), seen
    return "nothing", path


@pytest.mark.parametrize("name", ["defaults", "metrics-prefix"])
def test_the_ingress_routes_like_the_gateway(name: str) -> None:
    samples = ["/", "/login", "/projects/7/edit", "/static/app.css", "/api", "/api/unknown/v1/x"]
    for service in SERVICES:
        samples += [
            f"/api/{service}/v1/projects",
            f"/api/{service}/v1/projects/42/materials?x=1",
            f"/api/{service}/metrics",
            f"/api/{service}/v2/x",
            f"/api/{service}/healthzz",
        ]
        for public in _caddy_public_paths():
            samples.append(f"/api/{service}{public.replace('*', 'swagger-ui.css')}")
    for path in samples:
        expected = _caddy_route(path)
        got = _ingress_route(name, path.split("?")[0])
        if expected[0] == "gateway 404":
            # the gateway answers 404 itself; here the path is not routed to the service (the console's 404)
            assert got[0] == "console", path
        else:
            assert got == (expected[0], expected[1].split("?")[0]), path
    for ingress in objects(name, "Ingress").values():
        assert ingress["spec"]["ingressClassName"] == "nginx"
        # the services' 20 MiB uploads plus the multipart framing, as the gateway's request_body limit
        assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "21m"


# --- NetworkPolicies --------------------------------------------------------------------------------------


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items() and not selector.get("matchExpressions")


def _policies_for(name: str, labels: dict[str, str]) -> list[dict[str, Any]]:
    return [p for p in objects(name, "NetworkPolicy").values() if _selects(p["spec"]["podSelector"], labels)]


def _egress(name: str, labels: dict[str, str]) -> list[tuple[int, str, str]]:
    """(port, protocol, peer) of every egress rule that applies to pods with these labels."""
    allowed = []
    for policy in _policies_for(name, labels):
        for rule in policy["spec"].get("egress", []):
            assert rule.get("ports"), f"{policy['metadata']['name']}: an egress rule without ports"
            peers = [json.dumps(peer, sort_keys=True) for peer in rule.get("to", [])] or ["anywhere"]
            allowed += [(p["port"], p["protocol"], peer) for p in rule["ports"] for peer in peers]
    return allowed


@pytest.mark.parametrize("name", ["defaults", "external", "s3-off", "metrics-prefix"])
def test_network_policies_deny_by_default_and_let_each_process_reach_only_what_it_needs(name: str) -> None:
    values = _merged(_values(), VALUE_SETS[name])
    operators = values["postgresql"]["enabled"]
    dns = {(53, "UDP"), (53, "TCP")}
    if operators:
        db = {
            (5432, "TCP", json.dumps({"podSelector": {"matchLabels": {"cnpg.io/cluster": f"{FULLNAME}-pg"}}}))
        }
        mq = {
            (
                5672,
                "TCP",
                json.dumps(
                    {"podSelector": {"matchLabels": {"app.kubernetes.io/name": f"{FULLNAME}-rabbitmq"}}}
                ),
            )
        }
    else:
        db = {(5432, "TCP", json.dumps({"ipBlock": {"cidr": "10.20.0.0/24"}}))}
        mq = {(5671, "TCP", json.dumps({"ipBlock": {"cidr": "10.30.0.0/24"}}))}
    s3_peer = json.dumps({"ipBlock": {"cidr": "10.40.0.0/24"}}) if not operators else "anywhere"
    s3 = {(443, "TCP", s3_peer)} if values["s3"]["enabled"] else set()
    deny = objects(name, "NetworkPolicy")[f"{FULLNAME}-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny and "egress" not in deny
    web_labels = {}
    for owner, pod in pods(name):
        labels = pod["metadata"]["labels"]
        assert _selects(deny["podSelector"], labels), owner
        process, component = _process(pod)
        if component == "web":
            web_labels[process] = labels
        egress = set(_egress(name, labels))
        assert {(p, proto) for p, proto, _ in egress} >= dns, owner
        rest = {e for e in egress if e[0] != 53}
        if component == "migrate":
            assert rest == db | mq, owner
        elif process == "console":
            to_services = rest - db - mq
            assert rest >= db | mq and {p for p, _, _ in to_services} == set(SERVICES.values()), owner
        elif component == "web" and process in FILE_STORES:
            assert rest == db | mq | s3, owner
        else:
            assert rest == db | mq, owner
    # the console reaches each service's web pods (and nothing else of the release)
    console_rules = [
        r for p in _policies_for(name, web_labels["console"]) for r in p["spec"].get("egress", [])
    ]
    for service, port in SERVICES.items():
        (rule,) = [r for r in console_rules if r["ports"] == [{"protocol": "TCP", "port": port}]]
        (peer,) = rule["to"]
        assert _selects(peer["podSelector"], web_labels[service]) and "namespaceSelector" not in peer
    # in: the ingress controller reaches every web; the console every service web; workers take nothing in
    controller = values["networkPolicy"]["ingressController"]
    for owner, pod in pods(name):
        process, component = _process(pod)
        rules = [
            r for p in _policies_for(name, pod["metadata"]["labels"]) for r in p["spec"].get("ingress", [])
        ]
        sources = [peer for r in rules for peer in r["from"]]
        if component == "web":
            assert {
                "namespaceSelector": controller["namespaceSelector"],
                "podSelector": controller["podSelector"],
            } in sources
            from_console = any(
                _selects(s.get("podSelector", {}), web_labels["console"]) and "namespaceSelector" not in s
                for s in sources
            )
            assert from_console == (process != "console"), owner
        elif component == "worker" and values["metrics"]["enabled"]:
            assert [r["ports"] for r in rules] == [[{"protocol": "TCP", "port": 9100}]], owner
        else:
            assert rules == [], owner


# --- the migration hook, the operators' clusters, the uploads ---------------------------------------------


@pytest.mark.parametrize("name", ["defaults", "external", "external-secrets"])
def test_the_migration_job_is_a_hook_that_reads_only_what_exists_before_the_release(name: str) -> None:
    (job,) = objects(name, "Job").values()
    annotations = job["metadata"]["annotations"]
    # before the release's objects on install, unless it must wait for the operators' clusters; always before
    # an upgrade starts the new version
    expected = "pre-install,pre-upgrade" if name != "defaults" else "post-install,pre-upgrade"
    assert annotations["helm.sh/hook"] == expected
    (container,) = job["spec"]["template"]["spec"]["containers"]
    regular = {
        o["metadata"]["name"]
        for o in render(name)
        if o["kind"] == "Secret" and "helm.sh/hook" not in o["metadata"].get("annotations", {})
    }
    hooks = {
        o["metadata"]["name"]: o
        for o in render(name)
        if o["kind"] == "Secret" and "helm.sh/hook" in o["metadata"].get("annotations", {})
    }
    refs = [e["secretRef"]["name"] for e in container.get("envFrom", [])]
    refs += [e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", []) if "valueFrom" in e]
    assert job["spec"]["template"]["spec"].get("volumes", []) == [
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}
    ]
    for ref in refs:
        assert ref not in regular, ref  # a regular Secret does not exist yet on install
        if ref in hooks:
            hook = hooks[ref]["metadata"]["annotations"]
            assert hook["helm.sh/hook"] == expected
            assert int(hook["helm.sh/hook-weight"]) < int(annotations["helm.sh/hook-weight"])
    if name == "external-secrets":
        assert set(refs) == {"my-db-urls", "my-amqp"}
    else:
        (ref,) = set(refs)
        urls = hooks[ref]["stringData"]
        # the same URLs the processes get (one generated password per render, not one per Secret)
        assert {k: v for k, v in urls.items() if k != "AMQP_URL"} == objects(name, "Secret")[
            f"{FULLNAME}-db"
        ]["stringData"]
        assert urls["AMQP_URL"] == objects(name, "Secret")[f"{FULLNAME}-amqp"]["stringData"]["url"]
        assert set(urls) == {f"{p.upper()}_DATABASE_URL" for p in ["console", *SERVICES]} | {"AMQP_URL"}
    env = _env(container)
    assert env["BROKER_PREFIX"] == "yunkefu"


def test_the_operators_make_a_3_node_broker_and_a_3_instance_postgresql_with_a_database_per_process() -> None:
    (rabbit,) = objects("defaults", "RabbitmqCluster").values()
    assert rabbit["spec"]["replicas"] == 3
    (cluster,) = objects("defaults", "Cluster").values()
    assert cluster["spec"]["instances"] == 3
    cluster_name = cluster["metadata"]["name"]
    databases = {d["spec"]["name"]: d["spec"] for d in objects("defaults", "Database").values()}
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    roles = {r["name"]: r["passwordSecret"]["name"] for r in cluster["spec"]["managed"]["roles"]}
    secrets = objects("defaults", "Secret")
    urls = secrets[f"{FULLNAME}-db"]["stringData"]
    for process in ["console", *SERVICES]:
        db = f"yunkefu_{process}"
        if process == "console":
            assert (initdb["database"], initdb["owner"]) == (db, db)
            secret = secrets[initdb["secret"]["name"]]
        else:
            assert databases[db]["owner"] == db and databases[db]["cluster"] == {"name": cluster_name}
            secret = secrets[roles[db]]
        assert secret["type"] == "kubernetes.io/basic-auth" and secret["stringData"]["username"] == db
        password = secret["stringData"]["password"]
        assert re.fullmatch(r"[A-Za-z0-9]{40}", password)  # URL-safe as it is
        assert (
            urls[f"{process.upper()}_DATABASE_URL"]
            == f"postgresql://{db}:{password}@{cluster_name}-rw:5432/{db}"
        )
    amqp = secrets[f"{FULLNAME}-amqp"]["stringData"]
    assert amqp["url"] == f"amqp://yunkefu:{amqp['password']}@{rabbit['metadata']['name']}:5672/%2F"
    assert f"default_pass = {amqp['password']}" in rabbit["spec"]["rabbitmq"]["additionalConfig"]
    for kept in (rabbit, cluster, *objects("defaults", "Database").values()):
        assert kept["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    # bring your own: none of the operators' objects, the URLs as given
    for name in ("external", "external-secrets"):
        kinds = {o["kind"] for o in render(name)}
        assert not kinds & {"RabbitmqCluster", "Cluster", "Database"}
    urls = objects("external", "Secret")[f"{FULLNAME}-db"]["stringData"]
    assert urls == {f"{p.upper()}_DATABASE_URL": u for p, u in EXTERNAL["externalDatabase"]["urls"].items()}
    assert f"{FULLNAME}-db" not in objects("external-secrets", "Secret")
    for service in SERVICES:
        (container,) = _deployment("external-secrets", service, "web")["spec"]["template"]["spec"][
            "containers"
        ]
        assert _env(container)["DATABASE_URL"] == {
            "secretKeyRef": {"name": "my-db-urls", "key": f"{service.upper()}_DATABASE_URL"}
        }


@pytest.mark.parametrize("name", ["defaults", "s3-off"])
def test_uploads_go_to_object_storage_or_to_a_volume_per_file_storing_service(name: str) -> None:
    media = objects(name, "ConfigMap")[f"{FULLNAME}-media"]["data"]
    claims = objects(name, "PersistentVolumeClaim")
    for process in ["console", *SERVICES]:
        for component in ("web", "worker") if process != "console" else ("web",):
            pod = _deployment(name, process, component)["spec"]["template"]["spec"]
            (container,) = pod["containers"]
            configs = {e["configMapRef"]["name"] for e in container["envFrom"] if "configMapRef" in e}
            stores = component == "web" and process in FILE_STORES
            assert (f"{FULLNAME}-media" in configs) == stores, (process, component)
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert (f"/data/media/{process}" in mounts) == (stores and name == "s3-off")
            if stores and name == "s3-off":
                (volume,) = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
                assert volume["persistentVolumeClaim"]["claimName"] in claims
    if name == "defaults":
        assert (
            media["MEDIA_STORAGE"] == "s3" and media["S3_BUCKET"] and media["S3_ADDRESSING_STYLE"] == "path"
        )
        assert not claims
    else:
        assert media == {"MEDIA_STORAGE": "local"}
        assert set(claims) == {f"{FULLNAME}-{s}-media" for s in FILE_STORES}
        # MEDIA_ROOT/<service> is where the volume is mounted (shared.config.media_root_for)
        assert objects(name, "ConfigMap")[f"{FULLNAME}-env"]["data"]["MEDIA_ROOT"] == "/data/media"


# --- in step with the Procfile and docker-compose.yml ---------------------------------------------------


def _procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = shlex.split(command.strip().removeprefix("exec "))
    return entries


def test_the_chart_the_procfile_and_compose_run_the_same_processes_ports_and_commands() -> None:
    procfile = _procfile()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    values = _values()
    ports = {"console": values["console"]["port"]} | {s: v["port"] for s, v in values["services"].items()}
    assert ports == {"console": CONSOLE_PORT, **SERVICES}
    webs = {
        d["metadata"]["labels"]["yunkefu.dev/process"]: d
        for d in objects("defaults", "Deployment").values()
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "web"
    }
    workers = {
        d["metadata"]["labels"]["yunkefu.dev/process"]: d
        for d in objects("defaults", "Deployment").values()
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
    }
    # the same processes: a web per service and the console's, a worker per service (the console has none)
    assert set(webs) == set(ports) == {p for p in procfile if p != "gateway" and not p.endswith("_worker")}
    assert {f"{w}_worker" for w in workers} == {p for p in procfile if p.endswith("_worker")}
    for process, port in ports.items():
        (container,) = webs[process]["spec"]["template"]["spec"]["containers"]
        app = f"services.{process}.app:create_app()"
        # the web command: compose's, the values' plus the app, and the Procfile's gunicorn, config and app
        assert (
            container["command"]
            == compose[process]["command"]
            == [*values["processes"]["web"]["command"], app]
        )
        line = procfile[process]
        assert line[0] == container["command"][0] and line[-1] == app
        assert line[line.index("-c") + 1] == container["command"][container["command"].index("-c") + 1]
        bind = line[line.index("--bind") + 1]
        assert bind.endswith(f":$(({port} + ${{PORT_OFFSET:-0}}))")
        assert _env(container)["PORT"] == compose[process]["environment"]["PORT"] == str(port)
        assert webs[process]["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == port
    for service in SERVICES:
        (container,) = workers[service]["spec"]["template"]["spec"]["containers"]
        command = compose[f"{service}_worker"]["command"]
        assert container["command"] == command == procfile[f"{service}_worker"]
        assert command == [*values["processes"]["worker"]["command"], service]
    # migrations then the broker's topology: the Job, compose's one-shot and `make migrate` alike
    (job,) = objects("defaults", "Job").values()
    migrate = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert migrate == compose["migrate"]["command"] == values["processes"]["migrate"]["command"]
    assert migrate[:2] == ["sh", "-c"]
    steps = [shlex.split(step) for step in migrate[2].split(" && ")]
    makefile = (ROOT / "Makefile").read_text()
    target = makefile[makefile.index("\nmigrate: ") :].strip().split("\n\n")[0]
    make_steps = [shlex.split(line.strip().replace("$(BIN)/", "")) for line in target.splitlines()[1:]]
    assert (
        [s[:3] for s in steps]
        == [s[:3] for s in make_steps]
        == [["yunkefu", "migrate", "all"], ["yunkefu", "broker", "setup"]]
    )

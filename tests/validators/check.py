"""Runs the real external validators on the output of `airlockc build` for every bundled example
and every config of the build corpus (tests/build/*/airlock.yaml):

- helm lint --strict; helm template -n NAMESPACE with default values equals manifests/ object for
  object, less the Namespace, which only manifests/ holds (Helm installs into an existing
  namespace); with any other release namespace every object of the chart lands in it, and the
  NetworkPolicies, ServiceMonitor and alerts follow it; a bad --set value is refused by
  values.schema.json
- kubernetes-validate --strict for every Kubernetes version from 1.30 to the newest it bundles
- PrometheusRule, ServiceMonitor and Certificate against strict CRD schemas
- promtool check rules on every rule group
- checkov (kubernetes framework) and trivy config: zero failed checks (trivy with the ignore file
  airlockc writes, which may answer only AVD-KSV-01010 on the ConfigMap, with its reason)

Usage: check.py AIRLOCKC TOOLS_DIR CONFIG...  (exit 1 on any failure)
"""
import json
import pathlib
import subprocess
import sys
import tempfile

import jsonschema
import yaml

K8S_VERSIONS = ["1.30.0", "1.31.0", "1.32.0", "1.33.0", "1.34.0", "1.35.0", "1.36.0", "1.37.0"]
CRDS = {"PrometheusRule", "ServiceMonitor", "Certificate"}
failures: list[str] = []


def run(cmd, expect_ok=True, **kw):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if expect_ok and result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def check(name: str, what: str, fn) -> None:
    try:
        detail = fn()
        print(f"  ok    {what}{': ' + detail if detail else ''}")
    except Exception as error:  # noqa: BLE001 - every failure is reported, none stops the run
        failures.append(f"{name}: {what}")
        print(f"  FAIL  {what}\n{error}")


def objects(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def key(obj: dict) -> tuple:
    meta = obj.get("metadata", {})
    return (obj.get("apiVersion"), obj.get("kind"), meta.get("namespace"), meta.get("name"))


def validate_config(config: pathlib.Path, airlockc: str, tools: pathlib.Path, work: pathlib.Path) -> None:
    name = config.parent.name
    out = work / name
    print(f"\n{config}")
    run([airlockc, "build", config, "-o", out])
    chart, manifests = out / "chart", out / "manifests"
    helm = tools / "helm" / "helm"
    manifest_objects = [o for f in sorted(manifests.glob("*.yaml")) for o in objects(f.read_text())]
    namespace = next(o["metadata"]["name"] for o in manifest_objects if o["kind"] == "Namespace")
    helm_template = lambda *args, **kw: run([helm, "template", name, chart, "-n", namespace, *args], **kw)

    check(name, "helm lint --strict", lambda: run([helm, "lint", "--strict", chart, "-n", namespace]) and None)

    def template_equals_manifests():
        rendered = objects(helm_template().stdout)
        by_key = {key(o): o for o in rendered}
        expected = {key(o): o for o in manifest_objects if o["kind"] != "Namespace"}
        if by_key.keys() != expected.keys():
            raise RuntimeError(f"objects differ: only in chart {sorted(set(by_key) - set(expected))}, only in manifests {sorted(set(expected) - set(by_key))}")
        for k, obj in expected.items():
            if by_key[k] != obj:
                raise RuntimeError(f"{k} differs:\nchart:     {json.dumps(by_key[k], sort_keys=True)}\nmanifests: {json.dumps(obj, sort_keys=True)}")
        return f"{len(rendered)} objects identical"

    check(name, "helm template equals manifests/ less the Namespace", template_equals_manifests)

    def release_namespace():
        # `helm upgrade --install -n NS` into a namespace that exists: every object lands in NS,
        # and whatever named the compiled namespace as the pods' own follows the release: the
        # NetworkPolicies' selectors, the ServiceMonitor's, the alerts' PromQL. The manifests
        # equal the chart rendered for the compiled namespace (checked above), so swapping the
        # namespaces back must give them again.
        other = "elsewhere-ns"
        rendered = objects(run([helm, "template", name, chart, "-n", other]).stdout)
        if any(o["kind"] == "Namespace" for o in rendered):
            raise RuntimeError("the chart renders a Namespace")
        placed = {o["kind"]: o["metadata"].get("namespace") for o in manifest_objects if o["kind"] != "Namespace"}
        for obj in rendered:
            wanted = other if placed.get(obj["kind"]) == namespace else placed.get(obj["kind"])
            if obj["metadata"].get("namespace") != wanted:
                raise RuntimeError(f"{key(obj)} is not in {wanted}")
        back = json.loads(json.dumps(rendered).replace(other, namespace))
        expected = {key(o): o for o in manifest_objects if o["kind"] != "Namespace"}
        for obj in back:
            if expected.get(key(obj)) != obj:
                raise RuntimeError(f"{key(obj)} in {other} differs from manifests/ beyond its namespace:\n{json.dumps(obj, sort_keys=True)}")
        return f"{len(rendered)} objects in {other} (or their explicit namespace), no Namespace"

    check(name, "helm installs into the release namespace", release_namespace)

    def bad_values_refused():
        values = yaml.safe_load((chart / "values.yaml").read_text())
        bad = ["image.digest=sha256:nothex", "resources.limits.cpu=lots", "image.pullPolicy=Sometimes", "unknown=1"]
        if "replicas" in values:
            bad.append("replicas=three")
        for setting in bad:
            result = helm_template("--set", setting, expect_ok=False)
            if result.returncode == 0 or "values don't meet the specifications of the schema" not in result.stderr:
                raise RuntimeError(f"--set {setting} was not refused by values.schema.json:\n{result.stderr}")
        good = helm_template("--set", "resources.limits.cpu=2", expect_ok=False)
        if good.returncode != 0:
            raise RuntimeError(f"a valid --set was refused:\n{good.stderr}")
        return f"{len(bad)} bad --set values refused"

    check(name, "values.schema.json refuses bad values", bad_values_refused)

    def upgrade_to_another_tag():
        # The deployment guide's rolling update: `helm upgrade --set image.tag=v1.1.0` must run
        # that tag, not the digest compiled for the old one; a digest given with it pins it.
        values = yaml.safe_load((chart / "values.yaml").read_text())
        repository = values["image"]["repository"]
        images = lambda *settings: {c["image"] for o in objects(helm_template(*[a for s in settings for a in ("--set", s)]).stdout) if o.get("kind") == "Deployment" for c in o["spec"]["template"]["spec"]["containers"]}
        if images("image.tag=v9.9.9") != {f"{repository}:v9.9.9"}:
            raise RuntimeError(f"--set image.tag=v9.9.9 renders {images('image.tag=v9.9.9')}")
        digest = "sha256:" + "a" * 64
        if images("image.tag=v9.9.9", f"image.digest={digest}") != {f"{repository}:v9.9.9@{digest}"}:
            raise RuntimeError("--set image.tag with image.digest does not pin the new tag")
        return "a new tag runs, pinned when a digest is given"

    check(name, "helm upgrade --set image.tag runs the new tag", upgrade_to_another_tag)

    core = [f for f in sorted(manifests.glob("*.yaml")) if not any(o.get("kind") in CRDS for o in objects(f.read_text()))]
    for version in K8S_VERSIONS:
        check(name, f"kubernetes-validate --strict -k {version}", lambda v=version: run([tools / "venv/bin/kubernetes-validate", "--strict", "-k", v, "--quiet", *core]) and None)

    def crds():
        checked = []
        for obj in manifest_objects:
            if obj["kind"] in CRDS:
                schema = json.loads((tools / "crd-schemas" / f"{obj['kind']}.json").read_text())
                errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(obj), key=str)
                if errors:
                    raise RuntimeError(f"{obj['kind']}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]))
                checked.append(obj["kind"])
        return ", ".join(checked) or "no CRD objects"

    check(name, "strict CRD schemas", crds)

    def promtool():
        rules = [o for o in manifest_objects if o["kind"] == "PrometheusRule"]
        for rule in rules:
            path = work / f"{name}-rules.yaml"
            path.write_text(yaml.safe_dump(rule["spec"]))
            run([tools / "promtool/promtool", "check", "rules", path])
        return f"{sum(len(g['rules']) for r in rules for g in r['spec']['groups'])} rules" if rules else "no PrometheusRule"

    check(name, "promtool check rules", promtool)

    def checkov():
        result = run([tools / "venv/bin/checkov", "-d", manifests, "--framework", "kubernetes", "--quiet", "--compact", "--skip-download", "-o", "json"], expect_ok=False)
        report = json.loads(result.stdout or "{}")
        summary = report.get("summary", {})
        if result.returncode != 0 or summary.get("failed", 0) != 0:
            failed = [f"{c['check_id']} {c['check_name']} ({c['resource']})" for c in report.get("results", {}).get("failed_checks", [])]
            raise RuntimeError("\n".join(failed) or result.stdout + result.stderr)
        # A skip is airlockc's, written on the object with its reason (checkov.io/skipN:
        # ID=reason); one without a reason is a failure.
        unexplained = [c["check_id"] for c in report.get("results", {}).get("skipped_checks", []) if not (c.get("check_result", {}).get("suppress_comment") or "").strip()]
        if unexplained:
            raise RuntimeError(f"checks skipped without a written reason: {unexplained}")
        return f"{summary.get('passed')} passed, {summary.get('skipped')} skipped with a reason, 0 failed"

    check(name, "checkov --framework kubernetes", checkov)

    def trivy():
        # The ignore file airlockc writes beside the output answers one check, for the ConfigMap
        # alone, with its reason; anything else it silenced would be a failure here.
        ignore = yaml.safe_load((out / ".trivyignore.yaml").read_text())
        entries = ignore["misconfigurations"]
        if [e["id"] for e in entries] != ["AVD-KSV-01010"] or not all(e.get("statement") for e in entries) \
                or any("configmap" not in p for e in entries for p in e["paths"]):
            raise RuntimeError(f".trivyignore.yaml silences more than the ConfigMap's AVD-KSV-01010 or gives no reason: {entries}")
        result = run([tools / "trivy/trivy", "config", "--quiet", "--exit-code", "1", "--format", "json",
                      "--ignorefile", out / ".trivyignore.yaml", manifests], expect_ok=False,
                     env={"TRIVY_CACHE_DIR": str(tools / "trivy-cache"), "PATH": "/usr/bin:/bin", "HOME": str(tools)})
        report = json.loads(result.stdout or "{}")
        failed = [f"{m['ID']} {m['Title']} ({r['Target']})" for r in report.get("Results", []) for m in r.get("Misconfigurations", []) if m.get("Status") == "FAIL"]
        if result.returncode != 0 or failed:
            raise RuntimeError("\n".join(failed) or result.stderr)
        passed = sum(r.get("MisconfSummary", {}).get("Successes", 0) for r in report.get("Results", []))
        return f"{passed} passed, 0 failed"

    check(name, "trivy config", trivy)


def main() -> int:
    airlockc, tools, configs = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3:]
    with tempfile.TemporaryDirectory() as work:
        for config in configs:
            validate_config(pathlib.Path(config), airlockc, tools, pathlib.Path(work))
    print(f"\n{len(failures)} failure(s)" + ("".join(f"\n  - {f}" for f in failures) if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

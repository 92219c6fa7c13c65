"""Exports strict JSON Schemas of the CRDs airlockc emits (PrometheusRule, ServiceMonitor,
cert-manager Certificate) from the cloudcoil models: `additionalProperties: false` wherever
properties are declared, so an unknown field is an error, as with kubernetes-validate --strict."""
import json
import pathlib
import sys


def strict(node):
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            strict(value)
    elif isinstance(node, list):
        for value in node:
            strict(value)
    return node


def main(out: pathlib.Path) -> None:
    from cloudcoil.models.cert_manager.v1 import Certificate
    from cloudcoil.models.prometheus_operator.v1 import PrometheusRule, ServiceMonitor

    out.mkdir(parents=True, exist_ok=True)
    for name, model in {"PrometheusRule": PrometheusRule, "ServiceMonitor": ServiceMonitor, "Certificate": Certificate}.items():
        schema = strict(model.model_json_schema(by_alias=True))
        (out / f"{name}.json").write_text(json.dumps(schema, indent=1, sort_keys=True))


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))

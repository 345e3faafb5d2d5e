#!/usr/bin/python3
"""Validates JSON instances against schemas of an OpenAPI 3.1 document.

Usage: validate_responses.py CASES.json

CASES.json is {"document": <the OpenAPI document>, "cases": [{"label": str,
"schema": "#/json/pointer/to/a/schema", "instance": <JSON>, "expect": "valid" |
"invalid"}]}, written by tests/openapi_test.cpp. Every schema of
components/schemas must be a valid JSON Schema 2020-12 schema, every example
in the document must validate against the schema it illustrates, and every
case must come out as it expects. Prints one line per failure and a summary
line; exits 1 on any failure, 2 on bad usage.

Uses Debian's python3-jsonschema (4.10; Draft 2020-12) only.
"""
import json
import sys
import urllib.parse

import jsonschema
from jsonschema import Draft202012Validator, RefResolver


def pointer_ref(parts):
    """A "$ref" to the JSON pointer made of `parts`."""
    escaped = [str(p).replace("~", "~0").replace("/", "~1") for p in parts]
    return "#/" + "/".join(urllib.parse.quote(p, safe="~") for p in escaped)


def validator(document, ref):
    return Draft202012Validator({"$ref": ref}, resolver=RefResolver.from_schema(document))


def errors_of(document, ref, instance):
    """Every validation error, each as 'at /path: message'."""
    found = sorted(validator(document, ref).iter_errors(instance), key=lambda e: list(e.absolute_path))
    return ["at /%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message) for e in found]


def examples_of(node, path):
    """(label, schema ref, example) for every example in the document: a media
    type's or a parameter's `example`/`examples`, and a schema's `examples`."""
    if isinstance(node, dict):
        if "schema" in node and isinstance(node["schema"], dict):
            schema_ref = pointer_ref(path + ["schema"])
            if "example" in node:
                yield ("/".join(map(str, path)) + " example", schema_ref, node["example"])
            for name, example in node.get("examples", {}).items():
                if isinstance(example, dict) and "value" in example:
                    yield ("/".join(map(str, path)) + " examples/" + name, schema_ref, example["value"])
        in_schema = len(path) >= 1 and path[-1] in ("schema", "items") or (
            len(path) >= 2 and path[-2] in ("schemas", "properties"))
        if in_schema and isinstance(node.get("examples"), list):
            for i, example in enumerate(node["examples"]):
                yield ("/".join(map(str, path)) + " examples[%d]" % i, pointer_ref(path), example)
        for key, value in node.items():
            yield from examples_of(value, path + [key])
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from examples_of(value, path + [i])


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
    document, cases = data["document"], data["cases"]
    failures = []
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        try:
            Draft202012Validator.check_schema(schema)
        except jsonschema.exceptions.SchemaError as e:
            failures.append("components/schemas/%s is not a 2020-12 schema: %s" % (name, e.message))
    examples = list(examples_of(document, []))
    for label, ref, example in examples:
        for error in errors_of(document, ref, example):
            failures.append("%s: %s" % (label, error))
    for case in cases:
        errors = errors_of(document, case["schema"], case["instance"])
        if case["expect"] == "valid":
            failures.extend("%s (%s): %s" % (case["label"], case["schema"], e) for e in errors)
        elif not errors:
            failures.append("%s (%s): the schema accepts an instance the server refused: %s"
                            % (case["label"], case["schema"], json.dumps(case["instance"])[:300]))
    for failure in failures:
        print("FAIL " + failure)
    print("%d cases, %d examples, %d failures" % (len(cases), len(examples), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

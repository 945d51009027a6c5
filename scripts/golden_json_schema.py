#!/usr/bin/env python3
"""The JSON-schema grammar's golden: schemas, instances, and the verdicts of
the Python `jsonschema` package (the reference validator).

    python3 -m pip install jsonschema pydantic
    python3 scripts/golden_json_schema.py

Writes tests/golden/json_schema/jsonschema_verdicts.json, read offline by
crates/infer/tests/json_schema_golden.rs: for every schema and instance, our
grammar must accept the instance's JSON text exactly when jsonschema says it
is valid. The schemas cover the keywords the grammar compiles (type lists,
anyOf/oneOf/allOf, nullable fields, $ref/$defs, recursion, enum/const of
mixed types, minItems/maxItems, additionalProperties) and the Pydantic
model of the structured-output test (crates/serve/tests/sdk/person_model.py),
whose `model_json_schema()` is recorded as it comes.

The instances: values generated from each schema (valid by construction,
most of them), random edits of those (a node replaced, a key dropped or
added, an item appended), and unrelated random values. Two choices of our
grammar are applied to the verdicts, so that they say what the grammar
promises:

- an object schema with `properties` and no `additionalProperties` allows
  no other keys (strict structured output; JSON Schema would allow them):
  verdicts are computed on a copy with `additionalProperties: false` there;
- the grammar writes integers without a fraction, so instances holding a
  float with an integral value (`2.0`, which JSON Schema counts as an
  integer) are left out; so are floats whose JSON text has a 3-digit exponent.
"""

import copy
import importlib.metadata
import json
import random
import sys
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "crates/serve/tests/sdk"))
sys.path.insert(0, str(ROOT / "scripts"))
from golden_check import keep_check  # noqa: E402
from person_model import Person  # noqa: E402

OUT = ROOT / "tests/golden/json_schema/jsonschema_verdicts.json"

point = {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
         "required": ["x", "y"], "additionalProperties": False}

SCHEMAS = {
    "nullable string (anyOf)": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    "type list": {"type": ["integer", "null", "boolean"]},
    "integer or number merge": {"anyOf": [{"type": "integer"}, {"type": "number"}]},
    "mixed enum": {"enum": ["red", 1, None, True, 2.5, {"a": 1}, [1, 2], "1"]},
    "enum with a type": {"type": "string", "enum": ["a", "b", 3]},
    "const object": {"const": {"k": [1, "x"], "z": None}},
    "bounded array": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
    "empty array only": {"type": "array", "maxItems": 0},
    "nullable array of strings": {"type": ["array", "null"], "items": {"type": "string"},
                                  "minItems": 2},
    "defs, not recursive": {
        "$defs": {"point": point},
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/point"},
                       "b": {"anyOf": [{"$ref": "#/$defs/point"}, {"type": "null"}]},
                       "c": {"type": "array", "items": {"$ref": "#/$defs/point"}, "maxItems": 2}},
        "required": ["a"],
        "additionalProperties": False,
    },
    "recursive tree": {
        "$defs": {"node": {"type": "object",
                           "properties": {"value": {"type": "integer"},
                                          "children": {"type": "array",
                                                       "items": {"$ref": "#/$defs/node"},
                                                       "maxItems": 2}},
                           "required": ["value"], "additionalProperties": False}},
        "$ref": "#/$defs/node",
    },
    "recursive list through the root": {
        "type": "object",
        "properties": {"v": {"type": "string"}, "next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}},
        "required": ["v", "next"],
        "additionalProperties": False,
    },
    "oneOf object or pair": {"oneOf": [
        {"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}},
         "required": ["kind", "r"], "additionalProperties": False},
        {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    ]},
    "allOf of one": {"allOf": [{"type": "object", "properties": {"id": {"type": "integer"}},
                                "required": ["id"]}]},
    "map of integers": {"type": "object", "additionalProperties": {"type": "integer"}},
    "open object": {"type": "object", "properties": {"a": {"type": "boolean"}},
                    "additionalProperties": True},
    "pydantic Person": Person.model_json_schema(),
}

STRINGS = ["", "a", "red", "circle", "x", "1", "hello world", "quote \" and \\", "é 東京", "tab\t"]
KEYS = ["a", "b", "c", "x", "y", "v", "id", "kind", "r", "value", "children", "next", "name",
        "age", "home", "street", "city", "postcode", "email", "previous", "languages", "k", "z"]


def closed(schema):
    """`additionalProperties: false` wherever `properties` has none: what
    our grammar does with such objects."""
    if isinstance(schema, dict):
        out = {k: closed(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [closed(v) for v in schema]
    return schema


def resolve(schema, root):
    while isinstance(schema, dict) and "$ref" in schema:
        target = root
        for part in schema["$ref"].lstrip("#").split("/")[1:]:
            target = target[part]
        schema = target
    return schema


def random_value(rng, depth):
    kinds = ["null", "bool", "int", "float", "string"] + (["array", "object"] if depth > 0 else [])
    kind = rng.choice(kinds)
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.randint(-1000, 1000)
    if kind == "float":
        return rng.randint(-100000, 100000) / 1000 + 0.0005
    if kind == "string":
        return rng.choice(STRINGS)
    if kind == "array":
        return [random_value(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(KEYS): random_value(rng, depth - 1) for _ in range(rng.randint(0, 3))}


def generate(schema, root, rng, depth):
    """A value of `schema`, valid unless the depth runs out."""
    schema = resolve(schema, root)
    if schema is True or schema == {} or depth < 0:
        return random_value(rng, 1)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return generate(rng.choice(schema[key]), root, rng, depth)
    if "allOf" in schema:
        return generate(schema["allOf"][0], root, rng, depth)
    if "const" in schema:
        return copy.deepcopy(schema["const"])
    if "enum" in schema:
        return copy.deepcopy(rng.choice(schema["enum"]))
    ty = schema.get("type")
    if isinstance(ty, list):
        ty = rng.choice(ty)
    if ty == "object":
        props = schema.get("properties", {})
        out = {}
        for name, sub in props.items():
            if name in schema.get("required", []) or rng.random() < 0.5:
                out[name] = generate(sub, root, rng, depth - 1)
        extra = schema.get("additionalProperties", not props)
        if extra is not False and rng.random() < 0.5:
            sub = {} if extra is True else extra
            out[rng.choice(KEYS)] = generate(sub, root, rng, depth - 1)
        return out
    if ty == "array":
        lo, hi = schema.get("minItems", 0), min(schema.get("maxItems", 3), 3)
        return [generate(schema.get("items", {}), root, rng, depth - 1)
                for _ in range(rng.randint(lo, max(lo, hi)))]
    if ty == "string":
        return rng.choice(STRINGS)
    if ty == "integer":
        return rng.randint(-1000, 1000)
    if ty == "number":
        return rng.choice([rng.randint(-50, 50), rng.randint(-100000, 100000) / 1000 + 0.0005])
    if ty == "boolean":
        return rng.random() < 0.5
    if ty == "null":
        return None
    return random_value(rng, 2)


def mutate(value, rng):
    """`value` with one random edit somewhere inside."""
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(sorted(value))
        edit = rng.random()
        if edit < 0.3:
            del value[key]
        elif edit < 0.5:
            value[rng.choice(KEYS)] = random_value(rng, 1)
        else:
            value[key] = mutate(value[key], rng)
        return value
    if isinstance(value, list) and value and rng.random() < 0.7:
        i = rng.randrange(len(value))
        if rng.random() < 0.3:
            value.append(copy.deepcopy(value[i]))
        else:
            value[i] = mutate(value[i], rng)
        return value
    return random_value(rng, 1)


def representable(value):
    """False for what the golden leaves out (see the top of this file)."""
    if isinstance(value, float):
        text = json.dumps(value)
        return not value.is_integer() and "e" not in text.lower()
    if isinstance(value, list):
        return all(representable(v) for v in value)
    if isinstance(value, dict):
        return all(representable(v) for v in value.values())
    return True


def main():
    rng = random.Random(20)
    cases = []
    for name, schema in SCHEMAS.items():
        validator = jsonschema.Draft202012Validator(closed(schema))
        seen, instances = set(), []
        for i in range(400):
            value = generate(schema, schema, rng, 4)
            if i % 2:
                value = mutate(value, rng)
            if i % 10 == 9:
                value = random_value(rng, 2)
            text = json.dumps(value, sort_keys=True)
            if text in seen or not representable(value):
                continue
            seen.add(text)
            instances.append({"value": value, "valid": validator.is_valid(value)})
        valid = sum(x["valid"] for x in instances)
        print(f"{name}: {len(instances)} instances, {valid} valid", file=sys.stderr)
        assert 0 < valid < len(instances), name
        cases.append({"name": name, "schema": schema, "instances": instances})
    golden = {
        "tool": "jsonschema (Draft 2020-12 validator)",
        "version": importlib.metadata.version("jsonschema"),
        "pydantic_version": importlib.metadata.version("pydantic"),
        "note": "verdicts on a copy of each schema with additionalProperties: false where "
                "properties has none (the grammar's choice); see scripts/golden_json_schema.py",
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    golden = keep_check(OUT, golden)
    OUT.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()

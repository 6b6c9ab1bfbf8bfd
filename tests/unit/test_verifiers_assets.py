"""The vendored standards and models are whole and usable offline (issue 16's later tests rely on them)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests import wechat

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def test_verifiers_assets_wechat_models_are_the_published_ones():
    for name, md5 in wechat.MODEL_MD5.items():
        assert hashlib.md5((wechat.MODEL_DIR / name).read_bytes()).hexdigest() == md5, name
    assert (wechat.MODEL_DIR / "LICENSE").read_text().startswith("\n                                 Apache License")


def test_verifiers_assets_ob3_schemas_are_valid_draft_2019_09():
    jsonschema = pytest.importorskip("jsonschema")
    for name in ("ob_v3p0_achievementcredential_schema.json", "ob_v3p0_profile_schema.json"):
        schema = json.loads((ASSETS / "ob3" / name).read_text(encoding="utf-8"))
        assert schema["$schema"].startswith("https://json-schema.org/draft/2019-09/schema")
        jsonschema.Draft201909Validator.check_schema(schema)
        refs = list(_refs(schema))
        assert refs and all(r.startswith("#/") for r in refs)  # every $ref is internal: no network needed


def test_verifiers_assets_contexts_are_json_ld():
    for path in [ASSETS / "ob3" / "context-3.0.3.json", *sorted((ASSETS / "vc").glob("*.jsonld"))]:
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(doc.get("@context"), dict), path
    v2 = json.loads((ASSETS / "vc" / "credentials-v2.jsonld").read_text(encoding="utf-8"))["@context"]
    assert "BitstringStatusListEntry" in v2 and "VerifiableCredential" in v2


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for v in node.values():
            yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)

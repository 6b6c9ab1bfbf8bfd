"""The vendored standards and models are whole and usable offline, and every tool the verifier tests use is
installed: a missing one FAILS here, never skips (requirements-dev.txt; Debian's poppler-utils in .ci/run and
scripts/system-deps.sh)."""
from __future__ import annotations

import hashlib
import importlib
import json
import shutil
from pathlib import Path

import jsonschema

from tests import wechat

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def test_verifiers_assets_wechat_models_are_the_published_ones():
    for name, md5 in wechat.MODEL_MD5.items():
        assert hashlib.md5((wechat.MODEL_DIR / name).read_bytes()).hexdigest() == md5, name
    assert (wechat.MODEL_DIR / "LICENSE").read_text().startswith("\n                                 Apache License")


def test_verifiers_assets_tools_are_installed():
    """Each Python package the test_verifiers_* tests import, and each command they run."""
    assert wechat.missing() is None, wechat.missing()  # opencv-contrib (wechat_qrcode, OpenCV 4.x), zxing-cpp
    for module in ("cv2", "zxingcpp", "numpy", "jwt", "jwcrypto.jwt", "jsonschema", "pypdf", "pypdfium2"):
        importlib.import_module(module)  # ImportError: pip install -r requirements-dev.txt
    for tool in ("pdffonts", "pdftotext", "pdfinfo"):
        assert shutil.which(tool), f"{tool} is missing: apt-get install poppler-utils (.ci/run, scripts/system-deps.sh)"
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text(encoding="utf-8")
    assert "poppler-utils" in ci and "fonts-wqy-zenhei" in ci  # CI installs them


def test_verifiers_assets_ob3_schemas_are_valid_draft_2019_09():
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

"""Bundle loading refuses a bad bundle with one line naming the file (DESIGN §5)."""

import json

import pytest

from tars_edge.bundle import FORMAT_VERSION, Bundle, BundleError
from tars_edge.reflex import ReflexClassifier


def _deployed_reflex_file(root):
    spec = json.loads((root / "manifest.json").read_text())["models"]["reflex"]
    return root / spec["files"][spec["deployed"]]["path"]


def _one_line(exc: BundleError) -> str:
    message = str(exc)
    assert "\n" not in message
    return message


def test_committed_bundle_loads_and_verifies(bundle_copy):
    bundle = Bundle.load(bundle_copy)
    assert bundle.manifest["format_version"] == FORMAT_VERSION
    for name, spec in bundle.models.items():
        for variant in spec["files"]:
            assert bundle.file(name, variant).exists()


def test_missing_bundle_directory(tmp_path):
    with pytest.raises(BundleError) as err:
        Bundle.load(tmp_path / "nowhere")
    assert "manifest.json" in _one_line(err.value) and "build-default" in str(err.value)


def test_wrong_format_version(bundle_copy):
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError) as err:
        Bundle.load(bundle_copy)
    assert "format version" in _one_line(err.value)


def test_manifest_not_json(bundle_copy):
    (bundle_copy / "manifest.json").write_text("{ not json")
    with pytest.raises(BundleError) as err:
        Bundle.load(bundle_copy)
    assert "not valid JSON" in _one_line(err.value)


def test_missing_model_file(bundle_copy):
    path = _deployed_reflex_file(bundle_copy)
    path.unlink()
    with pytest.raises(BundleError) as err:
        ReflexClassifier(Bundle.load(bundle_copy))
    assert str(path) in _one_line(err.value) and "missing" in str(err.value)


def test_corrupt_model_file_fails_sha256(bundle_copy):
    path = _deployed_reflex_file(bundle_copy)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one flipped byte
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError) as err:
        ReflexClassifier(Bundle.load(bundle_copy))
    assert str(path) in _one_line(err.value) and "sha256" in str(err.value)


def test_truncated_model_file_fails_size(bundle_copy):
    path = _deployed_reflex_file(bundle_copy)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(BundleError) as err:
        ReflexClassifier(Bundle.load(bundle_copy))
    assert str(path) in _one_line(err.value) and "bytes" in str(err.value)


def test_onnx_file_that_does_not_load(bundle_copy):
    """A file whose hash matches the manifest but is not a model (e.g. a bad build)."""
    from tars_edge.bundle import sha256_file

    path = _deployed_reflex_file(bundle_copy)
    path.write_bytes(b"this is not an onnx model")
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    spec = manifest["models"]["reflex"]["files"][manifest["models"]["reflex"]["deployed"]]
    spec["bytes"], spec["sha256"] = path.stat().st_size, sha256_file(path)
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError) as err:
        ReflexClassifier(Bundle.load(bundle_copy))
    assert str(path) in _one_line(err.value) and "ONNX Runtime cannot load" in str(err.value)


def test_unknown_model_name(bundle_copy):
    with pytest.raises(BundleError) as err:
        Bundle.load(bundle_copy).model("nope")
    assert "no 'nope' model" in _one_line(err.value)

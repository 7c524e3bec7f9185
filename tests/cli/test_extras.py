import pytest

from lesionkit.cli._checks import UsageError
from lesionkit.cli._extras import SERVER_MODULES, extra_message, missing_extra, missing_modules, require_extra


def test_message_names_the_extra_and_the_missing_modules():
    assert extra_message("model") == "needs the 'model' extra: pip install 'lesionkit[model]'"
    assert extra_message("server", ["fastapi", "uvicorn"]) == (
        "needs the 'server' extra: pip install 'lesionkit[server]' (missing: fastapi, uvicorn)")


def test_require_extra_refuses_a_missing_module_only():
    require_extra("server", ["json", "pathlib"])  # installed: nothing happens
    with pytest.raises(UsageError, match=r"lesionkit\[server\]' \(missing: no_such_module_lk\)$"):
        require_extra("server", ["json", "no_such_module_lk"])
    assert missing_modules(["json", "no_such_module_lk", "also_missing_lk"]) == ["no_such_module_lk", "also_missing_lk"]


def test_missing_extra_maps_the_failed_import():
    assert missing_extra("segment", ModuleNotFoundError(name="monai.networks")) == "model"
    assert missing_extra("preprocess", ModuleNotFoundError(name="ants")) == "preprocess"
    assert missing_extra("synth", ModuleNotFoundError(name="torch")) == "synth"
    assert missing_extra("evaluate", ModuleNotFoundError(name="pandas")) is None
    assert "fastapi" in SERVER_MODULES and "sqlalchemy" in SERVER_MODULES

"""custom_imports: the user's modules are imported before building; failures name the
module and the error."""
from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from mmengine.config import Config

from mmssd.apis import load_config
from mmssd.engine.custom_imports import CustomImportError, import_custom_modules
from mmssd.registry import MODELS


def write_package(root: Path, files: dict[str, str]) -> str:
    """A package with a unique name under ``root`` holding ``files``; returns its name."""
    name = f'user_pkg_{uuid.uuid4().hex[:8]}'
    (root / name).mkdir()
    (root / name / '__init__.py').write_text('')
    for filename, text in files.items():
        (root / name / filename).write_text(textwrap.dedent(text))
    return name


@pytest.fixture
def on_path(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_import_registers_the_users_class(on_path):
    class_name = f'UserNeck{uuid.uuid4().hex[:6]}'
    pkg = write_package(on_path, {'neck.py': f"""
        from torch import nn
        from mmssd.registry import MODELS

        @MODELS.register_module()
        class {class_name}(nn.Identity):
            pass
        """})
    with pytest.raises(KeyError):
        MODELS.build({'type': class_name})
    modules = import_custom_modules({'custom_imports': {'imports': [f'{pkg}.neck']}})
    assert modules[0].__name__ == f'{pkg}.neck'
    assert type(MODELS.build({'type': class_name})).__name__ == class_name


def test_missing_module_names_it_and_the_error(on_path):
    with pytest.raises(CustomImportError) as info:
        import_custom_modules({'custom_imports': {'imports': ['no_such_pkg_xyz.bifpn']}})
    message = str(info.value)
    assert "failed to import 'no_such_pkg_xyz.bifpn'" in message
    assert "ModuleNotFoundError: No module named 'no_such_pkg_xyz'" in message
    assert 'PYTHONPATH' in message


def test_error_inside_the_module_is_named_with_its_location(on_path):
    pkg = write_package(on_path, {'broken.py': """
        import math

        WIDTH = math.sqrt(4)
        HEIGHT = undefined_name + 1
        """})
    with pytest.raises(CustomImportError) as info:
        import_custom_modules({'custom_imports': {'imports': [f'{pkg}.broken']}})
    message = str(info.value)
    assert f"'{pkg}.broken'" in message
    assert "NameError: name 'undefined_name' is not defined" in message
    assert 'broken.py:5' in message  # the line that raised (after dedent's leading newline)
    assert isinstance(info.value.__cause__, NameError)


def test_syntax_error_is_named(on_path):
    pkg = write_package(on_path, {'typo.py': 'def f(:\n    pass\n'})
    with pytest.raises(CustomImportError, match=rf"'{pkg}.typo': SyntaxError: .*typo.py"):
        import_custom_modules({'custom_imports': {'imports': [f'{pkg}.typo']}})


def test_allow_failed_imports_warns_and_continues(on_path):
    pkg = write_package(on_path, {'ok.py': 'VALUE = 3\n'})
    cfg = {'custom_imports': {'imports': ['no_such_pkg_xyz', f'{pkg}.ok'],
                              'allow_failed_imports': True}}
    with pytest.warns(UserWarning, match="failed to import 'no_such_pkg_xyz'.*ignored"):
        modules = import_custom_modules(cfg)
    assert modules[0] is None and modules[1].VALUE == 3


def test_single_string_and_absent_key():
    assert import_custom_modules({}) == []
    assert import_custom_modules({'custom_imports': {'imports': 'json'}})[0] is sys.modules['json']


def test_malformed_custom_imports_are_refused():
    with pytest.raises(TypeError, match='unknown keys.*imprts'):
        import_custom_modules({'custom_imports': {'imprts': ['json']}})
    with pytest.raises(TypeError, match='must be a dict'):
        import_custom_modules({'custom_imports': ['json']})
    with pytest.raises(TypeError, match='module names'):
        import_custom_modules({'custom_imports': {'imports': [3]}})


def test_working_directory_is_searched(tmp_path, monkeypatch):
    pkg = write_package(tmp_path, {'mod.py': 'VALUE = 7\n'})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, 'path', [p for p in sys.path if p not in ('', str(tmp_path))])
    assert import_custom_modules({'custom_imports': {'imports': [f'{pkg}.mod']}})[0].VALUE == 7


def test_load_config_imports_after_cfg_options(on_path, tmp_path):
    pkg = write_package(on_path, {'ok.py': 'VALUE = 5\n'})
    config = tmp_path / 'cfg.py'
    config.write_text("custom_imports = dict(imports=['no_such_pkg_xyz'])\nmodel = dict()\n")
    with pytest.raises(CustomImportError, match="'no_such_pkg_xyz'"):
        load_config(str(config))
    cfg = load_config(str(config), {'custom_imports.imports': [f'{pkg}.ok']})
    assert f'{pkg}.ok' in sys.modules and isinstance(cfg, Config)


def test_init_detector_imports_the_configs_modules(on_path, tmp_path):
    from mmssd.apis.inference import init_detector

    class_name = f'PassNeck{uuid.uuid4().hex[:6]}'
    pkg = write_package(on_path, {'neck.py': f"""
        from torch import nn
        from mmssd.registry import MODELS

        @MODELS.register_module()
        class {class_name}(nn.Module):
            def forward(self, inputs):
                return tuple(inputs)
        """})
    repo = Path(__file__).resolve().parents[2]
    config = tmp_path / 'retinanet_passneck.py'
    config.write_text(
        f"_base_ = ['{repo}/configs/retinanet/retinanet_r18_fpn_8e_demo.py']\n"
        f"custom_imports = dict(imports=['{pkg}.neck'])\n"
        f"model = dict(neck=dict(_delete_=True, type='{class_name}'))\n")
    model = init_detector(str(config))
    assert type(model.neck).__name__ == class_name
    with pytest.raises(CustomImportError, match="'no_such_pkg_xyz'"):
        init_detector(str(config), cfg_options={'custom_imports.imports': ['no_such_pkg_xyz']})

"""An MLflow file store that mlflow would refuse stops the translation, and
``tools/train.py``, with one line saying what to set."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from mmssd.engine.config_translation.logger_hooks import logger_vis_backends
from mmssd.engine.config_translation.mlflow_store import check_tracking_store, is_file_store
from mmssd.utils.config_error import ConfigError

mlflow = pytest.importorskip('mlflow')
REPO = Path(__file__).resolve().parents[3]
REFUSES = hasattr(pytest.importorskip('mlflow.environment_variables'),
                  'MLFLOW_ALLOW_FILE_STORE')
needs_refusal = pytest.mark.skipif(not REFUSES, reason='this mlflow opens file stores')


def mlflow_config(**hook) -> Config:
    return Config(dict(log_config=dict(interval=1, hooks=[
        dict(type='TextLoggerHook'), dict(type='MlflowLoggerHook', **hook)])))


@pytest.mark.parametrize('uri, expected', [
    ('file:./mlruns', True), ('file:///tmp/mlruns', True), ('./mlruns', True),
    ('/abs/mlruns', True), ('sqlite:///mlflow.db', False), ('http://host:5000', False),
    ('C:\\mlruns', True), ('mlruns', True), ('databricks', False), ('databricks-uc', False),
    ('postgresql://u@h/db', False)])
def test_is_file_store(uri, expected):
    assert is_file_store(uri) is expected


@needs_refusal
def test_environment_uri_is_refused_with_what_to_set(monkeypatch):
    monkeypatch.setenv('MLFLOW_TRACKING_URI', 'file:./mlruns')
    monkeypatch.delenv('MLFLOW_ALLOW_FILE_STORE', raising=False)
    with pytest.raises(ConfigError) as error:
        logger_vis_backends(mlflow_config(exp_name='e'))
    message = str(error.value)
    assert '\n' not in message
    assert "'file:./mlruns' (from $MLFLOW_TRACKING_URI)" in message
    assert 'set MLFLOW_ALLOW_FILE_STORE=true' in message
    assert 'unset MLFLOW_TRACKING_URI' in message


@needs_refusal
def test_config_uri_is_refused_naming_the_key(monkeypatch):
    monkeypatch.delenv('MLFLOW_ALLOW_FILE_STORE', raising=False)
    with pytest.raises(ConfigError, match=r"from log_config's MlflowLoggerHook tracking_uri"
                                          r".*set tracking_uri='sqlite:///mlflow.db'"):
        logger_vis_backends(mlflow_config(tracking_uri='file:///tmp/mlruns'))


@needs_refusal
@pytest.mark.parametrize('value', ['true', 'TRUE', '1'])
def test_the_switch_lets_file_stores_through(monkeypatch, value):
    monkeypatch.setenv('MLFLOW_ALLOW_FILE_STORE', value)
    check_tracking_store('file:./mlruns', from_config=False)


@needs_refusal
def test_a_switch_mlflow_cannot_read_is_named(monkeypatch):
    monkeypatch.setenv('MLFLOW_ALLOW_FILE_STORE', 'yes')
    with pytest.raises(ConfigError, match="MLFLOW_ALLOW_FILE_STORE='yes'"):
        check_tracking_store('file:./mlruns', from_config=False)


def test_database_and_server_uris_pass(monkeypatch):
    monkeypatch.delenv('MLFLOW_ALLOW_FILE_STORE', raising=False)
    for uri in ('sqlite:///mlflow.db', 'http://localhost:5000'):
        check_tracking_store(uri, from_config=True)


@needs_refusal
def test_train_stops_at_start_with_one_line(tmp_path, monkeypatch):
    config = tmp_path / 'mlflow_demo.py'
    config.write_text(f"_base_ = ['{REPO}/configs/demo/ssdlite_mobilenetv2_demo.py']\n"
                      "log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook'),\n"
                      "                  dict(type='MlflowLoggerHook', exp_name='demo')])\n")
    monkeypatch.setenv('MLFLOW_TRACKING_URI', 'file:./mlruns')
    monkeypatch.delenv('MLFLOW_ALLOW_FILE_STORE', raising=False)
    result = subprocess.run([sys.executable, 'tools/train.py', str(config), '--work-dir',
                             str(tmp_path / 'work')], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stdout == ''  # stopped before the runner's header
    assert result.stderr.splitlines() == [
        "ConfigError: MLflow tracking URI 'file:./mlruns' (from $MLFLOW_TRACKING_URI) is a "
        'file store, which this mlflow refuses: set MLFLOW_ALLOW_FILE_STORE=true to use it, '
        'or unset MLFLOW_TRACKING_URI (mlflow then logs to sqlite:///mlflow.db)']
    assert not (tmp_path / 'work').exists()

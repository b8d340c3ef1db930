"""``--cfg-options`` with an item that is not ``KEY=VALUE`` names the item and says what
is expected (mmengine's ``DictAction`` ended in ``ValueError: not enough values to
unpack``); well-formed items still parse as mmengine parses them."""
from __future__ import annotations

import pytest

from mmssd.utils.cfg_options import malformed_cfg_options
from tests.helpers.tools import load_tool, run_tool

train_tool = load_tool('tools/train.py')
CONFIG = 'configs/demo/ssdlite_mobilenetv2_demo.py'


@pytest.mark.parametrize('items, bad', [
    (['runner.max_epochs'], "'runner.max_epochs'"),
    (['optimizer.lr=0.1', 'runner.max_epochs', '12'], "'runner.max_epochs', '12'"),
    (['=3'], "'=3'"),
])
def test_malformed_item_is_named(items, bad, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_tool.parse_args([CONFIG, '--cfg-options', *items])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f'--cfg-options: malformed option {bad}; expected KEY=VALUE' in err
    assert 'not enough values to unpack' not in err


def test_well_formed_items_parse_as_mmengine_does():
    args = train_tool.parse_args([CONFIG, '--cfg-options', 'runner.max_epochs=3',
                                  'optimizer.lr=0.5', 'data.train.classes=[a,b]',
                                  'model.x=a=b'])
    assert args.cfg_options == {'runner.max_epochs': 3, 'optimizer.lr': 0.5,
                                'data.train.classes': ['a', 'b'], 'model.x': 'a=b'}
    assert malformed_cfg_options(['a=1', 'b', ' =2']) == ['b', ' =2']


def test_command_line_names_the_option():
    """The real command: exit status 2, the usage line and the message, no traceback."""
    result = run_tool(['tools/train.py', CONFIG, '--cfg-options', 'runner.max_epochs'],
                      check=False)
    assert result.returncode == 2
    assert result.stderr.startswith('usage: train.py')
    assert ("train.py: error: --cfg-options: malformed option 'runner.max_epochs'; "
            'expected KEY=VALUE') in result.stderr
    assert 'Traceback' not in result.stderr


@pytest.mark.parametrize('tool, extra, option', [
    ('tools/test.py', ['x.pth'], '--cfg-options'), ('tools/test.py', ['x.pth'], '--eval-options'),
    ('tools/misc/print_config.py', [], '--cfg-options'),
    ('tools/analysis_tools/get_flops.py', [], '--cfg-options'),
    ('tools/analysis_tools/benchmark.py', [], '--cfg-options'),
])
def test_every_tool_names_the_malformed_item(tool, extra, option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_tool(tool).parse_args([CONFIG, *extra, option, 'runner.max_epochs'])
    assert exit_info.value.code == 2
    assert (f"{option}: malformed option 'runner.max_epochs'; expected KEY=VALUE"
            in capsys.readouterr().err)

"""Each role's README and argument specs document what the roles and the model's validator accept."""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.lvs.cluster.plugins.filter import keepalived
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import SCHEDULERS
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_params import SERVICE_SETTINGS_OPTIONS
from ansible_collections.lvs.cluster.plugins.plugin_utils import _lvs_model as lvs_model

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROLES = sorted(path.name for path in (ROOT / 'roles').iterdir() if (path / 'meta' / 'argument_specs.yml').is_file())


def entry_points(role, root=ROOT):
    return yaml.safe_load((root / 'roles' / role / 'meta' / 'argument_specs.yml').read_text())['argument_specs']


def model_spec():
    return entry_points('director')['main']['options']['lvs_virtual_services']


def missing_from_readme(role, root=ROOT):
    """Return the variables of the role's argument specs that its README does not name in backquotes."""
    readme = root / 'roles' / role / 'README.md'
    text = readme.read_text() if readme.is_file() else ''
    return sorted(name for entry in entry_points(role, root).values() for name in entry.get('options', {})
                  if '`%s`' % name not in text)


@pytest.mark.parametrize('role', ROLES)
def test_every_variable_of_the_argument_specs_is_in_the_readme(role):
    assert missing_from_readme(role) == []


def test_a_variable_missing_from_a_readme_is_found(tmp_path):
    role = tmp_path / 'roles' / 'sample'
    (role / 'meta').mkdir(parents=True)
    (role / 'meta' / 'argument_specs.yml').write_text(
        'argument_specs: {main: {options: {sample_port: {type: int}, sample_host: {type: str}}}}')
    (role / 'README.md').write_text('| `sample_port` | `80` | the port |\n')
    assert missing_from_readme('sample', tmp_path) == ['sample_host']
    (role / 'README.md').unlink()
    assert missing_from_readme('sample', tmp_path) == ['sample_host', 'sample_port']


def test_the_model_spec_has_exactly_the_keys_the_validator_accepts():
    spec = model_spec()['options']
    assert set(spec) == lvs_model.SERVICE_KEYS
    assert set(spec['realservers']['options']) == lvs_model.REALSERVER_KEYS
    assert set(spec['health_check']['options']) == keepalived.COMMON_CHECK_KEYS.union(*keepalived.CHECK_KEYS.values())
    assert set(spec['health_check']['options']['type']['choices']) == set(keepalived.CHECK_KEYS)
    assert set(spec['keepalived']['options']) == keepalived.KEEPALIVED_KEYS
    assert set(spec['sorry_server']['options']) == {'address', 'port'}
    assert spec['scheduler']['choices'] == list(SCHEDULERS)
    assert spec['scheduler_flags']['choices'] == SERVICE_SETTINGS_OPTIONS['scheduler_flags']['choices']


def yaml_blocks(path):
    return [yaml.safe_load(block) for block in re.findall(r'```yaml\n(.*?)```', path.read_text(), re.S)]


def models():
    """Every lvs_virtual_services the project ships or tests with: inventories, molecule, docs, role READMEs."""
    found = []

    def collect(data, where):
        if isinstance(data, dict):
            for key, value in data.items():
                if key == 'lvs_virtual_services' and isinstance(value, list):
                    found.append(pytest.param(value, id=where))
                else:
                    collect(value, where)
        elif isinstance(data, list):
            for item in data:
                collect(item, where)

    for path in sorted(ROOT.glob('inventories/*/group_vars/*.yml')) + sorted(ROOT.glob('molecule/*/molecule.yml')):
        collect(yaml.safe_load(path.read_text()), str(path.relative_to(ROOT)))
    for path in sorted(ROOT.glob('docs/*.md')) + sorted(ROOT.glob('roles/*/README.md')) + [ROOT / 'README.md']:
        for block in yaml_blocks(path):
            collect(block, str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize('services', models())
def test_every_model_the_project_shows_passes_the_role_argument_spec(services):
    result = ArgumentSpecValidator({'lvs_virtual_services': model_spec()}).validate(
        {'lvs_virtual_services': services})
    assert result.error_messages == []


def test_the_role_argument_spec_refuses_a_misspelt_key():
    misspelt = {'address': '198.51.100.11', 'wieght': 2}
    services = [{'name': 'web', 'vip': '192.0.2.10', 'port': 80, 'realservers': [misspelt]}]
    result = ArgumentSpecValidator({'lvs_virtual_services': model_spec()}).validate(
        {'lvs_virtual_services': services})
    assert any('wieght' in message for message in result.error_messages)

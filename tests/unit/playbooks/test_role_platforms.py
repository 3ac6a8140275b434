"""Each role checks the platform on the controller, before it changes anything (lvs.cluster.platform_check).

Four ansible-playbook runs in check mode, one host per role, the facts given with -e, every host reached only
through the tripwire (conftest.py): on CentOS without names the roles with package or service names fail with one
sentence and contact no host; with the names set, each role warns once and goes on (to the tripwire); on Debian
bookworm and trixie they go on without a warning.
"""

from __future__ import annotations

import json

import pytest

ENTRY_POINTS = {'director': 'host', 'realserver': 'main', 'httpd_backend': 'main', 'keepalived_ha': 'main'}
PLAYBOOK = """
- name: One role per host, as its host variable role_under_test says
  hosts: all
  gather_facts: false
  tasks:
    - name: The role under test
      ansible.builtin.include_role:
        name: lvs.cluster.{{ role_under_test }}
        tasks_from: "{{ entry_point }}"
"""
CENTOS = {'distribution': 'CentOS', 'distribution_version': '7.9', 'distribution_release': 'Core',
          'os_family': 'RedHat'}
BOOKWORM = {'distribution': 'Debian', 'distribution_version': '12.8', 'distribution_release': 'bookworm',
            'os_family': 'Debian'}
TRIXIE = {'distribution': 'Debian', 'distribution_version': '13.8', 'distribution_release': 'trixie',
          'os_family': 'Debian'}
CENTOS_NAMES = {
    'director': {'director_packages': ['ipvsadm']},
    'realserver': {},
    'httpd_backend': {'httpd_backend_packages': ['httpd'], 'httpd_backend_service': 'httpd'},
    'keepalived_ha': {'keepalived_ha_packages': ['keepalived', 'ipvsadm'], 'keepalived_ha_service': 'keepalived'},
}
CHECK = 'A tested platform'
REFUSED = {
    'director': 'lvs.cluster.director is tested on Debian bookworm and trixie and has no package or service names '
                'for CentOS 7.9 (OS family RedHat): set director_packages',
    'httpd_backend': 'lvs.cluster.httpd_backend is tested on Debian bookworm and trixie and has no package or service '
                     'names for CentOS 7.9 (OS family RedHat): set httpd_backend_packages and httpd_backend_service',
    'keepalived_ha': 'lvs.cluster.keepalived_ha is tested on Debian bookworm and trixie and has no package or service '
                     'names for CentOS 7.9 (OS family RedHat): set keepalived_ha_packages and keepalived_ha_service',
}
WARNED = {
    'director': "lvs.cluster.director is tested on Debian bookworm and trixie, not on CentOS 7.9 (OS family RedHat): "
                "it runs with director_packages ['ipvsadm']",
    'realserver': 'lvs.cluster.realserver is tested on Debian bookworm and trixie, not on CentOS 7.9 (OS family '
                  'RedHat): it runs untested',
    'httpd_backend': "lvs.cluster.httpd_backend is tested on Debian bookworm and trixie, not on CentOS 7.9 (OS family "
                     "RedHat): it runs with httpd_backend_packages ['httpd'] and httpd_backend_service 'httpd'",
    'keepalived_ha': "lvs.cluster.keepalived_ha is tested on Debian bookworm and trixie, not on CentOS 7.9 (OS family "
                     "RedHat): it runs with keepalived_ha_packages ['keepalived', 'ipvsadm'] and keepalived_ha_service "
                     "'keepalived'",
}
SERVICE = {'name': 'web', 'vip': '192.0.2.10', 'port': 80, 'owner': 'keepalived',
           'realservers': [{'host': 'realserver'}]}


# A second director with director_metrics: node_exporter's names are checked too (without metrics they are not).
METRICS_HOST = {'ansible_host': '192.0.2.9', 'role_under_test': 'director', 'entry_point': 'host',
                'director_metrics': True}
METRICS_NAMES = {'director_metrics_packages': ['node_exporter'], 'director_metrics_service': 'node_exporter'}


def inventory(names):
    """One host per role (192.0.2.1 to .4), each with names[role] as its variables; the directors run keepalived."""
    hosts = dict((role, dict(names.get(role, {}), ansible_host='192.0.2.%d' % (index + 1), role_under_test=role,
                             entry_point=ENTRY_POINTS[role]))
                 for index, role in enumerate(ENTRY_POINTS))
    hosts['director_metrics'] = dict(names.get('director', {}), **dict(METRICS_HOST, **names.get('director_metrics', {})))
    return {'all': {
        'vars': {'lvs_virtual_services': [SERVICE], 'keepalived_ha_interface': 'eth0',
                 'lvs_realserver_address': '198.51.100.11'},
        'children': {
            'directors': {'hosts': {role: hosts[role] for role in ('director', 'keepalived_ha', 'director_metrics')}},
            'realservers': {'hosts': {role: hosts[role] for role in ('realserver', 'httpd_backend')}},
        }}}


def outcomes(result, host):
    """Return the results the host got, in task order, each with the task's name."""
    return [dict(task['hosts'][host], task=task['task']['name'])
            for play in result['plays'] for task in play['tasks'] if host in task['hosts']]


@pytest.fixture(scope='module')
def runs(tmp_path_factory, playbook_run):
    def run(name, facts, names):
        directory = tmp_path_factory.mktemp(name)
        (directory / 'platform.yml').write_text(PLAYBOOK)
        return playbook_run(directory, directory / 'platform.yml', inventory(names), '--check',
                            '-e', json.dumps({'ansible_facts': facts}))
    return {'centos': run('centos', CENTOS, {}),
            'centos_names': run('centos_names', CENTOS, dict(CENTOS_NAMES, director_metrics=METRICS_NAMES)),
            'bookworm': run('bookworm', BOOKWORM, {}), 'trixie': run('trixie', TRIXIE, {})}


@pytest.mark.parametrize('role', sorted(REFUSED))
def test_an_unknown_os_family_without_names_fails_at_the_check(runs, role):
    result, _attempts = runs['centos']
    last = outcomes(result, role)[-1]
    assert CHECK in last['task'] and last['failed'] is True
    assert last['msg'] == REFUSED[role]
    assert result['stats'][role]['changed'] == 0 and result['stats'][role]['unreachable'] == 0


def test_no_host_is_contacted_when_the_names_are_missing(runs):
    _result, attempts = runs['centos']
    assert not [line for line in attempts if any('192.0.2.%d' % (index + 1) in line.split()
                                                 for index, role in enumerate(ENTRY_POINTS) if role in REFUSED)]


@pytest.mark.parametrize('role', sorted(ENTRY_POINTS))
def test_with_the_names_set_the_role_warns_once_and_goes_on(runs, role):
    result, attempts = runs['centos_names']
    done = outcomes(result, role)
    check = [outcome for outcome in done if CHECK in outcome['task']]
    assert len(check) == 1 and not check[0].get('failed')
    assert [warning for outcome in done for warning in outcome.get('warnings', [])] == [WARNED[role]]
    assert done[-1]['unreachable'] is True  # the next remote task reached for the host
    assert '192.0.2.%d' % (list(ENTRY_POINTS).index(role) + 1) in ' '.join(attempts)


@pytest.mark.parametrize('release', ['bookworm', 'trixie'])
@pytest.mark.parametrize('role', sorted(ENTRY_POINTS))
def test_a_tested_platform_passes_without_a_warning(runs, role, release):
    result, _attempts = runs[release]
    done = outcomes(result, role)
    assert [warning for outcome in done for warning in outcome.get('warnings', [])] == []
    assert any(CHECK in outcome['task'] and outcome.get('tested') is True for outcome in done)
    assert done[-1]['unreachable'] is True


def test_with_director_metrics_the_check_wants_node_exporters_names_too(runs):
    result, attempts = runs['centos']
    last = outcomes(result, 'director_metrics')[-1]
    assert CHECK in last['task'] and last['failed'] is True
    assert last['msg'] == REFUSED['director'].replace(
        'set director_packages', 'set director_metrics_packages and director_metrics_service and director_packages')
    assert not [line for line in attempts if '192.0.2.9' in line.split()]
    result, _attempts = runs['centos_names']
    done = outcomes(result, 'director_metrics')
    assert [warning for outcome in done for warning in outcome.get('warnings', [])] == [WARNED['director'].replace(
        'with director_packages', "with director_metrics_packages ['node_exporter'] and director_metrics_service "
        "'node_exporter' and director_packages")]
    result, _attempts = runs['bookworm']
    done = outcomes(result, 'director_metrics')
    assert any(CHECK in outcome['task'] and outcome.get('tested') is True for outcome in done)
    assert done[-1]['unreachable'] is True

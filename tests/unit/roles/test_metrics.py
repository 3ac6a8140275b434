"""Metrics: the director role's node_exporter flags; keepalived_ha's helper as keepalived's notify (the recorded
states and node_exporter's textfile) and its tmpfiles.d entry (the textfile linked, or removed)."""

from __future__ import annotations

import os
import pathlib
import stat
import subprocess

import jinja2
import jinja2.nativetypes
import yaml

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.lvs.cluster.plugins.filter.verify_report import parse_metrics

ROLES = pathlib.Path(__file__).resolve().parents[3] / 'roles'
HELPER = ROLES / 'keepalived_ha' / 'files' / 'keepalived-helper'


def test_node_exporter_listens_where_the_director_says_with_the_ipvs_collector_on():
    flags = "{{ director_metrics_flags | join(' ') }}"
    assert role_value(flags, 'director') == '--web.listen-address=:9100 --collector.ipvs'
    assert role_value(flags, 'director', director_metrics_address='192.0.2.2', director_metrics_port=9101,
                      director_metrics_args=['--collector.systemd']) == (
        '--web.listen-address=192.0.2.2:9101 --collector.ipvs --collector.systemd')
    assert role_value(flags, 'director', director_metrics_address='2001:db8::2') == (
        '--web.listen-address=[2001:db8::2]:9100 --collector.ipvs')
    assert role_value('director_metrics_packages', 'director') == ['prometheus-node-exporter']
    assert role_value('director_metrics_service', 'director') == 'prometheus-node-exporter'


def helper(*args):
    """Run the helper as keepalived does (its own shebang, /bin/sh), in a tmp directory instead of /run."""
    return subprocess.run([str(HELPER)] + [str(arg) for arg in args], check=True, capture_output=True, text=True)


def notify(state_dir, name, state, priority=100, metrics=True):
    """keepalived's notify: the role's command line, then TYPE NAME STATE PRIORITY appended by keepalived."""
    return helper('notify', *(['--metrics'] if metrics else []), state_dir, 'INSTANCE', name, state, priority)


def exported(state_dir):
    """{instance: value} of keepalived_vrrp_state in the textfile, read as verify.yml reads node_exporter."""
    samples = parse_metrics((state_dir / 'keepalived.prom').read_text(), ('keepalived_vrrp_state',))
    return dict((labels['instance'], value) for labels, value in samples['keepalived_vrrp_state'])


def test_notify_records_the_state_and_without_metrics_writes_no_textfile(tmp_path):
    notify(tmp_path, 'VI_WEB', 'BACKUP', metrics=False)
    state, _time, priority = (tmp_path / 'VI_WEB.state').read_text().split()
    assert (state, priority) == ('BACKUP', '100')
    assert sorted(path.name for path in tmp_path.iterdir()) == ['VI_WEB.state', 'transitions.log']


def test_with_metrics_each_transition_rewrites_the_textfile_of_every_instance(tmp_path):
    notify(tmp_path, 'VI_WEB', 'BACKUP')
    notify(tmp_path, 'VI_DB', 'BACKUP')
    notify(tmp_path, 'VI_WEB', 'MASTER', 150)
    assert exported(tmp_path) == {'VI_WEB': 1, 'VI_DB': 0}
    notify(tmp_path, 'VI_DB', 'FAULT', 0)
    notify(tmp_path, 'VI_WEB', 'STOP', 0)
    assert exported(tmp_path) == {'VI_WEB': 3, 'VI_DB': 2}
    text = (tmp_path / 'keepalived.prom').read_text()
    assert text.startswith('# HELP keepalived_vrrp_state VRRP state of each keepalived instance')
    assert '\n# TYPE keepalived_vrrp_state gauge\n' in text
    assert len((tmp_path / 'transitions.log').read_text().splitlines()) == 5
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        'VI_DB.state', 'VI_WEB.state', 'keepalived.prom', 'transitions.log']  # no temporary file left
    assert stat.S_IMODE(os.stat(tmp_path / 'keepalived.prom').st_mode) == 0o644  # node_exporter's user reads it


def test_an_instance_gone_from_the_configuration_has_no_series(tmp_path):
    notify(tmp_path, 'VI_WEB', 'MASTER')
    notify(tmp_path, 'VI_OLD', 'BACKUP')
    notify(tmp_path, 'VI_OLD', 'DELETED', 0)
    assert exported(tmp_path) == {'VI_WEB': 1}


def test_metrics_writes_the_states_recorded_before_metrics_were_on(tmp_path):
    notify(tmp_path, 'VI_WEB', 'MASTER', metrics=False)
    (tmp_path / 'empty.state').write_text('')
    helper('metrics', tmp_path)
    assert exported(tmp_path) == {'VI_WEB': 1}


def test_label_values_are_escaped(tmp_path):
    notify(tmp_path, 'VI"odd\\name', 'BACKUP')
    assert 'keepalived_vrrp_state{instance="VI\\"odd\\\\name"} 0' in (tmp_path / 'keepalived.prom').read_text()
    assert exported(tmp_path) == {'VI"odd\\name': 0}


def test_transitions_at_once_leave_every_state_in_the_textfile(tmp_path):
    names = ['VI_%d' % number for number in range(12)]
    runs = [subprocess.Popen([str(HELPER), 'notify', '--metrics', str(tmp_path), 'INSTANCE', name, 'MASTER', '150'])
            for name in names]
    assert [run.wait() for run in runs] == [0] * len(names)
    assert exported(tmp_path) == dict((name, 1) for name in names)


def role_value(name, role='keepalived_ha', **overrides):
    """A variable of a role (defaults, vars) or an expression, rendered as Ansible would with these overrides."""
    variables = {'ansible_facts': {'os_family': 'Debian'}}
    for where in ('defaults', 'vars'):
        variables.update(yaml.safe_load((ROLES / role / where / 'main.yml').read_text()))
    variables.update(overrides)
    environment = jinja2.nativetypes.NativeEnvironment(undefined=jinja2.ChainableUndefined)
    environment.filters.update(bool=lambda value: boolean(value, strict=False), dirname=os.path.dirname)

    def render(value):
        if isinstance(value, list):
            return [render(item) for item in value]
        return environment.from_string(value).render(variables) if isinstance(value, str) and '{{' in value else value

    for _round in range(5):  # a variable made of others: until none is left to render
        variables = dict((key, render(value)) for key, value in variables.items())
    return render(variables.get(name, name))


def role_files():
    """The entries of the keepalived_ha role's one config_files task."""
    tasks = yaml.safe_load((ROLES / 'keepalived_ha' / 'tasks' / 'main.yml').read_text())
    return next(task['lvs.cluster.config_files']['files'] for task in tasks if 'lvs.cluster.config_files' in task)


def tmpfiles_entry(**overrides):
    """The lines of /etc/tmpfiles.d/lvs-cluster-keepalived.conf but its comments, as tasks/main.yml writes them."""
    entry = next(entry for entry in role_files()
                 if isinstance(entry, dict) and role_value(entry['path']) == '/etc/tmpfiles.d/lvs-cluster-keepalived.conf')
    lines = role_value(entry['content'], **overrides).splitlines()
    return [line for line in lines if not line.startswith('#')]


def test_metrics_follow_the_director_role_and_add_the_option_to_the_notify_command():
    assert role_value('keepalived_ha_metrics') is False
    assert role_value('keepalived_ha_metrics', director_metrics=True) is True
    assert role_value('keepalived_ha_notify_recorder') == (
        '/usr/local/libexec/lvs-cluster/keepalived-helper notify /run/lvs-cluster-keepalived')
    assert role_value('keepalived_ha_notify_recorder', keepalived_ha_metrics=True) == (
        '/usr/local/libexec/lvs-cluster/keepalived-helper notify --metrics /run/lvs-cluster-keepalived')


def test_the_tmpfiles_entry_makes_the_metrics_file_with_metrics_and_removes_it_without():
    state_dir = 'd /run/lvs-cluster-keepalived 0755 keepalived_script root -'
    assert tmpfiles_entry(keepalived_ha_metrics=True) == [
        state_dir, 'f /run/lvs-cluster-keepalived/keepalived.prom 0644 keepalived_script root -']
    assert tmpfiles_entry(keepalived_ha_metrics=False) == [state_dir, 'r /run/lvs-cluster-keepalived/keepalived.prom']


def test_no_tmpfiles_line_goes_through_the_textfile_directory():
    """systemd-tmpfiles refuses a path through /var/lib/prometheus (owned by prometheus) into the root-owned
    node-exporter directory (the molecule ha converge of 2026-12-03 failed on it): the link is the file module's."""
    for metrics in (True, False):
        assert not [line for line in tmpfiles_entry(keepalived_ha_metrics=metrics) if '/var/lib/prometheus' in line]


def test_the_link_follows_the_metrics_switch():
    link = next(entry for entry in role_files() if isinstance(entry, str) and 'keepalived_ha_metrics_link' in entry)
    textfile_link = '/var/lib/prometheus/node-exporter/lvs-cluster-keepalived.prom'
    assert role_value(link, keepalived_ha_metrics=True) == {
        'path': textfile_link, 'state': 'link', 'src': '/run/lvs-cluster-keepalived/keepalived.prom'}
    assert role_value(link, keepalived_ha_metrics=False) == {'path': textfile_link, 'state': 'absent'}

"""playbooks/teardown.yml removes everything the roles write, and refuses a bad model before any host is contacted.

The coverage test reads the roles' tasks and handlers: every file a task writes (copy, template, file, config_files,
sysctl files, the modules' persisted files), every unit a task enables and every user it creates must be removed by the teardown
(the roles' absent entry points and playbooks/teardown.yml), or be listed in KEPT with the reason it stays. A role
that starts writing a new file fails this test until the teardown removes it.
"""

from __future__ import annotations

import os
import pathlib
import re
import sys

import jinja2
import jinja2.nativetypes
import pytest
import yaml
from ansible.module_utils.parsing.convert_bool import boolean

sys.path.insert(0, os.path.dirname(__file__))
from test_site_validation import BAD_MODELS, inventory  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[3]
TEARDOWN = ROOT / 'playbooks' / 'teardown.yml'
TEARDOWN_FILES = ('absent.yml',)
# What the roles make and the teardown leaves on purpose (see playbooks/teardown.yml's header).
KEPT = {
    'file /etc/frr/daemons': "FRR's own file, rewritten by bgp_director; FRR stays installed and running",
    'file /etc/frr/frr.conf': "FRR's own file, rewritten by bgp_director; FRR stays installed and running",
    'file /var/www/html/index.html': "Apache's page (httpd_backend): the application stays",
    'file /var/www/html/health': "Apache's health page (httpd_backend): the application stays",
    'unit apache2.service': 'Apache (httpd_backend) stays enabled and running',
    'unit prometheus-node-exporter.service': 'node_exporter (director_metrics) stays enabled and running, as FRR does',
}
# The files the collection's modules write when a task does not say otherwise (their DOCUMENTATION's defaults).
ARP_SYSCTL_FILE = '/etc/sysctl.d/90-lvs-cluster-arp.conf'
VIP_ALIAS_DIR = '/etc/lvs-cluster/addresses.d'
FACTS = {'ansible_facts': {'os_family': 'Debian', 'default_ipv4': {'interface': 'eth0'}}}


def load(path):
    return yaml.safe_load(path.read_text()) or [] if path.is_file() else []


def role_context(role_dir):
    """The role's defaults and vars, rendered, as the variables its paths are written with."""
    raw = dict(FACTS)
    for name in ('defaults', 'vars'):
        data = load(role_dir / name / 'main.yml')
        raw.update(data if isinstance(data, dict) else {})
    return raw


def render(value, context):
    """Render a templated value (a string, or a list or dict of them) with context, until no template is left."""
    if isinstance(value, list):
        return [render(item, context) for item in value]
    if isinstance(value, dict):
        return dict((key, render(item, context)) for key, item in value.items())
    environment = jinja2.nativetypes.NativeEnvironment(undefined=jinja2.ChainableUndefined)
    environment.filters.update(dirname=os.path.dirname, regex_replace=lambda text, pattern, by: re.sub(pattern, by, text),
                               bool=lambda text: boolean(text, strict=False))
    for _round in range(5):
        if not isinstance(value, str) or '{{' not in value:
            return value
        try:
            value = environment.from_string(value).render(context)
        except (jinja2.TemplateError, TypeError):  # a filter of the collection, a file's text: not a path the teardown needs
            return value
    raise AssertionError('cannot render %r' % value)


def tasks_of(data):
    """Every task of a task list, blocks opened."""
    for task in data or []:
        if not isinstance(task, dict):
            continue
        yield task
        for key in ('block', 'rescue', 'always'):
            yield from tasks_of(task.get(key))


def module_of(task):
    for key, value in task.items():
        if '.' in key or key in ('copy', 'template', 'file'):
            return key.rsplit('.', 1)[-1], value if isinstance(value, dict) else {}
    return None, {}


def unit(name):
    return 'unit %s' % (name if '.' in name else name + '.service')


def restore_unit(args):
    """The unit file a module writes and enables with restore_unit, and the unit."""
    name = args.get('restore_unit')
    return ['file /etc/systemd/system/%s' % name, unit(name)] if name else []


def made_by(task, context):
    """What one task of a role makes that outlives it: ['file PATH', 'unit NAME', 'user NAME'], each loop item's."""
    items = task.get('loop')
    if isinstance(items, list):
        return [thing for item in items for thing in made_by(dict(task, loop=None), dict(context, item=item))]
    module, args = module_of(task)
    args = dict((key, render(value, context)) for key, value in args.items())
    if module == 'blockinfile' and args.get('create'):
        return ['file %s' % args['path']]
    if module == 'config_files':
        return ['file %s' % entry['path'] for entry in args.get('files') or []
                if isinstance(entry, dict) and entry.get('state', 'file') != 'absent']
    if module in ('copy', 'template') or (module == 'file' and args.get('state') in ('directory', 'touch', 'link')):
        return ['file %s' % (args.get('dest') or args.get('path'))]
    if module == 'sysctl' and args.get('sysctl_file'):
        return ['file %s' % args['sysctl_file']]
    if module in ('sysctl', 'kernel_modules') and args.get('persist_file'):
        return ['file %s' % args['persist_file']]
    if module == 'arp_sysctl' and args.get('state', 'present') == 'present':
        return ['file %s' % args.get('persist_file', ARP_SYSCTL_FILE)]
    if module == 'vip_alias' and args.get('persist') and args.get('state', 'present') == 'present':
        return ['file %s' % args.get('persist_dir', VIP_ALIAS_DIR)] + restore_unit(args)
    if module == 'ipvs_table' and args.get('save_to'):
        return ['file %s' % args['save_to']] + restore_unit(args)
    if module == 'default_route' and args.get('state', 'present') == 'present':
        return restore_unit(args)
    if module == 'systemd_service' and args.get('enabled') is True:
        return [unit(args['name'])]
    if module == 'user' and args.get('state', 'present') == 'present':
        return ['user %s' % args['name']]
    return []


def removed_by(task, context):
    """What one task of the teardown removes: files (with what is under them), units, users."""
    module, args = module_of(task)
    task_vars = dict((key, render(value, context)) for key, value in (task.get('vars') or {}).items())
    args = dict((key, render(value, dict(context, **task_vars))) for key, value in args.items())
    found = []
    if module == 'teardown':
        found += ['file %s' % path for path in args.get('paths') or []] + [unit(name) for name in args.get('units') or []]
    if module == 'file' and args.get('state') == 'absent':
        found.append('file %s' % args['path'])
    if module == 'arp_sysctl' and args.get('state') == 'absent':
        found.append('file %s' % args.get('persist_file', ARP_SYSCTL_FILE))
    if module == 'user' and args.get('state') == 'absent':
        found.append('user %s' % args['name'])
    return [thing for thing in found if not thing.startswith('file ') or thing.startswith('file /')]


def inventory_of(root):
    """(made, removed): what the roles make and what the teardown removes, each as a set of 'kind name' strings."""
    made, removed = set(), set()
    for role_dir in sorted((root / 'roles').iterdir()):
        context = role_context(role_dir)
        for path in sorted((role_dir / 'tasks').glob('*.yml')) + [role_dir / 'handlers' / 'main.yml']:
            for task in tasks_of(load(path)):
                (removed if path.name in TEARDOWN_FILES else made).update(
                    (removed_by if path.name in TEARDOWN_FILES else made_by)(task, context))
    for play in load(root / 'playbooks' / 'teardown.yml'):
        for task in tasks_of(play.get('tasks')):
            removed.update(removed_by(task, FACTS))
    return made, removed


def covered(thing, removed):
    """Whether the teardown removes thing: the same, or a directory it is in."""
    kind, _space, name = thing.partition(' ')
    return thing in removed or (kind == 'file' and any(name.startswith(gone[len('file '):] + '/')
                                                       for gone in removed if gone.startswith('file /')))


def uncovered(root=ROOT):
    made, removed = inventory_of(root)
    return sorted(thing for thing in made if not covered(thing, removed) and thing not in KEPT)


def test_the_teardown_removes_every_file_unit_and_user_the_roles_make():
    assert uncovered() == []


def test_the_roles_make_what_the_teardown_is_known_to_remove():
    made, removed = inventory_of(ROOT)
    assert {'file /etc/lvs-cluster/ipvs.rules', 'file /etc/lvs-cluster/addresses.d',
            'file /etc/systemd/system/lvs-cluster-addresses.service', 'file /etc/keepalived/keepalived.conf',
            'file /etc/frr/lvs-cluster-bgp-gate.json', 'unit keepalived.service', 'user keepalived_script',
            'file /etc/modules-load.d/lvs-cluster-ipip.conf', 'unit lvs-cluster-nat-route.service',
            'file /etc/systemd/system/lvs-cluster-nat-route.service'} <= made
    assert set(KEPT) <= made, 'KEPT lists something no role makes any more'
    assert not set(KEPT) & removed
    assert all(thing.startswith(('file /', 'unit ', 'user ')) for thing in made | removed), 'a path not rendered'


def test_a_file_a_role_writes_and_the_teardown_leaves_is_found(tmp_path):
    role = tmp_path / 'roles' / 'sample'
    (role / 'tasks').mkdir(parents=True)
    (role / 'defaults').mkdir()
    (role / 'defaults' / 'main.yml').write_text('sample_dir: /etc/sample\n')
    (role / 'tasks' / 'main.yml').write_text(
        '- ansible.builtin.copy: {dest: "{{ sample_dir }}/kept.conf", content: x}\n'
        '- ansible.builtin.template: {src: a.j2, dest: /etc/lvs-cluster-new.conf}\n'
        '- ansible.builtin.systemd_service: {name: sample, enabled: true}\n')
    (role / 'tasks' / 'absent.yml').write_text('- ansible.builtin.file: {path: "{{ sample_dir }}", state: absent}\n')
    (tmp_path / 'playbooks').mkdir()
    (tmp_path / 'playbooks' / 'teardown.yml').write_text('- hosts: all\n  tasks: []\n')
    assert uncovered(tmp_path) == ['file /etc/lvs-cluster-new.conf', 'unit sample.service']


SOME_BAD = dict((name, BAD_MODELS[name]) for name in ('port_range', 'weight_of_host', 'unknown_service_key'))


def test_a_bad_model_stops_the_teardown_before_any_host_is_contacted(tmp_path, playbook_run):
    result, attempts = playbook_run(tmp_path, str(TEARDOWN), inventory(SOME_BAD))
    assert attempts == []
    assert [play['play']['name'] for play in result['plays']] == [
        'Check lvs_virtual_services on the controller, before any host is contacted']
    for name, (_model, says) in SOME_BAD.items():
        outcome = result['plays'][0]['tasks'][0]['hosts'][name]
        assert outcome['failed'] is True and outcome['msg'].startswith(says), outcome['msg']


@pytest.mark.parametrize('name', ['director', 'realserver', 'keepalived_ha'])
def test_each_teardown_entry_point_has_its_argument_spec(name):
    specs = yaml.safe_load((ROOT / 'roles' / name / 'meta' / 'argument_specs.yml').read_text())['argument_specs']
    assert 'absent' in specs and (ROOT / 'roles' / name / 'tasks' / 'absent.yml').is_file()

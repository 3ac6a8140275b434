"""The IPVS modules end to end against a fake backend: validation, check mode, diff, idempotence."""

from __future__ import annotations

import errno

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_errors import IPVSPermissionError
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import rules
from ansible_collections.lvs.cluster.plugins.modules import ipvs_info, ipvs_realserver, ipvs_service, ipvs_table

SERVICE = dict(address='192.0.2.10', port=80)
WEB = dict(SERVICE, scheduler='wrr', realservers=[
    dict(address='198.51.100.11', weight=1), dict(address='198.51.100.12', weight=2)])


def test_service_is_created_then_unchanged(fake_backend, run_module):
    result = run_module(ipvs_service.main, WEB)
    assert not result['failed'] and result['changed']
    assert fake_backend.applied == [
        '-A -t 192.0.2.10:80 -s wrr',
        '-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1',
        '-a -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 2',
    ]
    assert [rs['weight'] for rs in result['service']['realservers']] == [1, 2]
    again = run_module(ipvs_service.main, WEB)
    assert not again['failed'] and not again['changed'] and again['commands'] == []


def test_check_mode_predicts_and_changes_nothing(fake_backend, run_module):
    predicted = run_module(ipvs_service.main, WEB, check_mode=True, diff=True)
    assert predicted['changed'] and fake_backend.table == {} and fake_backend.applied == []
    real = run_module(ipvs_service.main, WEB, diff=True)
    assert real['commands'] == predicted['commands'] and real['diff'] == predicted['diff']
    assert predicted['diff']['before'] == ''
    assert predicted['diff']['after'].splitlines()[0] == '-A -t 192.0.2.10:80 -s wrr'


def test_scheduler_change_is_an_edit(fake_backend, run_module):
    run_module(ipvs_service.main, WEB)
    result = run_module(ipvs_service.main, dict(SERVICE, scheduler='sh', scheduler_flags=['sh-fallback']))
    assert result['commands'] == ['-E -t 192.0.2.10:80 -s sh -b sh-fallback']
    assert len(result['service']['realservers']) == 2


def test_service_absent_deletes(fake_backend, run_module):
    run_module(ipvs_service.main, WEB)
    result = run_module(ipvs_service.main, dict(SERVICE, state='absent'))
    assert result['commands'] == ['-D -t 192.0.2.10:80'] and result['service'] is None
    again = run_module(ipvs_service.main, dict(SERVICE, state='absent'))
    assert not again['changed']


@pytest.mark.parametrize('args, parameter, words', [
    (dict(address='192.0.2.300', port=80), 'address', 'IPv4 or IPv6 address'),
    (dict(address='192.0.2.10', port=70000), 'port', 'from 1 to 65535'),
    (dict(address='192.0.2.10', port=80, scheduler='fastest'), 'scheduler', 'ip_vs_fastest'),
    (dict(address='192.0.2.10', port=80, scheduler='twos'), 'scheduler', 'neither loaded nor installed'),
    (dict(address='192.0.2.10', port=80, scheduler='rr', scheduler_flags=['sh-port']), 'scheduler_flags',
     'scheduler: sh'),
    (dict(address='192.0.2.10', port=80, persistence_netmask='24'), 'persistence_netmask', 'persistence_timeout'),
    (dict(address='192.0.2.10', port=80, persistence_timeout=-1), 'persistence_timeout', 'from 0 to 2678400'),
    (dict(address='2001:db8::1', port=80, persistence_timeout=60, persistence_netmask='255.255.0.0'),
     'persistence_netmask', 'prefix length'),
    (dict(address='192.0.2.10', port=80, family='ipv6'), 'family', 'is ipv4'),
    (dict(SERVICE, realservers=[dict(address='198.51.100.11', weight=-1)]), 'realservers[0].weight',
     'from 0 to 65535'),
    (dict(SERVICE, realservers=[dict(address='198.51.100.11', weight=65536)]), 'realservers[0].weight',
     'from 0 to 65535'),
    (dict(SERVICE, realservers=[dict(address='2001:db8::11')]), 'realservers[0].address', 'must be ipv4'),
    (dict(SERVICE, realservers=[dict(address='198.51.100.11', tunnel_type='gue')]), 'realservers[0].tunnel_type',
     'need forwarding: tun'),
    (dict(SERVICE, realservers=[dict(address='198.51.100.11', forwarding='tun', tunnel_type='gue')]),
     'realservers[0].tunnel_port', 'needs a tunnel_port'),
    (dict(SERVICE, realservers=[dict(address='198.51.100.11', port=8080)]), 'realservers[0].port',
     'forwarding: nat'),
    (dict(SERVICE, realservers=[dict(address='198.51.100.11', upper_threshold=5, lower_threshold=9)]),
     'realservers[0].lower_threshold', 'at most upper_threshold'),
    (dict(SERVICE, realservers=[dict(address='198.51.100.11'), dict(address='198.51.100.11')]),
     'realservers[1].address', 'once'),
])
def test_bad_input_names_the_parameter_and_changes_nothing(fake_backend, run_module, args, parameter, words):
    run_module(ipvs_service.main, WEB)
    before = dict(fake_backend.table)
    applied = list(fake_backend.applied)
    result = run_module(ipvs_service.main, args)
    assert result['failed']
    assert result['parameter'] == parameter
    assert result['msg'].startswith(parameter + ':') and words in result['msg']
    assert fake_backend.table == before and fake_backend.applied == applied


def test_realserver_drain_then_absent(fake_backend, run_module):
    run_module(ipvs_service.main, WEB)
    fake_backend.table[next(iter(fake_backend.table))].realservers[('198.51.100.12', 80)].active_connections = 4
    args = dict(service=SERVICE, address='198.51.100.12', weight=2, state='drained')
    drained = run_module(ipvs_realserver.main, args)
    assert drained['commands'] == ['-e -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 0']
    assert drained['realserver']['weight'] == 0 and drained['realserver']['active_connections'] == 4
    assert not run_module(ipvs_realserver.main, args)['changed']
    gone = run_module(ipvs_realserver.main, dict(args, state='absent'))
    assert gone['commands'] == ['-d -t 192.0.2.10:80 -r 198.51.100.12:80'] and gone['realserver'] is None


def test_realserver_needs_an_existing_service(fake_backend, run_module):
    result = run_module(ipvs_realserver.main, dict(service=SERVICE, address='198.51.100.12'))
    assert result['failed'] and result['parameter'] == 'service' and 'no such virtual service' in result['msg']


def test_table_applies_only_the_difference(fake_backend, run_module):
    dns = dict(protocol='udp', address='192.0.2.10', port=53, scheduler='rr', one_packet=True,
               realservers=[dict(address='198.51.100.11')])
    first = run_module(ipvs_table.main, dict(config=[WEB, dns]))
    assert len(first['commands']) == 5
    changed_weight = dict(WEB, realservers=[dict(address='198.51.100.11', weight=5), WEB['realservers'][1]])
    second = run_module(ipvs_table.main, dict(config=[changed_weight, dns], state='overridden'))
    assert second['commands'] == ['-e -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 5']
    assert [len(service['realservers']) for service in second['after']] == [2, 1] and 'services' not in second
    third = run_module(ipvs_table.main, dict(config=[changed_weight], state='overridden'))
    assert third['commands'] == ['-D -u 192.0.2.10:53']
    assert not run_module(ipvs_table.main, dict(config=[changed_weight], state='overridden'))['changed']


def test_table_bad_item_names_its_path(fake_backend, run_module):
    bad = dict(WEB, realservers=[dict(address='198.51.100.11', weight=70000)])
    result = run_module(ipvs_table.main, dict(config=[WEB, bad]))
    assert result['failed'] and result['parameter'] == 'config[1].realservers[0].weight'


def test_table_save_to_writes_restorable_rules(fake_backend, run_module, tmp_path):
    target = tmp_path / 'ipvs.rules'
    checked = run_module(ipvs_table.main, dict(config=[WEB], save_to=str(target)), check_mode=True)
    assert checked['saved'] and not target.exists()
    saved = run_module(ipvs_table.main, dict(config=[WEB], save_to=str(target)))
    assert saved['saved'] and target.read_text().splitlines() == [
        '-A -t 192.0.2.10:80 -s wrr',
        '-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1',
        '-a -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 2',
    ]
    again = run_module(ipvs_table.main, dict(config=[WEB], save_to=str(target)))
    assert not again['changed'] and not again['saved']


def test_table_leaves_excluded_services_alone(fake_backend, run_module, tmp_path):
    keepalived_owned = dict(protocol='tcp', address='192.0.2.20', port=443, realservers=[dict(address='198.51.100.13')])
    run_module(ipvs_table.main, dict(config=[WEB, keepalived_owned]))
    exclude = [dict(address='192.0.2.20', port=443)]
    target = tmp_path / 'ipvs.rules'
    result = run_module(ipvs_table.main, dict(config=[], state='overridden', exclude=exclude, save_to=str(target)))
    assert result['commands'] == ['-D -t 192.0.2.10:80']
    assert target.read_text() == '\n' and result['after'] == []
    assert not run_module(ipvs_table.main, dict(config=[], state='overridden', exclude=exclude))['changed']
    clash = run_module(ipvs_table.main, dict(config=[keepalived_owned], exclude=exclude))
    assert clash['failed'] and clash['parameter'] == 'config[0]' and 'listed in exclude' in clash['msg']


def test_info_reports_rules(fake_backend, run_module):
    run_module(ipvs_service.main, WEB)
    result = run_module(ipvs_info.main, {})
    assert not result['failed'] and not result['changed']
    assert result['rules'][0] == '-A -t 192.0.2.10:80 -s wrr'
    assert result['services'][0]['realservers'][1]['weight'] == 2


@pytest.mark.parametrize('item, parameter, says', [
    (dict(WEB, wieght=1), 'config[0].wieght', 'not an option here'),
    (dict(WEB, port='eighty'), 'config[0].port', 'expected int'),
    (dict(WEB, protocol='icmp'), 'config[0].protocol', 'expected one of tcp, udp, sctp'),
    (dict(WEB, fwmark=7), 'config[0]', 'only one of address, fwmark may be set'),
    (dict(WEB, realservers=[dict(weight=1)]), 'config[0].realservers[0].address', 'this option is required'),
    (dict(WEB, realservers=[dict(address='198.51.100.11', forwarding='ipip')]), 'config[0].realservers[0].forwarding',
     'expected one of dr, nat, tun'),
    (dict(WEB, scheduler_flags=['sh-port', 'nope']), 'config[0].scheduler_flags', "'nope' is not valid"),
])
def test_table_items_are_checked_like_suboptions(fake_backend, run_module, item, parameter, says):
    result = run_module(ipvs_table.main, dict(config=[item]))
    assert result['failed'] and result['parameter'] == parameter and says in result['msg']
    assert fake_backend.applied == []


def test_table_items_are_converted_and_defaulted_like_suboptions(fake_backend, run_module):
    result = run_module(ipvs_table.main, dict(config=[dict(address='192.0.2.10', port='80', one_packet='no',
                                                           realservers=[dict(address='198.51.100.11', weight='3')])]))
    assert result['commands'] == ['-A -t 192.0.2.10:80 -s wlc', '-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 3']


MODULE_RUNS = [
    (ipvs_service, WEB), (ipvs_realserver, dict(service=SERVICE, address='198.51.100.12')),
    (ipvs_table, dict(config=[WEB])), (ipvs_info, {}),
]


@pytest.mark.parametrize('module, args', MODULE_RUNS)
def test_without_privilege_every_module_says_what_it_needs(fake_backend, run_module, module, args):
    def refused(stats=True):
        raise IPVSPermissionError('reading the IPVS services')
    fake_backend.read_table = refused
    result = run_module(module.main, args)
    assert result['failed'] and 'exception' not in result
    assert result['msg'] == ('reading the IPVS services was refused: IPVS needs root or CAP_NET_ADMIN on the target: '
                             'run the task with become: true.')


@pytest.mark.parametrize('module, args', MODULE_RUNS)
def test_a_missing_ipvsadm_is_named_with_its_package(run_module, monkeypatch, module, args):
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, required=False, opt_dirs=None: None)
    result = run_module(module.main, dict(args, backend='ipvsadm'))
    assert result['failed'] and result['msg'] == ('backend=ipvsadm needs the ipvsadm command on the target: install '
                                                  'the Debian package ipvsadm.')


def refuse_address(address):
    return lambda change: errno.EINVAL if change.realserver is not None and change.realserver.address == address \
        else None


def test_service_with_a_refused_realserver_is_all_or_nothing(fake_backend, run_module):
    run_module(ipvs_service.main, WEB)
    before = rules(fake_backend.table.values())
    fake_backend.refuse = refuse_address('198.51.100.255')
    args = dict(WEB, scheduler='rr', purge_realservers=True,
                realservers=[dict(address='198.51.100.11', weight=3), dict(address='198.51.100.255')])
    result = run_module(ipvs_service.main, args)
    assert result['failed'] and result['changed'] is False and rules(fake_backend.table.values()) == before
    assert result['msg'].startswith('adding real server 198.51.100.255:80 to tcp 192.0.2.10:80 (')
    assert 'check address' in result['msg'] and result['msg'].endswith(
        'the 2 changes the task had made were undone, the last first: the table is as it was.')
    assert result['undone'] == ['-e -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1', '-E -t 192.0.2.10:80 -s wrr']


def test_table_with_a_refused_second_service_is_all_or_nothing(fake_backend, run_module):
    fake_backend.refuse = refuse_address('198.51.100.255')
    second = dict(address='192.0.2.11', port=80, realservers=[dict(address='198.51.100.255')])
    result = run_module(ipvs_table.main, dict(config=[WEB, second]))
    assert result['failed'] and result['changed'] is False and fake_backend.table == {}
    assert result['msg'].startswith('adding real server 198.51.100.255:80 to tcp 192.0.2.11:80 (')
    assert len(result['applied']) == 4 and result['undone'][-1] == '-D -t 192.0.2.10:80'


def test_table_restore_unit_is_written_and_enabled_once(fake_backend, fake_systemd, run_module, tmp_path):
    args = dict(config=[WEB], save_to=str(tmp_path / 'ipvs.rules'), restore_unit='lvs-cluster-ipvs.service')
    unit = tmp_path / 'systemd' / 'lvs-cluster-ipvs.service'
    checked = run_module(ipvs_table.main, args, check_mode=True)
    assert checked['changed'] and checked['restore_unit_changed'] and not unit.exists() and not fake_systemd.commands
    done = run_module(ipvs_table.main, args)
    assert done['restore_unit_changed'] and fake_systemd.commands == [('daemon-reload',), ('enable', 'lvs-cluster-ipvs.service')]
    assert "ExecStart=/bin/sh -c 'ipvsadm -R < %s'" % (tmp_path / 'ipvs.rules') in unit.read_text()
    assert 'Before=keepalived.service' in unit.read_text()
    fake_systemd.commands.clear()
    again = run_module(ipvs_table.main, args)
    assert not again['changed'] and not again['restore_unit_changed']
    assert fake_systemd.commands == [('is-enabled', 'lvs-cluster-ipvs.service')]
    fake_systemd.enabled.clear()  # systemctl disable, by hand
    repaired = run_module(ipvs_table.main, args)
    assert repaired['changed'] and repaired['restore_unit_changed'] and not repaired['commands']
    assert fake_systemd.commands[-1] == ('enable', 'lvs-cluster-ipvs.service')


@pytest.mark.parametrize('args', [dict(restore_unit='lvs-cluster-ipvs.service'),
                                  dict(restore_unit='../x.service', save_to='/tmp/rules'),
                                  dict(restore_unit='lvs.timer', save_to='/tmp/rules')])
def test_table_restore_unit_needs_save_to_and_a_service_name(fake_backend, fake_systemd, run_module, args):
    result = run_module(ipvs_table.main, dict(args, config=[WEB]))
    assert result['failed'] and result['parameter'] == 'restore_unit' and not fake_backend.applied
    assert not fake_systemd.commands


def test_table_a_failed_enable_says_so(fake_backend, fake_systemd, run_module, tmp_path):
    fake_systemd.refuse = ('enable', 'lvs-cluster-ipvs.service')
    result = run_module(ipvs_table.main, dict(config=[WEB], save_to=str(tmp_path / 'ipvs.rules'),
                                              restore_unit='lvs-cluster-ipvs.service'))
    assert result['failed'] and result['changed']
    assert result['msg'].startswith('systemctl enable lvs-cluster-ipvs.service failed (rc 1)')

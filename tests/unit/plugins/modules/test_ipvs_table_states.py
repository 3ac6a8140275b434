"""ipvs_table's states, through main() with a fake backend; rendered and parsed with no backend at all."""

from __future__ import annotations

import socket

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_client
from ansible_collections.lvs.cluster.plugins.modules import ipvs_table

WEB = dict(address='192.0.2.10', port=80, scheduler='wrr', realservers=[
    dict(address='198.51.100.11', weight=1), dict(address='198.51.100.12', weight=2)])
DNS = dict(protocol='udp', address='192.0.2.10', port=53, scheduler='rr', realservers=[dict(address='198.51.100.11')])
MARK = dict(fwmark=7, family='ipv6', scheduler='sh', scheduler_flags=['sh-port'], persistence_timeout=300,
            persistence_netmask='64', realservers=[
                dict(address='2001:db8::21', port=0, weight=3, upper_threshold=100, lower_threshold=10),
                dict(address='198.51.100.13', port=0, forwarding='tun', tunnel_type='gue', tunnel_port=6080,
                     tunnel_checksum='csum')])
WEB_WITH_13 = dict(WEB, realservers=[dict(address='198.51.100.13', weight=4)])
SAVED = '''-A -t 192.0.2.10:80 -s wrr
-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1
-a -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 2
-A -u 192.0.2.10:53 -s rr
-a -u 192.0.2.10:53 -r 198.51.100.11:53 -g -w 1
'''


@pytest.fixture
def web_and_dns(fake_backend, run_module):
    """The fake table holds WEB (two real servers) and DNS; nothing of that was applied by the test yet."""
    assert not run_module(ipvs_table.main, dict(config=[WEB, DNS]))['failed']
    fake_backend.applied = []
    return fake_backend


def test_merged_adds_and_updates_and_touches_nothing_else(web_and_dns, run_module):
    result = run_module(ipvs_table.main, dict(state='merged', config=[WEB_WITH_13]))
    assert result['changed'] and result['commands'] == ['-a -t 192.0.2.10:80 -r 198.51.100.13:80 -g -w 4']
    assert [len(service['realservers']) for service in result['before']] == [2, 1]
    assert [len(service['realservers']) for service in result['after']] == [3, 1]


def test_replaced_removes_the_undeclared_real_servers_of_the_given_services_only(web_and_dns, run_module):
    result = run_module(ipvs_table.main, dict(state='replaced', config=[WEB_WITH_13]))
    assert result['commands'] == ['-a -t 192.0.2.10:80 -r 198.51.100.13:80 -g -w 4',
                                  '-d -t 192.0.2.10:80 -r 198.51.100.11:80',
                                  '-d -t 192.0.2.10:80 -r 198.51.100.12:80']
    web, dns = result['after']
    assert [member['address'] for member in web['realservers']] == ['198.51.100.13']
    assert dns['protocol'] == 'udp' and len(dns['realservers']) == 1
    assert not run_module(ipvs_table.main, dict(state='replaced', config=[WEB_WITH_13]))['changed']


def test_overridden_makes_the_whole_table_the_config(web_and_dns, run_module):
    result = run_module(ipvs_table.main, dict(state='overridden', config=[WEB_WITH_13]))
    assert result['commands'] == ['-D -u 192.0.2.10:53', '-a -t 192.0.2.10:80 -r 198.51.100.13:80 -g -w 4',
                                  '-d -t 192.0.2.10:80 -r 198.51.100.11:80', '-d -t 192.0.2.10:80 -r 198.51.100.12:80']
    assert [(service['port'], len(service['realservers'])) for service in result['after']] == [(80, 1)]


def test_deleted_removes_the_given_services_or_all_but_the_excluded(web_and_dns, run_module):
    one = run_module(ipvs_table.main, dict(state='deleted', config=[WEB]), check_mode=True)
    assert one['changed'] and one['commands'] == ['-D -t 192.0.2.10:80'] and web_and_dns.applied == []
    assert [service['port'] for service in one['after']] == [53]
    keep_dns = [dict(protocol='udp', address='192.0.2.10', port=53)]
    rest = run_module(ipvs_table.main, dict(state='deleted', exclude=keep_dns))
    assert rest['commands'] == ['-D -t 192.0.2.10:80'] and rest['after'] == []
    assert [key.port for key in web_and_dns.table] == [53]
    everything = run_module(ipvs_table.main, dict(state='deleted'))
    assert everything['commands'] == ['-D -u 192.0.2.10:53'] and web_and_dns.table == {}


def test_gathered_returns_what_config_takes_and_overriding_with_it_changes_nothing(fake_backend, run_module):
    run_module(ipvs_table.main, dict(config=[WEB, DNS, MARK]))
    applied = list(fake_backend.applied)
    gathered = run_module(ipvs_table.main, dict(state='gathered', exclude=[dict(address='192.0.2.10', port=80)]))
    assert not gathered['changed'] and gathered['commands'] == []
    assert [service.get('port', service.get('fwmark')) for service in gathered['gathered']] == [53, 7]
    mark = gathered['gathered'][1]
    assert mark['persistence_netmask'] == '64' and mark['realservers'][0] == dict(
        address='198.51.100.13', port=0, forwarding='tun', weight=1, upper_threshold=0, lower_threshold=0,
        tunnel_type='gue', tunnel_port=6080, tunnel_checksum='csum')
    everything = run_module(ipvs_table.main, dict(state='gathered'))['gathered']
    again = run_module(ipvs_table.main, dict(state='overridden', config=everything))
    assert not again['failed'] and not again['changed'] and fake_backend.applied == applied


@pytest.fixture
def no_kernel(monkeypatch, run_module):
    """Make any netlink socket, ipvsadm run or backend opening fail the test."""
    def forbidden(*args, **kwargs):
        raise AssertionError('rendered and parsed must not reach the kernel: %r' % (args,))
    monkeypatch.setattr(_ipvs_client, 'open_backend', forbidden)
    monkeypatch.setattr(socket, 'socket', forbidden)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', forbidden)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', forbidden)
    return run_module


def test_rendered_gives_the_restore_lines_without_any_kernel(no_kernel):
    gone = dict(address='192.0.2.10', port=8080, state='absent')
    drained = dict(DNS, realservers=[dict(address='198.51.100.11', state='drained'),
                                     dict(address='198.51.100.12', state='absent')])
    result = no_kernel(ipvs_table.main, dict(state='rendered', config=[gone, WEB, drained]))
    assert not result['failed'] and not result['changed'] and 'commands' not in result
    assert result['rendered'] == SAVED.replace('-r 198.51.100.11:53 -g -w 1', '-r 198.51.100.11:53 -g -w 0') \
        .splitlines()


def test_rendered_checks_config_as_the_writing_states_do(no_kernel):
    bad = dict(WEB, realservers=[dict(address='198.51.100.11', lower_threshold=50)])
    result = no_kernel(ipvs_table.main, dict(state='rendered', config=[bad]))
    assert result['failed'] and result['parameter'] == 'config[0].realservers[0].lower_threshold'


def test_parsed_reads_ipvsadm_save_and_renders_back_the_same_text(no_kernel):
    text = SAVED + '-A -f 7 -6 -s sh -b sh-port -p 300 -M 64\n' \
        '-a -f 7 -6 -r [2001:db8::21]:0 -g -w 3 -x 100 -y 10\n'
    result = no_kernel(ipvs_table.main, dict(state='parsed', running_config=text))
    assert not result['failed'] and not result['changed']
    assert [service['scheduler'] for service in result['parsed']] == ['wrr', 'rr', 'sh']
    assert result['parsed'][2]['realservers'][0]['upper_threshold'] == 100
    rendered = no_kernel(ipvs_table.main, dict(state='rendered', config=result['parsed']))
    assert sorted(rendered['rendered']) == sorted(text.splitlines())


@pytest.mark.parametrize('text, says', [
    ('-A -t 192.0.2.10:80 -s wrr\n-a -t 192.0.2.11:80 -r 198.51.100.11:80 -g -w 1\n',
     'line 2 (-a -t 192.0.2.11:80 -r 198.51.100.11:80 -g -w 1) is not an ipvsadm-save -n rule: it adds a real server'),
    ('-A -t www.example.org:http -s wrr\n', 'line 1 (-A -t www.example.org:http -s wrr) is not an ipvsadm-save -n rule'),
    ('IP Virtual Server version 1.2.1\n', 'line 1 (IP Virtual Server version 1.2.1) is not an ipvsadm-save -n rule'),
    ('-A -t 192.0.2.10:80 -s wrr\n-a -t 192.0.2.10:80 -w\n', 'line 2 (-a -t 192.0.2.10:80 -w) is not an'),
])
def test_parsed_names_the_line_it_cannot_read(no_kernel, text, says):
    result = no_kernel(ipvs_table.main, dict(state='parsed', running_config=text))
    assert result['failed'] and result['parameter'] == 'running_config' and says in result['msg']
    assert 'expected the output of ipvsadm-save -n' in result['msg']


@pytest.mark.parametrize('args, parameter', [
    (dict(state='rendered', config=[WEB], save_to='/tmp/rules'), 'save_to'),
    (dict(state='gathered', config=[WEB]), 'config'),
    (dict(state='parsed', running_config=SAVED, exclude=[dict(address='192.0.2.10', port=80)]), 'exclude'),
    (dict(state='gathered', drain_timeout=5), 'drain_timeout'),
    (dict(state='merged', config=[WEB], running_config=SAVED), 'running_config'),
])
def test_an_option_the_state_does_not_take_fails_naming_it(no_kernel, args, parameter):
    result = no_kernel(ipvs_table.main, args)
    assert result['failed'] and result['parameter'] == parameter
    assert result['msg'].startswith('%s: ' % parameter) and 'state %s' % args['state'] in result['msg']


def test_parsed_needs_running_config(no_kernel):
    result = no_kernel(ipvs_table.main, dict(state='parsed'))
    assert result['failed'] and 'running_config' in result['msg']


def test_before_and_after_count_above_the_listed_size(fake_backend, run_module):
    small = dict(address='192.0.2.10', port=80, realservers=[
        dict(address='198.51.100.%d' % host) for host in range(1, 100)])
    assert isinstance(run_module(ipvs_table.main, dict(config=[small]))['after'], list)
    large = dict(small, realservers=[dict(address='10.0.%d.%d' % (host // 250, 1 + host % 250))
                                     for host in range(ipvs_table.LISTED_ENTRIES)])
    result = run_module(ipvs_table.main, dict(state='replaced', config=[large]))
    assert len(result['before'][0]['realservers']) == 99
    assert result['after'] == dict(services=1, realservers=ipvs_table.LISTED_ENTRIES)


def test_replaced_drains_the_real_servers_it_removes(web_and_dns, run_module):
    result = run_module(ipvs_table.main, dict(state='replaced', drain_timeout=5,
                                              config=[dict(WEB, realservers=[WEB['realservers'][0]])]))
    assert result['drained'] == ['-t 192.0.2.10:80 -r 198.51.100.12:80']
    assert web_and_dns.applied == ['-e -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 0',
                                   '-d -t 192.0.2.10:80 -r 198.51.100.12:80']

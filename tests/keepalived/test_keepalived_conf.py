"""Every checker type and option the keepalived_ha role can render passes keepalived's own config test.

keepalived 2.2.7's `keepalived -t` exits 4 on a fatal error, 5 on errors or warnings (deprecated keywords
included) and 6 for scripts without script security; any non-zero exit fails these tests. It needs no
IPVS in the kernel, so this suite runs on the host.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from conftest import CONFIG_TEST, NIC, config_test, render, script


def web(**changes):
    """Return a one-service model owned by keepalived, with changes merged into the service (None removes a key)."""
    service = {'name': 'web', 'vip': '192.0.2.100', 'vip_prefix': 24, 'port': 80, 'owner': 'keepalived',
               'scheduler': 'wrr', 'forwarding': 'dr',
               'realservers': [{'host': 'rs1', 'weight': 1}, {'host': 'rs2', 'weight': 2}]}
    service.update(changes)
    return [dict((key, value) for key, value in service.items() if value is not None)]


CHECKS = {
    'http_get default': {'type': 'http_get'},
    'http_get every option': {
        'type': 'http_get', 'path': '/health?full=1', 'status_code': ['200-299', 301], 'virtualhost': 'www.example.com',
        'digest': '9b3a0c85a887a256d6939da88aabd8cd', 'http_protocol': '1.0C', 'port': 8080, 'interval': 2.5,
        'timeout': 1.5, 'retry': 2, 'delay_before_retry': 0.5, 'warmup': 0},
    'ssl_get with sni': {'type': 'ssl_get', 'path': '/health', 'status_code': 204, 'enable_sni': True, 'port': 443},
    'tcp_check': {'type': 'tcp_check', 'port': 80, 'timeout': 3, 'retry': 1, 'delay_before_retry': 1, 'interval': 6},
    'tcp_check default (no health_check)': None,
    'misc_check': {'type': 'misc_check', 'script': 'MISC {address} {port}', 'timeout': 5, 'dynamic': True,
                   'retry': 1, 'delay_before_retry': 2, 'interval': 10},
    'no checker': {'type': 'none'},
}


@pytest.mark.parametrize('check', CHECKS.values(), ids=list(CHECKS))
def test_every_checker_passes_the_config_test(check):
    if check and check['type'] == 'misc_check':
        check = dict(check, script=check['script'].replace('MISC', script('misc-check')))
    text = render(web(health_check=check) if check is not None else web())
    code, output = config_test(text)
    assert code == 0, output + text
    expected = {None: 'TCP_CHECK', 'http_get': 'HTTP_GET', 'ssl_get': 'SSL_GET', 'tcp_check': 'TCP_CHECK',
                'misc_check': 'MISC_CHECK', 'none': None}[check and check['type']]
    assert text.count('%s {' % expected) == 2 if expected else not re.search(r'_(GET|CHECK) \{', text)


SERVICES = {
    'nat': web(forwarding='nat'),
    'tun ipip': web(forwarding='tun'),
    'tun gue with port and checksum': web(forwarding='tun', tunnel_type='gue', tunnel_port=6080,
                                          tunnel_checksum='csum'),
    'tun gre': web(forwarding='tun', tunnel_type='gre', tunnel_checksum='nocsum'),
    'persistence with granularity': web(persistence_timeout=300, persistence_netmask='255.255.255.0'),
    'sh flags': web(scheduler='sh', scheduler_flags=['sh-port', 'sh-fallback']),
    'mh flags': web(scheduler='mh', scheduler_flags=['mh-port', 'mh-fallback']),
    'udp one-packet': web(protocol='udp', port=53, one_packet=True),
    'sctp': web(protocol='sctp', port=3868),
    'fwmark': web(fwmark=7, port=None, health_check={'type': 'tcp_check', 'port': 80}),
    'quorum, hysteresis, inhibit, alpha, omega, sorry server': web(
        sorry_server={'address': '192.0.2.50', 'port': 80},
        keepalived={'quorum': 2, 'hysteresis': 1, 'inhibit_on_failure': True, 'alpha': True, 'omega': True,
                    'virtualhost': 'www.example.com'}),
    'quorum scripts': web(keepalived={'quorum': 1, 'quorum_up': 'QUP up', 'quorum_down': 'QDOWN down'}),
    'thresholds and drained': web(realservers=[
        {'host': 'rs1', 'weight': 3, 'upper_threshold': 100, 'lower_threshold': 50},
        {'host': 'rs2', 'state': 'drained'}, {'address': '192.0.2.13', 'state': 'absent'}]),
    'ipv6': [{'name': 'web6', 'vip': '2001:db8::100', 'port': 80, 'owner': 'keepalived',
              'realservers': [{'address': '2001:db8::11'}, {'address': '2001:db8::12'}],
              'health_check': {'type': 'http_get', 'path': '/'}}],
}


@pytest.mark.parametrize('services', SERVICES.values(), ids=list(SERVICES))
def test_every_service_option_passes_the_config_test(services):
    for service in services:
        for key in ('quorum_up', 'quorum_down'):
            if key in service.get('keepalived', {}):
                name, argument = service['keepalived'][key].split()
                service['keepalived'][key] = '%s %s' % (script(name.lower()), argument)
    text = render(services)
    code, output = config_test(text)
    assert code == 0, output + text


VRRP = {
    'defaults (master)': {},
    'backup host': {'hostname': 'director2'},
    'unicast to the group': {'keepalived_ha_unicast': True},
    'explicit unicast peers': {'keepalived_ha_unicast_peers': ['192.0.2.3', '192.0.2.4']},
    'PASS authentication': {'keepalived_ha_auth_pass': 's3cret!'},
    'track interface': {'keepalived_ha_track_interfaces': ['lo']},
    'track interface with weight': {'keepalived_ha_track_interfaces': [{'name': 'lo', 'weight': -20}]},
    'track script': {'keepalived_ha_track_scripts': [{'name': 'chk_httpd', 'script': 'TRACK', 'interval': 2,
                                                      'timeout': 1, 'weight': -30, 'rise': 2, 'fall': 3}]},
    'nopreempt': {'keepalived_ha_nopreempt': True},
    'preempt delay': {'keepalived_ha_preempt_delay': 30},
    'notify scripts': {'keepalived_ha_notify': {'master': 'NOTIFY', 'backup': 'NOTIFY', 'fault': 'NOTIFY',
                                                'stop': 'NOTIFY'}},
    'garp settings': {'keepalived_ha_garp': {'master_delay': 2, 'master_repeat': 3, 'master_refresh': 60,
                                             'master_refresh_repeat': 2, 'lower_prio_delay': 5,
                                             'lower_prio_repeat': 1, 'interval': 0.01}},
    'VRRPv3 at 0.1 s': {'keepalived_ha_vrrp_version': 3, 'keepalived_ha_advert_int': 0.1},
    'no sync daemon, sync on its own interface': {'keepalived_ha_sync_daemon': False},
    'sync interface': {'keepalived_ha_sync_interface': 'lo'},
    'two instances, active-active': {'keepalived_ha_instances': [
        {'name': 'VI_WEB', 'virtual_router_id': 51}, {'name': 'VI_DNS', 'virtual_router_id': 52,
                                                      'master': 'director2', 'advert_int': 2}]},
    'explicit priority and interface': {'keepalived_ha_priority': 200, 'keepalived_ha_interface': NIC},
}


@pytest.mark.parametrize('variables', VRRP.values(), ids=list(VRRP))
def test_every_vrrp_option_passes_the_config_test(variables):
    variables = dict(variables)
    services = web()
    if 'keepalived_ha_track_scripts' in variables:
        variables['keepalived_ha_track_scripts'] = [dict(item, script=script('track'))
                                                    for item in variables['keepalived_ha_track_scripts']]
    if 'keepalived_ha_notify' in variables:
        variables['keepalived_ha_notify'] = dict((event, script('notify-' + event))
                                                 for event in variables['keepalived_ha_notify'])
    if len(variables.get('keepalived_ha_instances', [])) == 2:
        services += [dict(web()[0], name='dns', vip='192.0.2.53', protocol='udp', port=53,
                          keepalived={'vrrp_instance': 'VI_DNS'})]
    text = render(services, hostname=variables.pop('hostname', 'director1'), **variables)
    code, output = config_test(text)
    assert code == 0, output + text


def test_the_roles_choices_show_in_the_rendering():
    text = render(web(), hostname='director2', keepalived_ha_unicast=True, keepalived_ha_auth_pass='s3cret')
    assert 'state BACKUP' in text and 'priority 99' in text
    assert 'unicast_src_ip 192.0.2.3' in text and re.search(r'unicast_peer \{\s+192\.0\.2\.2\s+\}', text)
    assert 'auth_type PASS' in text and 'lvs_sync_daemon %s inst VI_LVS id 51' % NIC in text
    assert '192.0.2.100/24 dev %s' % NIC in text
    assert 'real_server 192.0.2.11 80' in text and 'real_server 192.0.2.12 80' in text


def test_a_drained_real_server_gets_weight_0_and_an_absent_one_is_left_out():
    text = render(web(realservers=[{'host': 'rs1', 'weight': 5}, {'host': 'rs2', 'state': 'drained', 'weight': 5},
                                   {'address': '192.0.2.13', 'state': 'absent'}]))
    assert re.findall(r'real_server (\S+) 80 \{\s+weight (\d+)', text) == [('192.0.2.11', '5'), ('192.0.2.12', '0')]


@pytest.mark.parametrize('broken, says', [
    ('nb_get_retry 3', "Unknown keyword 'nb_get_retry'"),  # the deprecated keyword another role renders
    ('lb_kind DRR', 'unknown [DRR] routing method'),
])
def test_the_config_test_fails_on_what_keepalived_rejects(broken, says):
    text = render(web(health_check={'type': 'http_get'}))
    text = text.replace('    lvs_method DR\n', '    lvs_method DR\n    %s\n' % broken, 1)
    code, output = config_test(text)
    assert code != 0 and says in output


def test_the_config_test_fails_on_a_script_the_script_user_cannot_run():
    path = script('root-only')
    subprocess.run(['chmod', '0700', path], check=True)
    text = render(web(), keepalived_ha_notify={'master': path})
    code, output = config_test(text)
    assert code == 6 and 'not executable by the script user nobody' in output


def test_keepalived_2_2_7_kills_its_own_config_test_when_a_script_user_is_set():
    """The upstream bug the role's config test works around (acassen/keepalived#2587, fixed in 2.2.8)."""
    version = subprocess.run(['keepalived', '--version'], capture_output=True, text=True, check=False).stderr
    code, output = config_test(render(web()), command=('keepalived', '-t', '-f'))
    if 'v2.2.7 ' in version:
        assert code == -15 and output == ''
    else:
        assert code == 0, output


def test_the_config_test_fails_on_a_file_it_cannot_read():
    """keepalived 2.3.3's -t says "Config files missing" and exits 0 on a missing file: the helper refuses it."""
    missing = '/nonexistent/keepalived.conf'
    completed = subprocess.run([CONFIG_TEST, 'config-test', missing], capture_output=True, text=True, check=False)
    assert completed.returncode == 1 and completed.stderr == '%s: cannot read the file to test\n' % missing

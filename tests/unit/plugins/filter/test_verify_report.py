"""verify_report: balance against the weights, reply path, ARP, sockets, drift and the access logs."""

from __future__ import annotations

from ansible_collections.lvs.cluster.plugins.filter.verify_report import verify_report

MODEL = [{'name': 'web', 'vip': '10.89.0.100', 'port': 80, 'forwarding': 'dr',
          'realservers': [{'host': 'rs1', 'weight': 1}, {'host': 'rs2', 'weight': 2}]},
         {'name': 'nat', 'vip': '10.89.0.102', 'port': 80, 'forwarding': 'nat',
          'realservers': [{'host': 'rs3', 'weight': 1}]}]
IPVS = [{'protocol': 'tcp', 'address': '10.89.0.100', 'port': 80,
         'realservers': [{'address': '10.89.0.11', 'weight': 1}, {'address': '10.89.0.12', 'weight': 2}]},
        {'protocol': 'tcp', 'address': '10.89.0.102', 'port': 80, 'realservers': [{'address': '10.89.1.13'}]}]
MAC = '02:42:0a:59:00:0a'


def table(web_connections, web_out, nat_connections, nat_out):
    return [{'protocol': 'tcp', 'address': '10.89.0.100', 'port': 80, 'stats': {'out_bytes': web_out},
             'realservers': [{'address': '10.89.0.11', 'port': 80, 'stats': {'connections': web_connections[0]}},
                             {'address': '10.89.0.12', 'port': 80, 'stats': {'connections': web_connections[1]}}]},
            {'protocol': 'tcp', 'address': '10.89.0.102', 'port': 80, 'stats': {'out_bytes': nat_out},
             'realservers': [{'address': '10.89.1.13', 'port': 80, 'stats': {'connections': nat_connections}}]}]


def observed(**changes):
    result = {'before': [table((5, 5), 0, 0, 0)], 'after': [table((105, 205), 0, 300, 90000)],
              'client': ['answers 10.89.0.100 300 0', 'arp 10.89.0.100 %s' % MAC.upper(),
                         'answers 10.89.0.102 300 0', 'arp 10.89.0.102 %s' % MAC],
              'directors': ['holds 10.89.0.100 %s' % MAC, 'holds 10.89.0.102 %s' % MAC, 'sockets 10.89.0.100 0',
                            'sockets 10.89.0.102 0', 'connections lb1 600'],
              'seen': {'rs1': '100', 'rs2': '200', 'rs3': None}, 'drift': {'lb1': [], 'rs1': []}}
    result.update(changes)
    return result


def test_a_healthy_cluster_passes_with_its_figures():
    report = verify_report(MODEL, IPVS, observed(), tolerance=0.02)
    assert report['failures'] == []
    assert [(row['realserver'], row['connections'], row['share']) for row in report['rows']] == [
        ('rs1', 100, 0.333), ('rs2', 200, 0.667), ('rs3', 300, 1.0)]
    assert len(report['table']) == 7 and 'rs2' in report['table'][2]
    assert report['table'][4:] == ['entries in ipvsadm -Lnc: lb1 600',
                                   'TCP connections a director holds on the VIP: 10.89.0.100 0, 10.89.0.102 0',
                                   "requests from the client's own address in the access log: rs1 100, rs2 200"]


def test_each_failed_check_gets_its_own_sentence():
    bad = observed(after=[table((155, 155), 4000, 300, 0)],
                   client=['answers 10.89.0.100 290 10', 'arp 10.89.0.100 %s 02:42:0a:59:00:0b' % MAC,
                           'answers 10.89.0.102 300 0', 'arp 10.89.0.102 %s' % MAC],
                   directors=['holds 10.89.0.100 %s' % MAC, 'holds 10.89.0.102 %s' % MAC, 'sockets 10.89.0.100 3',
                              'connections lb1 0'],
                   seen={'rs1': '0', 'rs2': '5'}, drift={'rs1': ['ARP settings: would change']})
    failures = verify_report(MODEL, IPVS, bad, tolerance=0.1)['failures']
    assert failures == [
        'rs1: ARP settings: would change',
        'web (DR 10.89.0.100:80): 10 of 300 requests failed',
        'web (DR 10.89.0.100:80): a director holds 3 TCP connections on the VIP; IPVS forwards them, so it must hold '
        'none',
        'web (DR 10.89.0.100:80): 4000 reply bytes passed the director; DR replies must go straight to the client',
        'web (DR 10.89.0.100:80): rs1 got 50.0% of 300 connections; its weight gives 33.3% (tolerance 10.0%)',
        'web (DR 10.89.0.100:80): rs2 got 50.0% of 300 connections; its weight gives 66.7% (tolerance 10.0%)',
        'web (DR 10.89.0.100:80): ARP for 10.89.0.100 answered by 02:42:0a:59:00:0a, 02:42:0a:59:00:0b; expected '
        'only the director that holds it (02:42:0a:59:00:0a)',
        'nat (NAT 10.89.0.102:80): no reply byte passed the director; NAT replies must come back through it',
        'the directors list no connection (ipvsadm -Lnc) after the load',
        "rs1: its access log has no request from the client's own address",
    ]


def test_a_service_missing_from_every_table_is_reported():
    after = [[service for service in table((105, 205), 0, 300, 90000) if service['address'] != '10.89.0.102']]
    failures = verify_report(MODEL, IPVS, observed(after=after))['failures']
    assert failures == ['nat (NAT 10.89.0.102:80): no director has this service in its IPVS table']


def test_each_vrrp_instance_has_exactly_one_master():
    def failures(*lines):
        directors = observed()['directors'] + list(lines)
        return verify_report(MODEL, IPVS, observed(directors=directors))['failures']

    assert failures('vrrp VI_WEB lb1 MASTER', 'vrrp VI_WEB lb2 BACKUP') == []
    assert failures('vrrp VI_WEB lb1 MASTER', 'vrrp VI_WEB lb2 MASTER') == [
        'VRRP instance VI_WEB is MASTER on 2 directors (lb1 MASTER, lb2 MASTER); expected exactly one']
    assert failures('vrrp VI_WEB lb1 STOPPED', 'vrrp VI_WEB lb2 BACKUP') == [
        'VRRP instance VI_WEB is MASTER on 0 directors (lb1 STOPPED, lb2 BACKUP); expected exactly one']


def node_exporter(backends=(), vrrp=()):
    """A node_exporter /metrics page: the given IPVS backends (proto, VIP, port, real server, port) and VRRP states."""
    lines = ['# HELP node_ipvs_backend_connections_active The current active connections by local and remote address.',
             '# TYPE node_ipvs_backend_connections_active gauge']
    for proto, vip, port, address, rs_port in backends:
        mark, vip, port = (('%08X' % vip, '', 0) if proto == 'FWM' else ('', vip, port))
        lines.append('node_ipvs_backend_connections_active{local_address="%s",local_mark="%s",local_port="%d",proto="%s",'
                     'remote_address="%s",remote_port="%d"} 2' % (vip, mark, port, proto, address, rs_port))
    lines += ['node_load1 0.5', '# TYPE keepalived_vrrp_state gauge']
    lines += ['keepalived_vrrp_state{instance="%s"} %d' % item for item in vrrp]
    return {'status': 200, 'url': 'http://127.0.0.1:9100/metrics', 'content': '\n'.join(lines) + '\n'}


BACKENDS = (('TCP', '10.89.0.100', 80, '10.89.0.11', 80), ('TCP', '10.89.0.100', 80, '10.89.0.12', 80),
            ('TCP', '10.89.0.102', 80, '10.89.1.13', 80))
VRRP = ('vrrp VI_WEB lb1 MASTER', 'vrrp VI_WEB lb2 BACKUP')


def with_metrics(metrics, keepalived_metrics=None, vrrp=VRRP):
    return observed(directors=observed()['directors'] + list(vrrp), metrics=metrics,
                    keepalived_metrics=keepalived_metrics or {})


def test_metrics_of_every_real_server_and_one_vrrp_master_pass_and_are_in_the_table():
    metrics = {'lb1': node_exporter(BACKENDS, [('VI_WEB', 1)]), 'lb2': node_exporter(BACKENDS, [('VI_WEB', 0)])}
    report = verify_report(MODEL, IPVS, with_metrics(metrics), tolerance=0.02)
    assert report['failures'] == []
    assert [row['metrics'] for row in report['rows']] == ['2/2', '2/2', '2/2']
    assert report['table'][0].split()[-5:] == ['metrics', 'reply', 'bytes', 'via', 'director']
    assert report['table'][7:] == ['metrics scraped on lb1, lb2 (node_exporter of each director with director_metrics)',
                                   'metrics VRRP VI_WEB: lb1 MASTER, lb2 BACKUP']


def test_without_metrics_the_table_says_so_in_its_column():
    report = verify_report(MODEL, IPVS, with_metrics({'lb1': {'skipped': True}, 'lb2': {}}), tolerance=0.02)
    assert report['failures'] == []
    assert [row['metrics'] for row in report['rows']] == ['-', '-', '-'] and len(report['table']) == 7


def test_a_missing_series_a_missing_state_and_two_masters_are_reported():
    metrics = {'lb1': node_exporter(BACKENDS[:1] + BACKENDS[2:], [('VI_WEB', 1), ('VI_DB', 1)]),
               'lb2': node_exporter(BACKENDS, [('VI_DB', 1)])}
    vrrp = VRRP + ('vrrp VI_DB lb1 MASTER', 'vrrp VI_DB lb2 MASTER')
    report = verify_report(MODEL, IPVS, with_metrics(metrics, vrrp=vrrp))
    assert [row['metrics'] for row in report['rows']] == ['2/2', '1/2', '2/2']
    assert [failure for failure in report['failures'] if 'metrics' in failure or 'node_exporter' in failure
            or 'keepalived_vrrp_state' in failure] == [
        'web (DR 10.89.0.100:80): node_exporter on lb1 has no node_ipvs_backend_connections_active series for rs2 '
        '(10.89.0.12)',
        'VRRP instance VI_DB: keepalived_vrrp_state is 1 (MASTER) on 2 directors (lb1 MASTER, lb2 MASTER); expected '
        'exactly one',
        'VRRP instance VI_WEB: node_exporter on lb2 has no keepalived_vrrp_state series',
    ]


def test_a_director_whose_node_exporter_does_not_answer_is_reported():
    refused = {'status': -1, 'url': 'http://127.0.0.1:9100/metrics',
               'msg': 'Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] Connection refused>'}
    report = verify_report(MODEL, IPVS, with_metrics({'lb1': node_exporter(BACKENDS, [('VI_WEB', 1)]), 'lb2': refused}))
    assert report['failures'] == [
        'lb2: node_exporter did not answer at http://127.0.0.1:9100/metrics (Status code was -1 and not [200]: Request '
        'failed: <urlopen error [Errno 111] Connection refused>)']
    assert [row['metrics'] for row in report['rows']] == ['1/1', '1/1', '1/1']


def test_vrrp_metrics_are_checked_only_where_keepalived_exports_them():
    metrics = {'lb1': node_exporter(BACKENDS), 'lb2': node_exporter(BACKENDS, [('VI_WEB', 0)])}
    report = verify_report(MODEL, IPVS, with_metrics(metrics, keepalived_metrics={'lb1': False}))
    # lb1, the master, exports no VRRP state: lb2's BACKUP is no failure, and one master is not required
    assert report['failures'] == [] and report['table'][-1] == 'metrics VRRP VI_WEB: lb2 BACKUP'
    report = verify_report(MODEL, IPVS, with_metrics(metrics, keepalived_metrics={'lb1': 'false', 'lb2': 'true'}))
    assert report['failures'] == []


def test_firewall_mark_and_ipv6_services_match_node_exporters_labels():
    model = [{'name': 'mail', 'vip': '10.89.0.103', 'fwmark': 10, 'realservers': [{'address': '10.89.0.11'}]},
             {'name': 'v6', 'vip': '2001:DB8::100', 'port': 443, 'protocol': 'udp',
              'realservers': [{'address': '2001:db8:0:0::11'}, {'address': '2001:db8::12', 'state': 'absent'}]},
             {'name': 'sctp', 'vip': '10.89.0.104', 'port': 3868, 'protocol': 'sctp',
              'realservers': [{'address': '10.89.0.11'}]}]
    ipvs = [{'fwmark': 10, 'realservers': [{'address': '10.89.0.11'}]},
            {'protocol': 'udp', 'port': 443, 'address': '2001:DB8::100',
             'realservers': [{'address': '2001:db8:0:0::11'}, {'address': '2001:db8::12', 'state': 'absent'}]},
            {'protocol': 'sctp', 'port': 3868, 'address': '10.89.0.104', 'realservers': [{'address': '10.89.0.11'}]}]
    backends = [('FWM', 10, 0, '10.89.0.11', 0), ('UDP', '2001:db8::100', 443, '2001:db8::11', 443)]
    seen = with_metrics({'lb1': node_exporter(backends)}, vrrp=[])
    failures = verify_report(model, ipvs, seen)['failures']
    assert [failure for failure in failures if 'node_exporter' in failure] == []
    seen = with_metrics({'lb1': node_exporter([('FWM', 11, 0, '10.89.0.11', 0)])}, vrrp=[])
    assert [failure for failure in verify_report(model, ipvs, seen)['failures'] if 'node_exporter' in failure] == [
        'mail (fwmark 10): node_exporter on lb1 has no node_ipvs_backend_connections_active series for 10.89.0.11',
        'v6 (DR 2001:DB8::100:443): node_exporter on lb1 has no node_ipvs_backend_connections_active series for '
        '2001:db8:0:0::11']

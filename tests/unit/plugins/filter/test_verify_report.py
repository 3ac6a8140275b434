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
    assert len(report['table']) == 4 and 'rs2' in report['table'][2]


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

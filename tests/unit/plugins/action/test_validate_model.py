"""validate_model checks lvs_bgp and the BGP host vars on the directors, and only there."""

from __future__ import annotations

from unittest.mock import MagicMock

from ansible_collections.lvs.cluster.plugins.action.validate_model import ActionModule

WEB = {'name': 'web', 'vip': '203.0.113.10', 'port': 80, 'announce': 'bgp', 'realservers': [{'address': '192.0.2.11'}]}
GROUPS = {'directors': ['director1'], 'realservers': ['rs1']}


def run(host, **variables):
    task = MagicMock(args={}, async_val=0, check_mode=False, diff=False)
    action = ActionModule(task, MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    task_vars = dict(variables, inventory_hostname=host, groups=GROUPS, hostvars={}, lvs_virtual_services=[WEB])
    return action.run(task_vars=task_vars)


def test_a_director_without_lvs_bgp_fails_and_a_real_server_does_not_check_it():
    result = run('director1')
    assert result['failed'] and result['msg'].startswith('lvs_bgp: None is not valid; expected a dict with routers')
    assert not run('rs1').get('failed')


def test_a_director_with_good_lvs_bgp_passes_before_facts_and_a_bad_host_var_fails():
    bgp = {'asn': 65010, 'routers': [{'address': '192.0.2.1', 'asn': 65000}]}
    assert run('director1', lvs_bgp=bgp)['services'] == 1
    result = run('director1', lvs_bgp=bgp, lvs_bgp_asn=0)
    assert result['msg'] == ("hostvars['director1'].lvs_bgp_asn: 0 is not valid; expected an AS number from 1 to "
                             "4294967295")

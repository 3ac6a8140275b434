"""Planning and rendering: the changes between two tables, and the table they leave."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_ipvsadm import parse_rules
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    RealServer, ServiceKey, VirtualService, rules,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import (
    ADD_SERVICE, DELETE_REALSERVER, DELETE_SERVICE, EDIT_SERVICE, Change, apply_to_table, plan_service, plan_table,
    table_diff, took_effect, undo_changes,
)

WEB = ServiceKey(family='ipv4', protocol='tcp', address='192.0.2.10', port=80)


def web(scheduler='wrr', *members, **settings):
    service = VirtualService(key=WEB, scheduler=scheduler, **settings)
    for member in members:
        service.realservers[member.key] = member
    return service


def member(last_octet, weight=1, **options):
    return RealServer(address='198.51.100.%d' % last_octet, port=80, weight=weight, **options)


def test_new_service_is_added_with_its_realservers():
    changes = plan_service(None, web('wrr', member(11), member(12, 2)))
    assert [change.rule() for change in changes] == [
        '-A -t 192.0.2.10:80 -s wrr',
        '-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1',
        '-a -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 2',
    ]


def test_scheduler_change_edits_in_place_and_keeps_realservers():
    live = web('wrr', member(11), member(12, 2))
    wanted = web('sh', member(11), member(12, 2), scheduler_flags=('sh-port', 'sh-fallback'))
    changes = plan_service(live, wanted)
    assert [change.rule() for change in changes] == ['-E -t 192.0.2.10:80 -s sh -b sh-fallback,sh-port']
    after = apply_to_table({WEB: live}, changes)[WEB]
    assert after.scheduler == 'sh' and sorted(after.realservers) == sorted(live.realservers)


def test_same_table_plans_nothing():
    live = web('wrr', member(11, upper_threshold=10, lower_threshold=5))
    assert plan_service(live, web('wrr', member(11, upper_threshold=10, lower_threshold=5))) == []


def test_counters_do_not_count_as_differences():
    live = web('wrr', member(11, active_connections=7, inactive_connections=3))
    assert plan_service(live, web('wrr', member(11))) == []


def test_realservers_are_purged_only_when_asked():
    live = web('wrr', member(11), member(12))
    wanted = web('wrr', member(11))
    assert plan_service(live, wanted) == []
    assert [c.rule() for c in plan_service(live, wanted, purge_realservers=True)] == [
        '-d -t 192.0.2.10:80 -r 198.51.100.12:80']


def test_explicitly_absent_realserver_is_deleted_without_purge():
    live = web('wrr', member(11), member(12))
    changes = plan_service(live, web('wrr', member(11)), absent_realservers=[('198.51.100.12', 80)])
    assert [c.rule() for c in changes] == ['-d -t 192.0.2.10:80 -r 198.51.100.12:80']


def test_persistence_and_tunnel_render_as_ipvsadm_would():
    service = web('lc', member(11, forwarding='tun', tunnel_type='gue', tunnel_port=6080, tunnel_checksum='csum'),
                  persistence_timeout=300, persistence_prefix=24, one_packet=True)
    assert rules([service]) == [
        '-A -t 192.0.2.10:80 -s lc -p 300 -M 255.255.255.0 -o',
        '-a -t 192.0.2.10:80 -r 198.51.100.11:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum',
    ]


def test_ipv6_and_fwmark_services_render():
    v6 = VirtualService(key=ServiceKey('ipv6', 'udp', '2001:db8::10', 53), scheduler='rr', persistence_timeout=60,
                        persistence_prefix=64)
    mark = VirtualService(key=ServiceKey('ipv6', 'tcp', fwmark=7), scheduler='rr')
    assert rules([v6, mark]) == ['-A -f 7 -6 -s rr', '-A -u [2001:db8::10]:53 -s rr -p 60 -M 64']


@pytest.mark.parametrize('service', [
    web('wrr', member(11), member(12, 2, upper_threshold=100, lower_threshold=50)),
    web('sh', member(11, forwarding='nat'), scheduler_flags=('sh-fallback',), persistence_timeout=600,
        persistence_prefix=16),
    web('rr', member(11, forwarding='tun', tunnel_type='gre', tunnel_checksum='remcsum'), one_packet=True),
    VirtualService(key=ServiceKey('ipv6', 'sctp', '2001:db8::1', 9000), scheduler='mh',
                   scheduler_flags=('mh-port',)),
])
def test_rules_parse_back_to_the_same_table(service):
    table = {service.key: service}
    parsed = parse_rules('\n'.join(rules(table.values())))
    assert rules(parsed.values()) == rules(table.values())
    assert plan_table(parsed, list(table.values()), purge_services=True, purge_realservers=True) == []


def test_purge_deletes_undeclared_services_first():
    other = VirtualService(key=ServiceKey('ipv4', 'udp', '192.0.2.10', 53), scheduler='rr')
    changes = plan_table({other.key: other}, [web('wrr', member(11))], purge_services=True, purge_realservers=True)
    assert [c.rule() for c in changes][0] == '-D -u 192.0.2.10:53'
    assert len(changes) == 3


def test_diff_shows_only_the_named_services():
    other = VirtualService(key=ServiceKey('ipv4', 'udp', '192.0.2.10', 53), scheduler='rr')
    before = {other.key: other}
    after = apply_to_table(before, plan_service(None, web('wrr', member(11))))
    diff = table_diff(before, after, [WEB])
    assert diff['before'] == ''
    assert diff['after'] == '-A -t 192.0.2.10:80 -s wrr\n-a -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1\n'


def snapshot(table):
    """Everything a table holds, counters and stats included, as plain data."""
    return {key: (service.settings(), dict(service.stats),
                  {rs_key: (rs.settings(), rs.counters(), dict(rs.stats))
                   for rs_key, rs in service.realservers.items()})
            for key, service in table.items()}


def deep_copying_apply(table, changes):
    """apply_to_table as it was, copying the whole table first: what the copy-on-write one must match."""
    result = copy.deepcopy(table)
    for change in changes:
        key = change.service.key
        if change.action == DELETE_SERVICE:
            del result[key]
        elif change.action == ADD_SERVICE:
            result[key] = change.service.without_realservers()
        elif change.action == EDIT_SERVICE:
            result[key] = VirtualService(**dict(change.service.without_realservers().__dict__,
                                                realservers=result[key].realservers, stats=result[key].stats))
        elif change.action == DELETE_REALSERVER:
            del result[key].realservers[change.realserver.key]
        else:
            current = result[key].realservers.get(change.realserver.key)
            updated = copy.deepcopy(change.realserver)
            if current is not None:
                updated.active_connections = current.active_connections
                updated.inactive_connections = current.inactive_connections
                updated.persistent_connections = current.persistent_connections
                updated.stats = current.stats
            else:
                updated.active_connections = updated.inactive_connections = updated.persistent_connections = 0
                updated.stats = {}
            result[key].realservers[change.realserver.key] = updated
    return result


def busy_table():
    other = VirtualService(key=ServiceKey('ipv4', 'udp', '192.0.2.10', 53), scheduler='rr', stats={'connections': 4})
    other.realservers[('198.51.100.21', 53)] = RealServer('198.51.100.21', 53, active_connections=4)
    live = web('wrr', member(11, active_connections=7, stats={'connections': 9}), member(12, 2, inactive_connections=3),
               stats={'connections': 12})
    return {WEB: live, other.key: other}


@pytest.mark.parametrize('wanted, purge', [
    ([web('sh', member(11, 5), member(13), scheduler_flags=('sh-port',))], True),
    ([web('wrr', member(11), member(12, 2))], True),
    ([], True),
    ([web('wrr', member(12, 4))], False),
    ([web('wrr', member(11)), VirtualService(key=ServiceKey('ipv6', 'tcp', '2001:db8::1', 443), scheduler='rr',
                                             realservers={('2001:db8::11', 443): RealServer('2001:db8::11', 443)})],
     False),
])
def test_apply_to_table_leaves_the_live_table_as_it_was(wanted, purge):
    live = busy_table()
    before = snapshot(live)
    changes = plan_table(live, wanted, purge_services=purge, purge_realservers=purge)
    after = apply_to_table(live, changes)
    assert snapshot(live) == before
    assert snapshot(after) == snapshot(deep_copying_apply(live, changes))


def test_apply_to_table_copies_only_what_a_change_touches():
    live = busy_table()
    dns = ServiceKey('ipv4', 'udp', '192.0.2.10', 53)
    after = apply_to_table(live, plan_service(live[WEB], web('wrr', member(11, 5), member(12, 2))))
    assert after is not live and after[dns] is live[dns]
    assert after[WEB] is not live[WEB] and after[WEB].realservers is not live[WEB].realservers
    assert after[WEB].realservers[('198.51.100.12', 80)] is live[WEB].realservers[('198.51.100.12', 80)]
    assert after[WEB].realservers[('198.51.100.11', 80)].weight == 5
    assert live[WEB].realservers[('198.51.100.11', 80)].weight == 1


def test_apply_to_table_keeps_counters_of_what_stays_and_starts_new_entries_at_zero():
    live = busy_table()
    wanted = web('sh', member(11, 5, active_connections=99), member(13, stats={'connections': 1}),
                 scheduler_flags=('sh-fallback',))
    after = apply_to_table(live, plan_service(live[WEB], wanted, purge_realservers=True))[WEB]
    assert after.scheduler == 'sh' and after.stats == {'connections': 12}
    assert sorted(after.realservers) == [('198.51.100.11', 80), ('198.51.100.13', 80)]
    edited, added = after.realservers[('198.51.100.11', 80)], after.realservers[('198.51.100.13', 80)]
    assert edited.weight == 5 and edited.counters()['active_connections'] == 7 and edited.stats == {'connections': 9}
    assert added.counters() == dict(active_connections=0, inactive_connections=0, persistent_connections=0)
    assert added.stats == {}
    assert wanted.realservers[('198.51.100.13', 80)].stats == {'connections': 1}


def test_apply_to_table_readds_a_deleted_service_empty():
    live = busy_table()
    changes = [Change(DELETE_SERVICE, live[WEB]), Change(ADD_SERVICE, web('rr'))]
    after = apply_to_table(live, changes)
    assert after[WEB].scheduler == 'rr' and after[WEB].realservers == {} and after[WEB].stats == {}
    assert len(live[WEB].realservers) == 2


def rollback_cases():
    """(live table, wanted services, purge): plans with every kind of change."""
    dns = ServiceKey(family='ipv4', protocol='udp', address='192.0.2.10', port=53)
    mark = ServiceKey(family='ipv6', protocol='tcp', fwmark=7)
    live = {
        WEB: web('wrr', member(11), member(12, 2), member(13, upper_threshold=9, lower_threshold=3)),
        dns: VirtualService(key=dns, scheduler='rr', realservers={member(21).key: member(21)}),
        mark: VirtualService(key=mark, scheduler='sh', scheduler_flags=('sh-port',), persistence_timeout=60,
                             persistence_prefix=64),
    }
    wanted = [web('sh', member(11, 5), member(14, forwarding='tun', tunnel_type='gue', tunnel_port=6080),
                  scheduler_flags=('sh-fallback',)),
              VirtualService(key=ServiceKey(family='ipv4', protocol='tcp', address='192.0.2.10', port=443),
                             scheduler='rr', realservers={member(31).key: member(31)})]
    return live, wanted


@pytest.mark.parametrize('purge', [False, True])
def test_undoing_any_prefix_of_a_plan_gives_the_table_back(purge):
    live, wanted = rollback_cases()
    changes = plan_table(live, wanted, purge_services=purge, purge_realservers=purge)
    assert {change.action for change in changes} >= (
        {'edit-service', 'add-service', 'add-realserver', 'edit-realserver'}
        | ({'delete-service', 'delete-realserver'} if purge else set()))
    for made in range(len(changes) + 1):
        partial = apply_to_table(live, changes[:made])
        back = apply_to_table(partial, undo_changes(live, changes[:made]))
        assert rules(back.values()) == rules(live.values()), changes[made - 1].rule()


def test_undo_is_each_inverse_the_last_first():
    live, wanted = rollback_cases()
    changes = plan_service(live[WEB], wanted[0], purge_realservers=True)
    assert [change.rule() for change in undo_changes(live, changes)] == [
        '-a -t 192.0.2.10:80 -r 198.51.100.13:80 -g -w 1 -x 9 -y 3',
        '-a -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 2',
        '-d -t 192.0.2.10:80 -r 198.51.100.14:80',
        '-e -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 1',
        '-E -t 192.0.2.10:80 -s wrr',
    ]
    mark = ServiceKey(family='ipv6', protocol='tcp', fwmark=7)
    assert [change.rule() for change in undo_changes(live, [Change(DELETE_SERVICE, live[mark])])] == [
        '-A -f 7 -6 -s sh -b sh-port -p 60 -M 64']


def test_took_effect_tells_made_changes_from_refused_ones():
    live, wanted = rollback_cases()
    changes = plan_table(live, wanted, purge_services=True, purge_realservers=True)
    half = len(changes) // 2
    partial = apply_to_table(live, changes[:half])
    assert [took_effect(change, partial) for change in changes] == [True] * half + [False] * (len(changes) - half)


def test_a_change_names_its_step_in_words():
    live, wanted = rollback_cases()
    steps = [change.step() for change in plan_table(live, wanted, purge_services=True, purge_realservers=True)]
    assert 'removing service fwmark 7 (IPv6)' in steps
    assert 'removing real server 198.51.100.12:80 from tcp 192.0.2.10:80' in steps
    assert 'adding real server 198.51.100.31:80 to tcp 192.0.2.10:443 (-a -t 192.0.2.10:443 -r 198.51.100.31:80 ' \
           '-g -w 1)' in steps
    assert 'changing service tcp 192.0.2.10:80 (-E -t 192.0.2.10:80 -s sh -b sh-fallback)' in steps

"""run(): read once, plan, apply, and report the predicted table without reading it back."""

from __future__ import annotations

import errno

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import _ipvs_client
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    RealServer, ServiceKey, VirtualService, rules,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import (
    ADD_SERVICE, EDIT_SERVICE, Change, plan_table,
)

WEB = ServiceKey('ipv4', 'tcp', '192.0.2.10', 80)
DNS = ServiceKey('ipv4', 'udp', '192.0.2.10', 53)


class Exited(Exception):
    pass


class FakeModule:
    """What run() uses of an AnsibleModule."""

    def __init__(self, check_mode=False, diff=False):
        self.params = {'backend': 'auto'}
        self.check_mode = check_mode
        self._diff = diff
        self.result = None

    def exit_json(self, **result):
        self.result = result
        raise Exited()

    def fail_json(self, msg, **result):
        self.result = dict(result, msg=msg, failed=True)
        raise Exited()


def service(key, scheduler='wrr', *members, **settings):
    result = VirtualService(key=key, scheduler=scheduler, **settings)
    for member in members:
        result.realservers[member.key] = member
    return result


def member(last_octet, weight=1, **options):
    return RealServer(address='198.51.100.%d' % last_octet, port=80, weight=weight, **options)


def live_table():
    """A table as a backend reads it: counters and stats on everything."""
    web = service(WEB, 'wrr', member(11, active_connections=5, inactive_connections=2, persistent_connections=1,
                                     stats={'connections': 70}),
                  member(12, 2, active_connections=3, stats={'connections': 30}), stats={'connections': 100})
    dns = service(DNS, 'rr', member(21, active_connections=9, stats={'connections': 9}), stats={'connections': 9})
    return {WEB: web, DNS: dns}


def run(module, backend, wanted, purge=False):
    def plan(live):
        return plan_table(live, wanted, purge_services=purge, purge_realservers=purge), None

    def describe(table):
        return dict(services={key: table[key].to_result() for key in table})

    with pytest.raises(Exited):
        _ipvs_client.run(module, plan, describe)
    return module.result


def count_reads(backend):
    reads = []
    original = backend.read_table

    def read_table(stats=True):
        reads.append(1)
        return original(stats=stats)
    backend.read_table = read_table
    return reads


def test_the_table_is_read_once_and_not_read_back_after_apply(fake_backend):
    fake_backend.table = live_table()
    reads = count_reads(fake_backend)
    wanted = [service(WEB, 'wrr', member(11, 5), member(12, 2), member(13)),
              service(ServiceKey('ipv4', 'tcp', '192.0.2.10', 443), 'rr', member(11))]
    result = run(FakeModule(), fake_backend, wanted)
    assert len(reads) == 1
    assert result['changed'] and fake_backend.applied == result['commands'] == [
        '-e -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 5',
        '-a -t 192.0.2.10:80 -r 198.51.100.13:80 -g -w 1',
        '-A -t 192.0.2.10:443 -s rr',
        '-a -t 192.0.2.10:443 -r 198.51.100.11:80 -g -w 1',
    ]


def test_the_reported_table_keeps_the_counters_read_and_counts_new_entries_from_zero(fake_backend):
    fake_backend.table = live_table()
    wanted = [service(WEB, 'sh', member(11, 5), member(12, 2), member(13), scheduler_flags=('sh-port',))]
    services = run(FakeModule(), fake_backend, wanted)['services']
    web = {rs['address']: rs for rs in services[WEB]['realservers']}
    assert services[WEB]['scheduler'] == 'sh' and services[WEB]['stats'] == {'connections': 100}
    assert web['198.51.100.11']['weight'] == 5
    edited = web['198.51.100.11']
    counters = (edited['active_connections'], edited['inactive_connections'], edited['persistent_connections'])
    assert counters == (5, 2, 1) and edited['stats'] == {'connections': 70}
    assert web['198.51.100.12']['active_connections'] == 3
    assert web['198.51.100.13']['active_connections'] == 0 and 'stats' not in web['198.51.100.13']
    assert services[DNS]['realservers'][0]['active_connections'] == 9


def test_the_reported_table_is_what_the_backend_holds_afterwards(fake_backend):
    fake_backend.table = live_table()
    wanted = [service(WEB, 'wrr', member(11, 5)), service(ServiceKey('ipv4', 'tcp', '192.0.2.10', 443), 'rr')]
    services = run(FakeModule(), fake_backend, wanted, purge=True)['services']
    assert services == {key: value.to_result() for key, value in fake_backend.read_table().items()}


def test_check_mode_reads_once_and_applies_nothing(fake_backend):
    fake_backend.table = live_table()
    reads = count_reads(fake_backend)
    result = run(FakeModule(check_mode=True, diff=True), fake_backend, [service(WEB, 'wrr', member(11, 5))])
    assert len(reads) == 1 and fake_backend.applied == [] and result['changed']
    assert '-w 5' in result['diff']['after'] and '-w 5' not in result['diff']['before']
    assert result['services'][WEB]['realservers'][0]['weight'] == 5


def test_a_scheduler_is_looked_up_once_however_many_services_use_it(monkeypatch):
    asked = []
    monkeypatch.setattr(_ipvs_client, 'scheduler_available', lambda name: asked.append(name) or name != 'twos')
    changes = [Change(ADD_SERVICE, service(ServiceKey('ipv4', 'tcp', '192.0.2.10', port), 'wrr'))
               for port in range(1, 50)]
    changes.append(Change(EDIT_SERVICE, service(WEB, 'rr')))
    _ipvs_client.check_schedulers(changes)
    assert sorted(asked) == ['rr', 'wrr']


def test_a_missing_scheduler_still_fails_before_any_write(monkeypatch):
    monkeypatch.setattr(_ipvs_client, 'scheduler_available', lambda name: name != 'twos')
    changes = [Change(ADD_SERVICE, service(WEB, 'wrr')), Change(ADD_SERVICE, service(DNS, 'twos'))]
    with pytest.raises(_ipvs_client.ParameterError, match='ip_vs_twos is neither loaded nor installed'):
        _ipvs_client.check_schedulers(changes)


def test_a_describe_without_stats_has_the_table_read_without_them(fake_backend):
    fake_backend.table = live_table()
    asked = []

    def read_table(**options):
        asked.append(options)
        return live_table()
    fake_backend.read_table = read_table
    module = FakeModule()
    with pytest.raises(Exited):
        _ipvs_client.run(module, lambda live: ([], None), lambda table: {}, stats=False)
    with pytest.raises(Exited):
        _ipvs_client.run(module, lambda live: ([], None), lambda table: {})
    assert asked == [dict(stats=False), dict(stats=True)]


def run_draining(module, backend, wanted, drain_timeout):
    def plan(live):
        return plan_table(live, wanted, purge_services=True, purge_realservers=True), None

    with pytest.raises(Exited):
        _ipvs_client.run(module, plan, lambda table: {}, drain_timeout=drain_timeout)
    return module.result


class ConnectionsEnding:
    """Makes every read after the first see one active connection fewer on each real server."""

    def __init__(self, backend):
        self.backend, self.reads, self.read_table = backend, 0, backend.read_table
        backend.read_table = self

    def __call__(self, stats=True):
        table = self.read_table(stats=stats)
        for current in table.values():
            for realserver in current.realservers.values():
                realserver.active_connections = max(0, realserver.active_connections - self.reads)
        self.reads += 1
        return table


def test_a_real_server_that_leaves_is_drained_until_its_connections_end_then_deleted(fake_backend, monkeypatch):
    fake_backend.table = live_table()
    ConnectionsEnding(fake_backend)
    naps = []
    monkeypatch.setattr(_ipvs_client.time, 'sleep', naps.append)
    wanted = [service(WEB, 'wrr', member(11)), service(DNS, 'rr', member(21))]
    result = run_draining(FakeModule(), fake_backend, wanted, drain_timeout=60)
    assert fake_backend.applied == ['-e -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 0',
                                    '-d -t 192.0.2.10:80 -r 198.51.100.12:80']
    assert len(naps) == 2  # 3 active connections: seen 2, then 1, then 0
    assert result['drained'] == ['-t 192.0.2.10:80 -r 198.51.100.12:80'] and result['changed']


def test_the_drain_gives_up_after_its_timeout_and_deletes_anyway(fake_backend, monkeypatch):
    fake_backend.table = live_table()
    clock = iter(range(0, 1000, 30))
    monkeypatch.setattr(_ipvs_client.time, 'monotonic', lambda: next(clock))
    monkeypatch.setattr(_ipvs_client.time, 'sleep', lambda seconds: None)
    result = run_draining(FakeModule(), fake_backend, [service(DNS, 'rr', member(21))], drain_timeout=60)
    assert fake_backend.applied[:3] == ['-e -t 192.0.2.10:80 -r 198.51.100.11:80 -g -w 0',
                                        '-e -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 0',
                                        '-D -t 192.0.2.10:80']
    assert result['drain_seconds'] >= 60


def test_check_mode_plans_the_deletion_without_draining(fake_backend):
    fake_backend.table = live_table()
    wanted = [service(WEB, 'wrr', member(11), member(12, 2)), service(DNS, 'rr')]
    result = run_draining(FakeModule(check_mode=True), fake_backend, wanted, drain_timeout=60)
    assert fake_backend.applied == [] and result['commands'] == ['-d -u 192.0.2.10:53 -r 198.51.100.21:80']
    assert 'drained' not in result


def gre_service():
    return service(WEB, 'wrr', member(31, forwarding='tun', tunnel_type='gre'))


@pytest.mark.parametrize('check_mode', [True, False])
def test_a_backend_that_cannot_write_gre_fails_in_planning_in_check_mode_too(fake_backend, check_mode):
    fake_backend.name, fake_backend.unwritable_tunnel_types = 'ipvsadm', ('gre',)
    module = FakeModule(check_mode=check_mode)
    result = run(module, fake_backend, [gre_service()])
    assert result['failed'] and result['parameter'] == 'tunnel_type'
    assert "the ipvsadm backend cannot write GRE tunnels (real server 198.51.100.31:80 of service -t 192.0.2.10:80)" \
        in result['msg']
    assert fake_backend.applied == []


def test_a_backend_that_writes_gre_plans_it(fake_backend):
    result = run(FakeModule(check_mode=True), fake_backend, [gre_service()])
    assert result['changed'] and result['commands'][-1].endswith('-i -w 1 --tun-type gre --tun-nocsum')


def refuse_realserver(address, code=errno.EINVAL):
    """A refuse() for FakeBackend: the kernel refuses adding or changing the real server at address."""
    return lambda change: code if change.realserver is not None and change.realserver.address == address and \
        change.action != 'delete-realserver' else None


def test_a_refused_change_undoes_the_changes_made_and_reports_no_change(fake_backend):
    fake_backend.table = live_table()
    before = rules(live_table().values())
    fake_backend.refuse = refuse_realserver('198.51.100.31')
    wanted = [service(WEB, 'sh', member(11, 5), member(13)),
              service(ServiceKey('ipv4', 'tcp', '192.0.2.10', 443), 'rr', member(30), member(31))]
    result = run(FakeModule(), fake_backend, wanted, purge=True)
    assert result['failed'] and result['changed'] is False
    assert rules(fake_backend.table.values()) == before
    assert result['msg'] == (
        'adding real server 198.51.100.31:80 to tcp 192.0.2.10:443 (-a -t 192.0.2.10:443 -r 198.51.100.31:80 -g -w 1) '
        'failed: the kernel rejected a value; check address (the kernel takes only a unicast or local address of this '
        'host, not a broadcast or multicast one), forwarding and tunnel_port (errno 22, EINVAL); the 7 changes the '
        'task had made were undone, the last first: the table is as it was.')
    assert result['undone'][0] == '-d -t 192.0.2.10:443 -r 198.51.100.30:80'
    # The purged service comes back last, with its real server.
    assert result['undone'][-2:] == ['-A -u 192.0.2.10:53 -s rr', '-a -u 192.0.2.10:53 -r 198.51.100.21:80 -g -w 1']
    assert len(result['applied']) == 7


def test_a_refused_first_change_says_nothing_was_changed(fake_backend):
    fake_backend.table = live_table()
    fake_backend.refuse = refuse_realserver('198.51.100.11', errno.ERANGE)
    result = run(FakeModule(), fake_backend, [service(WEB, 'wrr', member(11, 5), member(12, 2))])
    assert result['failed'] and not result['changed'] and result['undone'] == []
    assert result['msg'].endswith('(errno 34, ERANGE); nothing was changed.')
    assert 'check weight, upper_threshold and lower_threshold' in result['msg']


def test_a_failed_undo_reports_the_table_changed(fake_backend):
    fake_backend.table = live_table()
    refused = refuse_realserver('198.51.100.13')
    fake_backend.refuse = refused

    def refuse_the_undo_too(change):
        # The undo re-adds 198.51.100.12, which the kernel now refuses for want of memory.
        if change.realserver is not None and change.realserver.address == '198.51.100.12' and \
                change.action == 'add-realserver':
            return errno.ENOMEM
        return refused(change)
    fake_backend.refuse = refuse_the_undo_too
    result = run(FakeModule(), fake_backend, [service(WEB, 'wrr', member(11)), service(DNS, 'rr', member(13))],
                 purge=True)
    assert result['failed'] and result['changed'] is True
    assert 'undoing the 1 change the task had made failed (adding real server 198.51.100.12:80 to tcp ' \
           '192.0.2.10:80' in result['msg']
    assert 'the kernel is out of memory (errno 12, ENOMEM)): the table is left changed' in result['msg']


def test_an_undo_that_leaves_a_difference_reports_the_table_changed(fake_backend):
    fake_backend.table = live_table()
    fake_backend.refuse = refuse_realserver('198.51.100.23')
    real_read = fake_backend.read_table
    reads = []

    def read_table(stats=True):
        # Another process adds a real server to a service the plan names before the table is read back.
        table = real_read(stats)
        if reads:
            table[DNS].realservers[('198.51.100.99', 80)] = member(99)
        reads.append(1)
        return table
    fake_backend.read_table = read_table
    result = run(FakeModule(), fake_backend, [service(DNS, 'rr', member(21), member(22), member(23))])
    assert result['failed'] and result['changed'] is True and len(reads) == 2
    assert 'the table read back differs from the table before the task' in result['msg']


def test_a_refusal_after_a_drain_puts_the_drained_weights_back(fake_backend, monkeypatch):
    fake_backend.table = live_table()
    before = rules(live_table().values())
    ConnectionsEnding(fake_backend)
    monkeypatch.setattr(_ipvs_client.time, 'sleep', lambda seconds: None)
    fake_backend.refuse = refuse_realserver('198.51.100.13')
    result = run_draining(FakeModule(), fake_backend, [service(WEB, 'wrr', member(11), member(13)),
                                                       service(DNS, 'rr', member(21))], drain_timeout=60)
    assert result['failed'] and result['changed'] is False
    assert result['applied'][0] == '-e -t 192.0.2.10:80 -r 198.51.100.12:80 -g -w 0'
    assert rules(fake_backend.table.values()) == before

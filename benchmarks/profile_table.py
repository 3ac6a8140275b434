"""Profile lvs.cluster.ipvs_table on a keepalived-#2318-sized table, phase by phase, on this host.

No kernel is needed: the module's main() runs in a fresh Python process per scenario (so that peak
RSS is the module's) against an in-memory backend:
  netlink  the real NetlinkBackend on a fake kernel socket: the message coding, parsing and
           pipelining are the module's own code (default);
  ipvsadm  the real IpvsadmBackend with a fake ipvsadm that lists and restores an in-memory table;
  memory   a table of model objects, as tests/unit/conftest.py's FakeBackend.
The fake kernel's (or fake ipvsadm's) own time is left out of the phases and shown on its own line.
Each phase is timed by wrapping the function that does it; each figure is the fastest of --runs.

Scenarios: (a) from empty, (b) the same table again (no-op), (c) 1% change: 373 weights edited,
23 services added, 23 removed (state overridden). The table is benchmarks/ipvs_scale.py's make_table (imported;
importing it has no side effect but importing docker). This is a benchmark: it prints figures and
asserts nothing.

  make collection
  PYTHONPATH=build/collections .venv/bin/python benchmarks/profile_table.py [--backend netlink|ipvsadm|memory|all]
      [--scenario all|empty|noop|change] [--runs 3] [--services 2284] [--realservers 37298] [--no-stats]
      [--cprofile 25]

To compare with another version of the collection, point PYTHONPATH at a directory holding it as
ansible_collections/lvs/cluster (for example from git archive).
"""

import argparse
import collections
import contextlib
import copy
import cProfile
import importlib
import io
import json
import os
import pickle
import pstats
import resource
import shlex
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ('empty', 'noop', 'change')
SCENARIO_TITLES = {'empty': '(a) from empty', 'noop': '(b) no-op re-apply', 'change': '(c) 1% change, overridden'}
PHASES = (
    ('import', 'import ipvs_table (ansible basic)'),
    ('validate', 'AnsibleModule: load args + validate'),
    ('model', 'wanted_table: build the model'),
    ('read', 'backend.read_table (live)'),
    ('plan', 'plan_table'),
    ('check', 'check_schedulers'),
    ('apply_to_table', 'apply_to_table (predicted table)'),
    ('apply', 'backend.apply'),
    ('readback', 'backend.read_table (after apply)'),
    ('describe', 'describe(): result services'),
    ('run_rest', 'rest of run(): rules of changes, diff'),
    ('exit', 'exit_json: remove_values + JSON'),
)


def collection_module(name):
    """Import a module of the collection late: the module process times importing ipvs_table itself."""
    return importlib.import_module('ansible_collections.lvs.cluster.plugins.' + name)


def progress(message):
    print('[profile] %s' % message, file=sys.stderr, flush=True)


def make_table(service_count, realserver_count, offset=0):
    """The table generator of benchmarks/ipvs_scale.py (imported: it has no side effects but importing docker)."""
    sys.path.insert(0, str(ROOT / 'benchmarks'))
    try:
        import ipvs_scale  # pylint: disable=import-outside-toplevel
    finally:
        sys.path.pop(0)
    return ipvs_scale.make_table(service_count, realserver_count, offset)


def changed_table(table):
    """ipvs_scale.py's 1% change: drop the first 23 services, add 23 new ones, add 10 to 373 weights."""
    result = [dict(service) for service in table[23:]] + make_table(23, 23 * 16, offset=len(table))
    for service in result[:373]:
        service['realservers'] = [dict(member) for member in service['realservers']]
        service['realservers'][0]['weight'] += 10
    return result


class FakeKernel:
    """Answers the NetlinkBackend's generic-netlink requests from an in-memory IPVS table of attribute bytes.

    services: canonical service key attributes -> [service attributes, {real server key attributes: attributes}].
    The time spent here is counted in self.seconds, so that the profile can leave it out.
    """

    def __init__(self, services=None):
        netlink = collection_module('module_utils._ipvs_netlink')
        self.nl = netlink
        self.services = services if services is not None else {}
        self.datagrams = collections.deque()
        self.seconds = 0.0
        # What the kernel adds to a dump: connection counters, stats in 32 and in 64 bits.
        stats32 = b''.join(netlink._attr(index, struct.pack('=Q' if index in (4, 5) else '=I', 0))
                           for index in range(1, 11))
        stats64 = b''.join(netlink._attr(index, struct.pack('=Q', 0)) for index in range(1, 11))
        self.service_extra = netlink._attr(10, stats32) + netlink._attr(netlink.SVC_STATS64, stats64)
        self.dest_extra = (netlink._u32(netlink.DEST_ACTIVE_CONNS, 0) + netlink._u32(netlink.DEST_INACT_CONNS, 0)
                           + netlink._u32(netlink.DEST_PERSIST_CONNS, 0) + netlink._attr(10, stats32)
                           + netlink._attr(netlink.DEST_STATS64, stats64))

    def _service_key(self, values):
        nl = self.nl
        return b''.join(nl._attr(kind, values[kind])
                        for kind in (nl.SVC_AF, nl.SVC_PROTOCOL, nl.SVC_ADDR, nl.SVC_PORT, nl.SVC_FWMARK)
                        if kind in values)

    def _dest_key(self, values):
        nl = self.nl
        return b''.join(nl._attr(kind, values[kind]) for kind in (nl.DEST_ADDR, nl.DEST_PORT) if kind in values)

    @staticmethod
    def _message(kind, flags, sequence, body):
        return struct.pack('=IHHII', 16 + len(body), kind, flags, sequence, 0) + body

    def _dump(self, sequence, bodies):
        chunk, size = [], 0
        for body in bodies:
            chunk.append(self._message(0x1c, 2, sequence, body))  # any generic type, NLM_F_MULTI
            size += len(chunk[-1])
            if size > 16384:
                self.datagrams.append(b''.join(chunk))
                chunk, size = [], 0
        chunk.append(self._message(self.nl.NLMSG_DONE, 2, sequence, struct.pack('=i', 0)))
        self.datagrams.append(b''.join(chunk))

    def send(self, data):
        started = time.perf_counter()
        nl = self.nl
        offset, acks = 0, []
        while offset < len(data):
            length, _kind, flags, sequence, _pid = struct.unpack_from('=IHHII', data, offset)
            command = data[offset + 16]
            values = nl.parse_attrs(data[offset + 20:offset + length])
            header = data[offset:offset + 16]
            offset += length
            genl = struct.pack('=BBH', command, 1, 0)
            if command == nl.IPVS_CMD['get-service']:
                self._dump(sequence, [genl + nl._attr(nl.CMD_SERVICE, attrs + self.service_extra)
                                      for attrs, _dests in self.services.values()])
                continue
            if command == nl.IPVS_CMD['get-realserver']:
                _attrs, dests = self.services[self._service_key(nl.parse_attrs(values[nl.CMD_SERVICE]))]
                self._dump(sequence, [genl + nl._attr(nl.CMD_DEST, attrs + self.dest_extra)
                                      for attrs in dests.values()])
                continue
            service = values[nl.CMD_SERVICE]
            key = self._service_key(nl.parse_attrs(service))
            if command == nl.IPVS_CMD['add-service']:
                self.services[key] = [service, {}]
            elif command == nl.IPVS_CMD['edit-service']:
                self.services[key][0] = service
            elif command == nl.IPVS_CMD['delete-service']:
                del self.services[key]
            else:
                dest = values[nl.CMD_DEST]
                dest_key = self._dest_key(nl.parse_attrs(dest))
                if command == nl.IPVS_CMD['delete-realserver']:
                    del self.services[key][1][dest_key]
                else:
                    self.services[key][1][dest_key] = dest
            if flags & nl.NLM_F_ACK:
                acks.append(self._message(nl.NLMSG_ERROR, 0, sequence, struct.pack('=i', 0) + header))
        if acks:
            self.datagrams.append(b''.join(acks))
        self.seconds += time.perf_counter() - started

    def recv(self, _size):
        return self.datagrams.popleft()

    def close(self):
        pass


def netlink_backend(kernel):
    """A NetlinkBackend whose socket is the fake kernel (no family lookup, no real socket)."""
    backend_class = collection_module('module_utils._ipvs_netlink').NetlinkBackend
    backend = backend_class.__new__(backend_class)
    backend._family = 0x20
    backend._socket = collection_module('module_utils._netlink').NetlinkSocket(kernel)
    return backend


class MemoryBackend:
    """tests/unit/conftest.py's FakeBackend: the table as model objects, read as a deep copy."""

    name = 'memory'

    def __init__(self, table):
        self.table = table
        self.seconds = 0.0

    def read_table(self, stats=True):
        table = copy.deepcopy(self.table)
        for service in table.values() if not stats else ():
            service.stats = {}
            for realserver in service.realservers.values():
                realserver.stats = {}
        return table

    def apply(self, changes):
        self.table = collection_module('module_utils._ipvs_plan').apply_to_table(self.table, changes)

    def close(self):
        pass


class FakeIpvsadm:
    """Answers the IpvsadmBackend's ipvsadm commands (-S, -L listings, -R) from a table of model objects.

    Stands for the module's AnsibleModule in IpvsadmBackend(module): get_bin_path and run_command.
    The time spent here (ipvsadm's own work in the lab) is counted in self.seconds.
    """

    LISTINGS = {
        '--thresholds': lambda rs: (rs.upper_threshold, rs.lower_threshold, rs.active_connections,
                                    rs.inactive_connections),
        '--persistent-conn': lambda rs: (rs.weight, rs.persistent_connections, rs.active_connections,
                                         rs.inactive_connections),
        '--stats': lambda rs: (0, 0, 0, 0, 0),
        '--rate': lambda rs: (0, 0, 0, 0, 0),
    }

    def __init__(self, table):
        self.table = table
        self.seconds = 0.0
        self.ipvsadm = collection_module('module_utils._ipvs_ipvsadm')
        self.rules = collection_module('module_utils._ipvs_model').rules

    @staticmethod
    def get_bin_path(_name, required=False):
        return '/usr/sbin/ipvsadm'

    def _listing(self, columns):
        lines = ['IP Virtual Server version 1.2.1 (size=4096)', 'Prot LocalAddress:Port Scheduler Flags',
                 '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn']
        for key in sorted(self.table):
            service = self.table[key]
            name = ('FWM  %d%s' % (key.fwmark, ' IPv6' if key.family == 'ipv6' else '') if key.fwmark
                    else '%s  %s' % (key.protocol.upper(), key.switches().split()[1]))
            lines.append('%s %s' % (name, service.scheduler) if columns is not FakeIpvsadm.LISTINGS['--stats']
                         and columns is not FakeIpvsadm.LISTINGS['--rate'] else '%s %s' % (name, '0 0 0 0 0'))
            for rs_key in sorted(service.realservers):
                realserver = service.realservers[rs_key]
                lines.append('  -> %-28s %s' % (realserver.target()[3:], ' '.join(map(str, columns(realserver)))))
        return '\n'.join(lines) + '\n'

    def _restore(self, data):
        """Apply ipvsadm -R lines to the table (with the backend's public parsers only, as every version has)."""
        ipvsadm = self.ipvsadm
        for line in (data.decode() if isinstance(data, bytes) else data).splitlines():
            words = shlex.split(line)
            key = ipvsadm._service_key(words)
            if words[0] in ('-A', '-E'):
                service = ipvsadm.parse_rules('-A' + line[2:])[key]
                if words[0] == '-E':
                    service.realservers, service.stats = self.table[key].realservers, self.table[key].stats
                self.table[key] = service
            elif words[0] == '-D':
                del self.table[key]
            elif words[0] == '-d':
                del self.table[key].realservers[ipvsadm.parse_endpoint(words[words.index('-r') + 1])[1:]]
            else:
                parsed = ipvsadm.parse_rules('-A %s\n-a%s\n' % (key.switches(), line[2:]))[key].realservers
                self.table[key].realservers.update(parsed)

    def run_command(self, command, data=None, **_options):
        started = time.perf_counter()
        try:
            args = command[1:]
            if args == ['-S', '-n']:
                return 0, '\n'.join(self.rules(self.table.values())) + '\n', ''
            if args[:3] == ['-L', '-n', '--exact']:
                return 0, self._listing(self.LISTINGS[args[3]]), ''
            if args == ['-R']:
                self._restore(data)
                return 0, '', ''
            if args == ['-L', '-n', '--timeout']:
                return 0, 'Timeout (tcp tcpfin udp): 900 120 300\n', ''
            return 1, '', 'fake ipvsadm: %s not emulated' % ' '.join(args)
        finally:
            self.seconds += time.perf_counter() - started


class Done(Exception):
    """main() called exit_json or fail_json."""


def child(options):
    """Run ipvs_table.main() once in this process and print the phase timings as JSON."""
    args = json.loads(Path(options.args_file).read_text())
    state = pickle.loads(Path(options.state_in).read_bytes()) if options.state_in else {}
    times = collections.defaultdict(float)
    started = time.perf_counter()
    ipvs_table = collection_module('modules.ipvs_table')
    times['import'] = time.perf_counter() - started
    patch_module_args = importlib.import_module('ansible.module_utils.testing').patch_module_args
    _ipvs_client = collection_module('module_utils._ipvs_client')

    kernel = FakeKernel(state)
    if options.backend == 'netlink':
        backend = netlink_backend(kernel)
    elif options.backend == 'ipvsadm':
        kernel = FakeIpvsadm(netlink_backend(kernel).read_table())
        backend = collection_module('module_utils._ipvs_ipvsadm').IpvsadmBackend(kernel)
    else:
        backend = MemoryBackend(netlink_backend(kernel).read_table())
        kernel = backend
    outcome = {}

    peaks = {}

    def timed(name, function):
        def wrapper(*positional, **named):
            start, kernel_before = time.perf_counter(), kernel.seconds
            try:
                return function(*positional, **named)
            finally:
                times[name] += time.perf_counter() - start - (kernel.seconds - kernel_before)
                peaks[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return wrapper

    reads = []
    original_read = backend.read_table

    def read_table(**named):
        reads.append(1)
        return timed('read' if len(reads) == 1 else 'readback', original_read)(**named)

    backend.read_table = read_table
    backend.apply = timed('apply', backend.apply)

    class TimedModule(ipvs_table.AnsibleModule):
        def __init__(self, *positional, **named):
            timed('validate', super().__init__)(*positional, **named)

        def exit_json(self, **result):
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()) as output:
                self._return_formatted(result)
            times['exit'] += time.perf_counter() - start
            peaks['exit'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            text = output.getvalue()
            outcome['json_bytes'] = len(text.encode())
            returned = json.loads(text)
            outcome['changed'] = returned['changed']
            outcome['changes'] = dict(collections.Counter(line.split()[0] for line in returned['commands']))
            outcome['services'] = len(returned.get('services', ()))
            raise Done()

        def fail_json(self, msg, **result):
            outcome['failed'] = msg
            raise Done()

    original_run = ipvs_table.run

    def run(module, plan, describe, **named):
        start, kernel_before = time.perf_counter(), kernel.seconds
        try:
            if options.no_stats:
                named['stats'] = False
            return original_run(module, plan, timed('describe', describe), **named)
        finally:
            total = time.perf_counter() - start - (kernel.seconds - kernel_before)
            times['run_rest'] = total - sum(times[name] for name in (
                'read', 'plan', 'check', 'apply_to_table', 'apply', 'readback', 'describe', 'exit'))

    ipvs_table.AnsibleModule = TimedModule
    ipvs_table.run = run
    ipvs_table.wanted_table = timed('model', ipvs_table.wanted_table)
    ipvs_table.plan_table = timed('plan', ipvs_table.plan_table)
    _ipvs_client.open_backend = lambda module: backend
    # As in the lab, where the scheduler modules are loaded: one stat a lookup, then yes.
    _ipvs_client.scheduler_available = lambda name: os.path.isdir('/sys/module/ip_vs_' + name) or True
    _ipvs_client.check_schedulers = timed('check', _ipvs_client.check_schedulers)
    _ipvs_client.apply_to_table = timed('apply_to_table', _ipvs_client.apply_to_table)

    profiler = cProfile.Profile() if options.cprofile else None
    with patch_module_args(args):
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        try:
            ipvs_table.main()
        except Done:
            pass
        if profiler:
            profiler.disable()
        total = time.perf_counter() - started
    outcome.update(times=dict(times), peaks=peaks, total=total + times['import'], fake_kernel=kernel.seconds,
                   rss_before_kib=rss_before, peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    if options.state_out and options.backend == 'netlink':
        Path(options.state_out).write_bytes(pickle.dumps(kernel.services))
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats('cumulative').print_stats(options.cprofile)
        outcome['cprofile'] = text.getvalue()
    print(json.dumps(outcome))


def run_child(scenario, backend, args_file, work, options):
    state_in = '' if scenario == 'empty' else str(work / 'full.state')
    command = [sys.executable, __file__, '--child', '--backend', backend, '--args-file', str(args_file),
               '--state-in', state_in, '--cprofile', str(options.cprofile)]
    command += ['--no-stats'] if options.no_stats else []
    if scenario == 'empty' and backend == 'netlink':
        command += ['--state-out', str(work / 'full.state')]
    output = subprocess.run(command, capture_output=True, text=True, check=False)
    if output.returncode:
        raise SystemExit('%s/%s failed:\n%s' % (scenario, backend, output.stderr[-3000:]))
    return json.loads(output.stdout.splitlines()[-1])


def best(runs):
    """One result of several runs of a scenario: each time the fastest, the peak memory the largest."""
    result = dict(runs[0])
    result['times'] = {name: min(run['times'].get(name, 0.0) for run in runs) for name, _title in PHASES}
    result['peaks'] = {name: max(run['peaks'].get(name, 0) for run in runs) for name, _title in PHASES
                       if any(name in run['peaks'] for run in runs)}
    for name in ('total', 'fake_kernel'):
        result[name] = min(run[name] for run in runs)
    for name in ('rss_before_kib', 'peak_rss_kib'):
        result[name] = max(run[name] for run in runs)
    result['runs'] = len(runs)
    return result


def report(backend, results):
    runs = max(result['runs'] for result in results.values())
    print('\nipvs_table, backend %s: seconds on this host, fastest of %d run(s), fake kernel time left out'
          % (backend, runs))
    print('%-40s' % 'phase' + ''.join('%22s' % SCENARIO_TITLES[scenario] for scenario in results))
    for name, title in PHASES:
        print('%-40s' % title + ''.join('%22.3f' % result['times'].get(name, 0.0) for result in results.values()))
    rows = (
        ('total (import + main())', lambda r: '%.3f' % r['total']),
        ('fake kernel (left out above)', lambda r: '%.3f' % r['fake_kernel']),
        ('RSS before main() MiB (with the fake)', lambda r: '%.0f' % (r['rss_before_kib'] / 1024)),
        ('peak RSS MiB', lambda r: '%.0f' % (r['peak_rss_kib'] / 1024)),
        ('result JSON kB', lambda r: '%.0f' % (r.get('json_bytes', 0) / 1000)),
        ('changed', lambda r: str(r.get('changed', r.get('failed')))),
        ('changes', lambda r: ' '.join('%s:%d' % item for item in sorted(r.get('changes', {}).items())) or '-'),
    )
    for title, show in rows:
        print('%-40s' % title + ''.join('%22s' % show(result) for result in results.values()))
    print('\npeak RSS MiB at the end of each phase (the phases that ran)')
    for name, title in PHASES:
        if any(name in result['peaks'] for result in results.values()):
            print('%-40s' % title + ''.join('%22s' % ('%.0f' % (result['peaks'][name] / 1024)
                                                      if name in result['peaks'] else '-')
                                            for result in results.values()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--services', type=int, default=2284)
    parser.add_argument('--realservers', type=int, default=37298)
    parser.add_argument('--backend', choices=['netlink', 'ipvsadm', 'memory', 'all'], default='netlink')
    parser.add_argument('--scenario', choices=SCENARIOS + ('all',), default='all')
    parser.add_argument('--runs', type=int, default=3, help='runs of each scenario; each phase shows its fastest')
    parser.add_argument('--cprofile', type=int, default=0, help='print the top N functions of each run (cumulative)')
    parser.add_argument('--no-stats', action='store_true',
                        help='have run() read the table without stats, as ipvs_table could if it did not report them')
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--args-file', help=argparse.SUPPRESS)
    parser.add_argument('--state-in', default='', help=argparse.SUPPRESS)
    parser.add_argument('--state-out', default='', help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options)
        return
    work = Path(tempfile.mkdtemp(prefix='ipvs-profile-'))
    table = make_table(options.services, options.realservers)
    arguments = {
        'empty': dict(backend='netlink', config=table),
        'noop': dict(backend='netlink', config=table),
        'change': dict(backend='netlink', config=changed_table(table), state='overridden'),
    }
    files = {}
    for scenario, args in arguments.items():
        files[scenario] = work / ('%s.json' % scenario)
        files[scenario].write_text(json.dumps(args))
    progress('table: %d services, %d real servers; work files in %s' % (
        len(table), sum(len(service['realservers']) for service in table), work))
    scenarios = SCENARIOS if options.scenario == 'all' else (options.scenario,)
    backends = ('netlink', 'ipvsadm', 'memory') if options.backend == 'all' else (options.backend,)
    for backend in backends:
        results = {}
        for scenario in scenarios:
            # The no-op and change scenarios start from the table a netlink from-empty run leaves.
            if scenario != 'empty' and not (work / 'full.state').exists():
                run_child('empty', 'netlink', files['empty'], work, options)
            progress('%s, backend %s' % (SCENARIO_TITLES[scenario], backend))
            runs = [run_child(scenario, backend, files[scenario], work, options)
                    for _run in range(1 if options.cprofile else options.runs)]
            results[scenario] = best(runs)
            if options.cprofile:
                print('\n== cProfile %s, %s ==\n%s' % (scenario, backend, results[scenario]['cprofile']))
        report(backend, results)
    for path in work.iterdir():
        path.unlink()
    work.rmdir()


if __name__ == '__main__':
    main()

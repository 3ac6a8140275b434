"""Program a keepalived-#2318-sized IPVS table in the lab and print how long each way takes.

Runs against the lab's Docker (lab/lab.py up; DOCKER_HOST from the environment or `lab.py env`):
one privileged node container holds the table in its own network namespace. Each figure is the
median of --runs runs against the same kernel in the same run. No packet is sent anywhere: the
addresses only name table entries.

  .venv/bin/python benchmarks/ipvs_scale.py [--services 2284] [--realservers 37298] [--runs 3]
      [--release trixie|bookworm]   (the node image, so its Python: 3.13 or 3.11)
"""

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parents[1]
CONTAINER = 'lvs-bench'
STARTED = time.monotonic()
# Runs the module under the real interpreter and records its wall time and peak memory.
MEASURE = b'''import resource, subprocess, sys, time
start = time.monotonic()
code = subprocess.call([sys.executable] + sys.argv[1:])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open('/tmp/module-measure', 'a') as record:
    record.write('%f %d\\n' % (time.monotonic() - start, peak))
sys.exit(code)
'''
WRAPPER = b'#!/bin/sh\nexec /usr/bin/python3 /usr/local/bin/measure.py "$@"\n'


def progress(message):
    print('[bench %7.1fs] %s' % (time.monotonic() - STARTED, message), file=sys.stderr, flush=True)


def make_table(service_count, realserver_count, offset=0):
    """Return ipvs_table services: service_count services sharing realserver_count real servers evenly."""
    services = []
    for index in range(service_count):
        number = index + offset
        share = realserver_count // service_count + (1 if index < realserver_count % service_count else 0)
        services.append({
            'address': '10.%d.%d.%d' % (100 + number // 65536, number // 256 % 256, number % 256), 'port': 80,
            'scheduler': 'wrr',
            'realservers': [{'address': '10.%d.%d.%d' % (200 + (number * 17 + member) // 65536,
                                                         (number * 17 + member) // 256 % 256,
                                                         (number * 17 + member) % 256), 'weight': 1 + member % 3}
                            for member in range(share)],
        })
    return services


def rules_text(services):
    lines = []
    for service in services:
        key = '-t %s:%d' % (service['address'], service['port'])
        lines.append('-A %s -s %s' % (key, service['scheduler']))
        lines.extend('-a %s -r %s:80 -g -w %d' % (key, member['address'], member['weight'])
                     for member in service['realservers'])
    return '\n'.join(lines) + '\n'


class Lab:
    """The benchmark container and the ways to program its table."""

    def __init__(self, host, image):
        self.host = host
        self.image = image
        self.client = docker.DockerClient(base_url=host, timeout=900)
        self.container = None
        self.files = {'/usr/local/bin/measure.py': (MEASURE, 0o644),
                      '/usr/local/bin/python3-measured': (WRAPPER, 0o755)}
        self.flush()
        self.work = Path(tempfile.mkdtemp(prefix='ipvs-bench-'))
        inventory = self.work / 'inventory.ini'
        inventory.write_text('bench ansible_connection=community.docker.docker_api ansible_host=%s '
                             'ansible_docker_docker_host=%s ansible_python_interpreter=/usr/local/bin/python3-measured\n'
                             % (CONTAINER, host))
        self.inventory = inventory

    def put(self, path, data, mode=0o644):
        """Copy data to path in the container, again in every new container."""
        self.files[path] = (data, mode)
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode='w') as tar:
            info = tarfile.TarInfo(os.path.basename(path))
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
        self.container.put_archive(os.path.dirname(path), archive.getvalue())

    def shell(self, command):
        result = self.container.exec_run(['sh', '-c', command])
        if result.exit_code:
            raise SystemExit('%s failed: %s' % (command, result.output.decode()[-500:]))
        return result.output.decode()

    def timed_shell(self, command):
        """Seconds the command takes inside the container (docker exec overhead excluded)."""
        out = self.shell('start=$(date +%%s.%%N); %s; end=$(date +%%s.%%N); echo "$start $end"' % command)
        start, end = map(float, out.split()[-2:])
        return end - start

    def flush(self):
        """Start from an empty table in a new container, that is a new network namespace.

        Not `ipvsadm -C`: the kernel keeps deleted real servers in a trash list for about two minutes, and
        each one added again searches it linearly; here ipvsadm -R after -C took 72-85 s instead of 22 s.
        """
        try:
            self.client.containers.get(CONTAINER).remove(force=True)
        except docker.errors.NotFound:
            pass
        self.container = self.client.containers.run(
            self.image, 'sleep infinity', name=CONTAINER, detach=True, privileged=True)
        for path, (data, mode) in list(self.files.items()):
            self.put(path, data, mode)

    def count(self):
        services, realservers = self.shell(
            "ipvsadm -Sn | awk '/^-A/{s++} /^-a/{r++} END{print s+0, r+0}'").split()
        return int(services), int(realservers)

    def module(self, services, backend, state='merged'):
        """Run lvs.cluster.ipvs_table once; return (task seconds, module seconds, peak MiB, result)."""
        variables = self.work / 'table.json'
        variables.write_text(json.dumps({'bench_services': services}))
        playbook = self.work / 'apply.yml'
        playbook.write_text(
            '- hosts: bench\n  gather_facts: false\n  tasks:\n'
            '    - lvs.cluster.ipvs_table:\n        backend: %s\n        state: %s\n'
            '        config: "{{ bench_services }}"\n      register: bench_result\n'
            '    - ansible.builtin.copy:\n        content: "{{ bench_result | to_json }}"\n'
            '        dest: %s\n      delegate_to: localhost\n' % (backend, state, self.work / 'result.json'))
        self.shell('rm -f /tmp/module-measure')
        environment = dict(os.environ, ANSIBLE_PIPELINING='true', ANSIBLE_CALLBACKS_ENABLED='ansible.posix.profile_tasks')
        output = subprocess.run([str(Path(sys.executable).parent / 'ansible-playbook'), '-i', str(self.inventory),
                                 '-e', '@%s' % variables, str(playbook)], env=environment, capture_output=True,
                                text=True, check=False)
        if output.returncode:
            raise SystemExit('ansible-playbook failed:\n%s' % output.stdout[-3000:])
        task = float(next(line for line in output.stdout.splitlines() if 'ipvs_table' in line and
                          line.rstrip().endswith('s')).rsplit('-', 1)[-1].strip().rstrip('s'))
        seconds, peak = self.shell('head -1 /tmp/module-measure').split()
        return task, float(seconds), int(peak) / 1024, json.loads((self.work / 'result.json').read_text())

    def close(self):
        self.container.remove(force=True)


def median(values):
    return statistics.median(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--services', type=int, default=2284)
    parser.add_argument('--realservers', type=int, default=37298)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--skip-per-rule', action='store_true', help='skip the slow one-process-per-rule row')
    parser.add_argument('--release', choices=['trixie', 'bookworm'], default='trixie',
                        help="the node image the table's container runs (default trixie)")
    args = parser.parse_args()
    host = os.environ.get('DOCKER_HOST') or subprocess.run(
        [sys.executable, str(ROOT / 'lab' / 'lab.py'), 'env'], capture_output=True, text=True,
        check=True).stdout.split('DOCKER_HOST=')[1].strip()
    os.environ.setdefault('ANSIBLE_COLLECTIONS_PATH', str(ROOT / 'build' / 'collections'))
    lab = Lab(host, 'lvs-node:%s' % args.release)
    table = make_table(args.services, args.realservers)
    rules = rules_text(table)
    lab.put('/tmp/table.rules', rules.encode())
    lab.put('/tmp/sample.rules', rules_text(table[::10]).encode())
    rows = []
    try:
        progress('table: %d services, %d real servers (%d rules)'
                 % (args.services, args.realservers, len(rules.splitlines())))
        restore = []
        for run in range(args.runs):
            lab.flush()
            restore.append(lab.timed_shell('ipvsadm -R < /tmp/table.rules'))
            progress('ipvsadm -R run %d: %.2f s' % (run + 1, restore[-1]))
        assert lab.count() == (args.services, args.realservers), lab.count()
        baseline = median(restore)
        rows.append(('1. from empty: ipvsadm -R < file', baseline, None, None))
        if not args.skip_per_rule:
            lab.flush()
            per_rule = lab.timed_shell('while read -r line; do ipvsadm $line; done < /tmp/sample.rules')
            sampled = len(rules_text(table[::10]).splitlines())
            rows.append(('1. from empty: one ipvsadm per rule (%d-rule sample, scaled)' % sampled,
                         per_rule * len(rules.splitlines()) / sampled, None, None))
        for backend in ('netlink', 'ipvsadm'):
            tasks, modules, peaks = [], [], []
            for run in range(args.runs):
                lab.flush()
                task, seconds, peak, result = lab.module(table, backend)
                assert result['changed'] and lab.count() == (args.services, args.realservers)
                tasks.append(task)
                modules.append(seconds)
                peaks.append(peak)
                progress('module %s run %d: task %.2f s, module %.2f s, peak %.0f MiB'
                         % (backend, run + 1, task, seconds, peak))
            rows.append(('1. from empty: ipvs_table, %s (module process)' % backend, median(modules), max(peaks),
                         median(tasks)))
        noop = []
        for run in range(args.runs):
            task, seconds, peak, result = lab.module(table, 'netlink')
            assert not result['changed'], 'a re-apply changed something: %s' % result['commands'][:5]
            noop.append((task, seconds, peak))
            progress('no-op run %d: task %.2f s, module %.2f s' % (run + 1, task, seconds))
        rows.append(('2. same table again, changed=false (netlink)', median(n[1] for n in noop), max(n[2] for n in noop),
                     median(n[0] for n in noop)))
        changed_table = [dict(service) for service in table[23:]] + make_table(23, 23 * 16, offset=args.services)
        edited = 0
        for service in changed_table:
            if edited >= 373:
                break
            service['realservers'] = [dict(member) for member in service['realservers']]
            service['realservers'][0]['weight'] += 10
            edited += 1
        runs = []
        for run in range(args.runs):
            lab.flush()
            lab.shell('ipvsadm -R < /tmp/table.rules')
            task, seconds, peak, result = lab.module(changed_table, 'netlink', state='overridden')
            counts = {action: sum(1 for line in result['commands'] if line.startswith(action))
                      for action in ('-e', '-A', '-a', '-D')}
            assert counts == {'-e': 373, '-A': 23, '-a': 23 * 16, '-D': 23}, counts
            runs.append((task, seconds, peak))
            progress('1%% change run %d: task %.2f s, module %.2f s, changes %s' % (run + 1, task, seconds, counts))
        rows.append(('3. 1% change: 373 weights, +23/-23 services (netlink)', median(r[1] for r in runs),
                     max(r[2] for r in runs), median(r[0] for r in runs)))
    finally:
        lab.close()
    print('\nIPVS table of %d services / %d real servers, lab VM (%s), lvs-node:%s, median of %d runs\n'
          % (args.services, args.realservers, host, args.release, args.runs))
    print('%-58s %10s %9s %11s %10s' % ('what', 'seconds', 'x ipvsadm -R', 'peak MiB', 'task s'))
    for name, seconds, peak, task in rows:
        print('%-58s %10.2f %9.2f %11s %10s'
              % (name, seconds, seconds / baseline, '%.0f' % peak if peak else '-', '%.2f' % task if task else '-'))
    figures = dict((name, (seconds, peak)) for name, seconds, peak, _task in rows)
    first, first_peak = figures['1. from empty: ipvs_table, netlink (module process)']
    again = figures['2. same table again, changed=false (netlink)'][0]
    print()
    for target, value, bound, unit in (
            ('(1) netlink module within 1.5x of ipvsadm -R', first / baseline, 1.5, 'x'),
            ('(2) no-op under half of (1)', again / first, 0.5, ' of (1)'),
            ('(1) peak memory of the module under 200 MB', first_peak * 1.048576, 200, ' MB')):
        outcome = 'met' if value <= bound else 'missed by %.2fx' % (value / bound)
        print('Target %s: %.2f%s, %s' % (target, value, unit, outcome))


if __name__ == '__main__':
    main()

"""Print the cluster figures of issue 6 (rows 4 and 5), measured in the lab.

Row 4: site.yml on the lab inventory (inventories/lab, the DR cluster), first run and no-op second run,
against `ansible -m ping` of the same hosts. Row 5: the data plane in DR, NAT and TUN: requests per second
through the VIP (ab from the client container), and the director's transmitted bytes per response, for the
small page and for a 1 MiB reply. Each mode's cluster is built by its molecule scenario (create, prepare,
converge) in the lab's Docker and destroyed afterwards. Traffic goes only between the lab's containers.

  .venv/bin/python benchmarks/cluster_figures.py [--modes dr nat tun] [--runs 3] [--requests 2000] [--skip-site]

Needs the lab up (make lab-up) and the venv (make venv collection).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parents[1]
STARTED = time.monotonic()
VIP = '10.89.0.100'
CLIENT_ADDRESS = '10.89.0.5'
LARGE_BYTES = 1024 * 1024


def progress(message):
    print('[cluster %7.1fs] %s' % (time.monotonic() - STARTED, message), file=sys.stderr, flush=True)


def environment():
    """Return the environment of ansible and molecule: the lab's Docker, the venv, the collection."""
    host = os.environ.get('DOCKER_HOST') or subprocess.run(
        [sys.executable, str(ROOT / 'lab' / 'lab.py'), 'env'], capture_output=True, text=True,
        check=True).stdout.split('=', 1)[1].strip()
    venv_bin = str(Path(sys.executable).parent)
    return dict(os.environ, DOCKER_HOST=host, PATH=venv_bin + os.pathsep + os.environ['PATH'],
                ANSIBLE_COLLECTIONS_PATH=str(ROOT / 'build' / 'collections'), ANSIBLE_PIPELINING='true',
                ANSIBLE_HOST_KEY_CHECKING='false')


def timed(command, env):
    """Run command; return its wall time in seconds and its output."""
    start = time.monotonic()
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if completed.returncode:
        sys.exit('%s failed:\n%s%s' % (' '.join(command), completed.stdout[-3000:], completed.stderr[-3000:]))
    return time.monotonic() - start, completed.stdout


def molecule(scenario, action, env):
    progress('molecule %s -s %s' % (action, scenario))
    return timed(['molecule', action, '-s', scenario], env)[0]


def run_in(container, command):
    """Run a shell command in a lab container; return its output (failing loudly)."""
    code, output = container.exec_run(['sh', '-c', command])
    if code:
        sys.exit('%s in %s failed (%d): %s' % (command, container.name, code, output.decode()))
    return output.decode()


def director_tx(director):
    """Return the bytes the director has sent on its interface towards the client."""
    return int(run_in(director, 'cat /sys/class/net/$(ip -o route get %s | grep -o "dev [^ ]*" | cut -c5-)'
                                '/statistics/tx_bytes' % CLIENT_ADDRESS))


def ab(client, url, requests, concurrency):
    """Return (requests per second, failed requests) of one ab run from the client."""
    output = run_in(client, 'ab -q -n %d -c %d %s' % (requests, concurrency, url))
    rate = float(re.search(r'Requests per second:\s+([\d.]+)', output).group(1))
    failed = int(re.search(r'Failed requests:\s+(\d+)', output).group(1))
    non_2xx = re.search(r'Non-2xx responses:\s+(\d+)', output)
    return rate, failed + (int(non_2xx.group(1)) if non_2xx else 0)


def data_plane(docker_client, args):
    """Measure one mode's cluster: rps (median of runs) and director bytes per response, small and 1 MiB."""
    client = docker_client.containers.get('lvs-client')
    director = docker_client.containers.get('lvs-director')
    for name in ('lvs-rs1', 'lvs-rs2'):
        run_in(docker_client.containers.get(name), 'head -c %d /dev/zero > /var/www/html/large' % LARGE_BYTES)
    rates, failures = [], 0
    for run in range(args.runs):
        before = director_tx(director)
        rate, failed = ab(client, 'http://%s/' % VIP, args.requests, args.concurrency)
        small_per_response = (director_tx(director) - before) / args.requests
        rates.append(rate)
        failures += failed
        progress('  run %d: %.0f requests/s, director %.0f bytes/response, %d failed'
                 % (run + 1, rate, small_per_response, failed))
    large_requests = 50
    before = director_tx(director)
    _rate, failed = ab(client, 'http://%s/large' % VIP, large_requests, 2)
    failures += failed
    large_per_response = (director_tx(director) - before) / large_requests
    return {'rps': statistics.median(rates), 'failed': failures, 'small': small_per_response,
            'large': large_per_response}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--modes', nargs='+', default=['dr', 'nat', 'tun'], choices=['dr', 'nat', 'tun'])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--requests', type=int, default=2000)
    parser.add_argument('--concurrency', type=int, default=8)
    parser.add_argument('--skip-site', action='store_true', help='skip row 4 (site.yml against ping)')
    args = parser.parse_args()
    env = environment()
    docker_client = docker.DockerClient(base_url=env['DOCKER_HOST'], timeout=300)
    site = ['ansible-playbook', '-i', 'inventories/lab', 'playbooks/site.yml']
    ping = ['ansible', '-i', 'inventories/lab', 'all', '-m', 'ansible.builtin.ping']
    row4, row5 = {}, {}
    for mode in args.modes:
        molecule(mode, 'destroy', env)
        molecule(mode, 'create', env)
        molecule(mode, 'prepare', env)
        if mode == 'dr' and not args.skip_site:
            progress('site.yml on inventories/lab, first run')
            row4['first'] = timed(site, env)[0]
            noops, pings = [], []
            for run in range(args.runs):
                seconds, output = timed(site, env)
                changed = sum(int(count) for count in re.findall(r'changed=(\d+)', output))
                noops.append(seconds)
                progress('site.yml again (run %d): %.1f s, changed=%d' % (run + 1, seconds, changed))
                row4.setdefault('changed', []).append(changed)
                pings.append(timed(ping, env)[0])
                progress('ansible -m ping (run %d): %.1f s' % (run + 1, pings[-1]))
            row4['noop'], row4['ping'] = statistics.median(noops), statistics.median(pings)
        else:
            molecule(mode, 'converge', env)
        progress('%s data plane: ab -n %d -c %d, %d runs' % (mode, args.requests, args.concurrency, args.runs))
        row5[mode] = data_plane(docker_client, args)
        molecule(mode, 'destroy', env)
    print()
    print('Cluster figures (lab: QEMU TCG VM, Debian 12 kernel, Docker 20.10; median of %d runs)' % args.runs)
    if row4:
        print()
        print('| site.yml on inventories/lab (DR, 4 hosts) | seconds | x ansible -m ping |')
        print('| --- | --- | --- |')
        print('| ansible -m ping | %.1f | 1.00 |' % row4['ping'])
        print('| site.yml, first run | %.1f | %.2f |' % (row4['first'], row4['first'] / row4['ping']))
        print('| site.yml, second run (changed=%s) | %.1f | %.2f |' % (
            '/'.join(map(str, row4['changed'])), row4['noop'], row4['noop'] / row4['ping']))
        verdict = row4['noop'] / row4['ping']
        outcome = 'met' if verdict <= 1.5 else 'missed by %.1fx' % (verdict / 1.5)
        print('Target: no-op within 1.5x of the ping: %s (%.2fx)' % (outcome, verdict))
    if row5:
        print()
        print('| mode | requests/s (small page, c=%d) | failed | director bytes/response, small page | '
              'director bytes/response, 1 MiB reply | %% of NAT (1 MiB) |' % args.concurrency)
        print('| --- | --- | --- | --- | --- | --- |')
        nat = row5.get('nat', {}).get('large')
        for mode, figures in row5.items():
            share = '%.1f%%' % (100 * figures['large'] / nat) if nat else '-'
            print('| %s | %.0f | %d | %.0f | %.0f | %s |'
                  % (mode, figures['rps'], figures['failed'], figures['small'], figures['large'], share))
        if nat:
            for mode in ('dr', 'tun'):
                if mode in row5:
                    share = row5[mode]['large'] / nat
                    print('Target: %s director under 5%% of NAT\'s bytes per 1 MiB response: %s (%.1f%%)'
                          % (mode.upper(), 'met' if share < 0.05 else 'missed', 100 * share))


if __name__ == '__main__':
    main()

"""Print the cluster figures (rows 4 and 5 of docs/benchmarks.md), measured in the lab.

Row 4: site.yml on the lab inventory (inventories/lab: one director with a DR, a TUN and a NAT service, four
real servers), first run and no-op second run, against `ansible -m ping` of the same hosts, with the module
round trips per host of each (the Docker engine's exec sessions per container: with pipelining, one per module
run), and a drift check: a weight changed, a VIP deleted and arp_ignore reset by hand, then site.yml again must
repair each and report changed. Row 5: the data plane of each mode: requests per second through its VIP (ab
from the client container), and the director's transmitted bytes per response, for the small page and for a
1 MiB reply. The cluster is built by the molecule scenario `modes` (create, prepare) in the lab's Docker and
destroyed afterwards, its nodes of the Debian release --release; site.yml and the ping reach them over --connection:
`docker` (the Docker API, inventories/lab, as root) or `ssh` (molecule's inventory: SSH as an unprivileged user with
sudo, as molecule's scenarios do; round trips are then SSH sessions, not counted). Traffic goes only between the lab's
containers.

  .venv/bin/python benchmarks/cluster_figures.py [--modes dr nat tun] [--runs 3] [--requests 2000] [--skip-site]
      [--release bookworm|trixie] [--connection docker|ssh]

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
VIPS = {'dr': '10.89.0.100', 'tun': '10.89.0.101', 'nat': '10.89.0.102'}
HOSTS = 'directors:realservers'
# the containers of HOSTS in the modes scenario: only theirs are counted (anything else may run in the lab beside)
HOST_CONTAINERS = ('lvs-director', 'lvs-rs1', 'lvs-rs2', 'lvs-rs3', 'lvs-rs4')
CLIENT_ADDRESS = '10.89.0.5'
LARGE_BYTES = 1024 * 1024


def progress(message):
    print('[cluster %7.1fs] %s' % (time.monotonic() - STARTED, message), file=sys.stderr, flush=True)


def environment(release):
    """Return the environment of ansible and molecule: the lab's Docker, the venv, the collection, the nodes' release
    and molecule's working directory in build/ (where the ssh connection finds molecule's inventory and key)."""
    host = os.environ.get('DOCKER_HOST') or subprocess.run(
        [sys.executable, str(ROOT / 'lab' / 'lab.py'), 'env'], capture_output=True, text=True,
        check=True).stdout.split('=', 1)[1].strip()
    venv_bin = str(Path(sys.executable).parent)
    return dict(os.environ, DOCKER_HOST=host, PATH=venv_bin + os.pathsep + os.environ['PATH'],
                ANSIBLE_COLLECTIONS_PATH=str(ROOT / 'build' / 'collections'), ANSIBLE_PIPELINING='true',
                ANSIBLE_HOST_KEY_CHECKING='false', LVS_NODE_RELEASE=release, MOLECULE_PROJECT_DIRECTORY=str(ROOT),
                MOLECULE_EPHEMERAL_DIRECTORY=str(ROOT / 'build' / 'cluster-figures-modes'),
                # as molecule's scenarios set them for SSH: one connection per host, time for a busy lab's banner
                ANSIBLE_SSH_ARGS='-o ControlMaster=auto -o ControlPersist=30m', ANSIBLE_TIMEOUT='120')


def timed(command, env):
    """Run command; return its wall time in seconds, its output and the controller's CPU seconds (its processes')."""
    start, before = time.monotonic(), os.times()
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if completed.returncode:
        sys.exit('%s failed:\n%s%s' % (' '.join(command), completed.stdout[-3000:], completed.stderr[-3000:]))
    after = os.times()
    cpu = after.children_user - before.children_user + after.children_system - before.children_system
    return time.monotonic() - start, completed.stdout, cpu


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


def data_plane(docker_client, args, mode):
    """Measure one mode's service: rps (median of runs) and director bytes per response, small and 1 MiB."""
    client = docker_client.containers.get('lvs-client')
    director = docker_client.containers.get('lvs-director')
    url = 'http://%s/' % VIPS[mode]
    rates, failures = [], 0
    for run in range(args.runs):
        before = director_tx(director)
        rate, failed = ab(client, url, args.requests, args.concurrency)
        small_per_response = (director_tx(director) - before) / args.requests
        rates.append(rate)
        failures += failed
        progress('  %s run %d: %.0f requests/s, director %.0f bytes/response, %d failed'
                 % (mode, run + 1, rate, small_per_response, failed))
    large_requests = 50
    before = director_tx(director)
    _rate, failed = ab(client, url + 'large', large_requests, 2)
    failures += failed
    large_per_response = (director_tx(director) - before) / large_requests
    return {'rps': statistics.median(rates), 'failed': failures, 'small': small_per_response,
            'large': large_per_response}


def round_trips(docker_client, since, until):
    """Return {host's container: exec sessions started between since and until} (Docker events, epoch seconds)."""
    counts = {}
    for event in docker_client.events(since=int(since), until=int(until) + 1, decode=True,
                                      filters={'type': 'container', 'event': 'exec_start'}):
        name = event.get('Actor', {}).get('Attributes', {}).get('name', '?')
        if name in HOST_CONTAINERS:
            counts[name] = counts.get(name, 0) + 1
    return counts


def counted(command, env, docker_client):
    """Run command; return (seconds, output, controller CPU seconds, round trips per container)."""
    since = time.time()
    seconds, output, cpu = timed(command, env)
    time.sleep(1)  # the engine stamps events in whole seconds
    return seconds, output, cpu, round_trips(docker_client, since, time.time() - 1)


def make_drift(docker_client):
    """Change a weight, delete a VIP and reset arp_ignore by hand; return what was done."""
    director = docker_client.containers.get('lvs-director')
    realserver = docker_client.containers.get('lvs-rs1')
    run_in(director, 'ipvsadm -e -t %s:80 -r 10.89.0.11:80 -g -w 7' % VIPS['dr'])
    run_in(director, 'ip addr del %s/24 dev $(ip -o addr show to %s | cut -d" " -f2)' % (VIPS['tun'], VIPS['tun']))
    run_in(realserver, 'sysctl -qw net.ipv4.conf.all.arp_ignore=0')
    return ['weight of 10.89.0.11 in %s:80 set to 7' % VIPS['dr'], 'VIP %s deleted from the director' % VIPS['tun'],
            'arp_ignore of all reset to 0 on lvs-rs1']


def drift_repaired(docker_client):
    """Return the three drifted values as they are now (after site.yml should have repaired them)."""
    director = docker_client.containers.get('lvs-director')
    realserver = docker_client.containers.get('lvs-rs1')
    weight = re.search(r'10\.89\.0\.11:80\s+Route\s+(\d+)', run_in(director, 'ipvsadm -Ln -t %s:80' % VIPS['dr']))
    return {'weight': int(weight.group(1)) if weight else None,
            'vip': VIPS['tun'] in run_in(director, 'ip -o addr show to %s' % VIPS['tun']),
            'arp_ignore': int(run_in(realserver, 'sysctl -n net.ipv4.conf.all.arp_ignore'))}


def site_figures(env, docker_client, runs, connection):
    """Row 4: site.yml first run, no-op runs and ping, with round trips per host, then the drift check."""
    inventory = 'inventories/lab' if connection == 'docker' else env['MOLECULE_EPHEMERAL_DIRECTORY'] + '/inventory'
    site = ['ansible-playbook', '-i', inventory, 'playbooks/site.yml']
    ping = ['ansible', '-i', inventory, HOSTS, '-m', 'ansible.builtin.ping']
    row = {'noop': [], 'ping': [], 'changed': [], 'noop_cpu': [], 'ping_cpu': []}
    progress('site.yml on inventories/lab, first run')
    row['first'], _output, row['first_cpu'], row['first_trips'] = counted(site, env, docker_client)
    for run in range(runs):
        seconds, output, cpu, trips = counted(site, env, docker_client)
        changed = sum(int(count) for count in re.findall(r'changed=(\d+)', output))
        row['noop'].append(seconds)
        row['noop_cpu'].append(cpu)
        row['changed'].append(changed)
        row['noop_trips'] = trips
        progress('site.yml again (run %d): %.1f s (controller CPU %.1f s), changed=%d, round trips %s' % (
            run + 1, seconds, cpu, changed, trips))
        seconds, _output, cpu, row['ping_trips'] = counted(ping, env, docker_client)
        row['ping'].append(seconds)
        row['ping_cpu'].append(cpu)
        progress('ansible -m ping (run %d): %.1f s (controller CPU %.1f s)' % (run + 1, seconds, cpu))
    row['drift'] = make_drift(docker_client)
    progress('drift made by hand: %s' % '; '.join(row['drift']))
    row['drift_seconds'], output, _cpu = timed(site, env)
    row['drift_changed'] = sum(int(count) for count in re.findall(r'changed=(\d+)', output))
    row['repaired'] = drift_repaired(docker_client)
    progress('site.yml after the drift: %.1f s, changed=%d, now %s' % (
        row['drift_seconds'], row['drift_changed'], row['repaired']))
    return row


def print_site(row, runs, connection):
    noop, ping = statistics.median(row['noop']), statistics.median(row['ping'])
    hosts = sorted(row['noop_trips'])
    print()
    trips_heading = 'module round trips per host' if connection == 'docker' else 'SSH sessions started through Docker'
    print('| site.yml on the modes cluster (director, four real servers), %s connection | seconds | x ansible -m ping '
          '| controller CPU s | %s |' % (connection, trips_heading))
    print('| --- | --- | --- | --- | --- |')
    print('| ansible -m ping | %.1f | 1.00 | %.1f | %s |' % (ping, statistics.median(row['ping_cpu']), ', '.join(
        '%s %d' % item for item in sorted(row['ping_trips'].items()))))
    first_trips = ', '.join('%s %d' % item for item in sorted(row['first_trips'].items()))
    print('| site.yml, first run | %.1f | %.2f | %.1f | %s |' % (
        row['first'], row['first'] / ping, row['first_cpu'], first_trips))
    trips = ', '.join('%s %d' % (host, row['noop_trips'][host]) for host in hosts)
    print('| site.yml, no-op (changed=%s) | %.1f | %.2f | %.1f | %s |' % (
        '/'.join(map(str, row['changed'])), noop, noop / ping, statistics.median(row['noop_cpu']), trips))
    verdict = noop / ping
    print('Target: no-op within 3x of the ping: %s (%.2fx, median of %d)' % (
        'met' if verdict <= 3 else 'missed by %.2fx' % (verdict / 3), verdict, runs))
    most = max(row['noop_trips'].values() or [0])
    if connection == 'docker':
        print('Aim: at most 6 round trips per host on a no-op, facts included: %s (most: %d)' % (
            'met' if most <= 6 else 'missed', most))
    repaired = row['repaired']
    fixed = repaired['weight'] == 1 and repaired['vip'] and repaired['arp_ignore'] == 1
    print('Drift (%s): site.yml %.1f s, changed=%d, %s (weight %s, VIP %s, arp_ignore %s)' % (
        '; '.join(row['drift']), row['drift_seconds'], row['drift_changed'], 'repaired' if fixed else 'NOT repaired',
        repaired['weight'], 'back' if repaired['vip'] else 'missing', repaired['arp_ignore']))
    return fixed and row['drift_changed'] > 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--modes', nargs='+', default=['dr', 'nat', 'tun'], choices=['dr', 'nat', 'tun'])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--requests', type=int, default=2000)
    parser.add_argument('--concurrency', type=int, default=8)
    parser.add_argument('--skip-site', action='store_true', help='skip row 4 (site.yml against ping)')
    parser.add_argument('--skip-data-plane', action='store_true', help='skip row 5')
    parser.add_argument('--release', choices=['bookworm', 'trixie'], default='bookworm',
                        help="the Debian release of the cluster's nodes (default: the modes scenario's, bookworm)")
    parser.add_argument('--connection', choices=['docker', 'ssh'], default='docker',
                        help='how site.yml and the ping reach the hosts (default docker)')
    args = parser.parse_args()
    env = environment(args.release)
    docker_client = docker.DockerClient(base_url=env['DOCKER_HOST'], timeout=300)
    for action in ('destroy', 'create', 'prepare'):
        molecule('modes', action, env)
    row4 = None if args.skip_site else site_figures(env, docker_client, args.runs, args.connection)
    row5 = {}
    if not args.skip_data_plane:
        if row4 is None:
            molecule('modes', 'converge', env)
        for name in ('lvs-rs1', 'lvs-rs2', 'lvs-rs3', 'lvs-rs4'):
            run_in(docker_client.containers.get(name), 'head -c %d /dev/zero > /var/www/html/large' % LARGE_BYTES)
        for mode in args.modes:
            progress('%s data plane: ab -n %d -c %d, %d runs' % (mode, args.requests, args.concurrency, args.runs))
            row5[mode] = data_plane(docker_client, args, mode)
    molecule('modes', 'destroy', env)
    print()
    engine = docker_client.version()
    print('Cluster figures (lab: QEMU TCG VM, kernel %s, Docker %s; the modes scenario\'s nodes, Debian %s; median of '
          '%d runs)' % (engine.get('KernelVersion'), engine.get('Version'), args.release, args.runs))
    repaired = print_site(row4, args.runs, args.connection) if row4 else True
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
    return 0 if repaired else 1


if __name__ == '__main__':
    sys.exit(main())

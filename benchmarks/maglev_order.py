"""Does the IPVS Maglev table (scheduler mh) depend on the order real servers were added? Print the figures.

  DOCKER_HOST=tcp://127.0.0.1:22375 .venv/bin/python benchmarks/maglev_order.py [--tuples 2000]

Two privileged lvs-node containers (lvs-bgp-maglev-a and -b, two network namespaces and IPVS tables on the
lab's real kernel) each build, for every case, a fresh pair of namespaces: a director with the VIP on lo, the
service and its three real servers (DR, nobody behind them), and a client behind a veth pair that sends one
SYN from each (source address, source port) tuple. The director's connection table (ipvsadm -Lnc) then says
which real server each tuple was scheduled to. A case is compared with the reference built in the other
container: the fraction of tuples that agree is the figure. One docker exec per container.
"""

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import docker

VIP = '10.1.0.1'
RS = {'rs1': '10.2.0.11', 'rs2': '10.2.0.12', 'rs3': '10.2.0.13'}
CLIENTS = ['10.0.0.%d' % host for host in range(2, 10)]
FIRST_PORT = 20000


def add(name, weight=1):
    return ['-a', '-t', VIP + ':80', '-r', RS[name] + ':80', '-g', '-w', str(weight)]


def delete(name):
    return ['-d', '-t', VIP + ':80', '-r', RS[name] + ':80']


def edit(name, weight):
    return ['-e', '-t', VIP + ':80', '-r', RS[name] + ':80', '-g', '-w', str(weight)]


def service(flags):
    return ['-A', '-t', VIP + ':80', '-s', 'mh'] + (['-b', flags] if flags else [])


BOTH = 'mh-port,mh-fallback'
IN_ORDER = [add('rs1'), add('rs2'), add('rs3')]
WEIGHTED = [add('rs1', 1), add('rs2', 2), add('rs3', 3)]
# case name -> (ipvsadm commands); the reference cases run in container a, the others in b.
REFERENCE = {
    'ref': [service(BOTH)] + IN_ORDER,
    'ref-weighted': [service(BOTH)] + WEIGHTED,
}
CASES = {
    'ref': ('ref', [service(BOTH)] + IN_ORDER),
    'order 3,1,2': ('ref', [service(BOTH), add('rs3'), add('rs1'), add('rs2')]),
    'order 2,3,1': ('ref', [service(BOTH), add('rs2'), add('rs3'), add('rs1')]),
    'order 3,2,1': ('ref', [service(BOTH), add('rs3'), add('rs2'), add('rs1')]),
    'rs1 deleted and added again': ('ref', [service(BOTH)] + IN_ORDER + [delete('rs1'), add('rs1')]),
    'rs2 weight 0 then 1 again': ('ref', [service(BOTH)] + IN_ORDER + [edit('rs2', 0), edit('rs2', 1)]),
    'weights 1,2,3 in order': ('ref-weighted', [service(BOTH)] + WEIGHTED),
    'weights 1,2,3 order 3,2,1': ('ref-weighted', [service(BOTH), add('rs3', 3), add('rs2', 2), add('rs1', 1)]),
    'weights 1,2,3 order 2,1,3': ('ref-weighted', [service(BOTH), add('rs2', 2), add('rs1', 1), add('rs3', 3)]),
    'without mh-port': (None, [service('mh-fallback')] + IN_ORDER),
    'rs2 weight 0, mh-port only': (None, [service('mh-port'), add('rs1'), add('rs2', 0), add('rs3')]),
    'rs2 weight 0, mh-port,mh-fallback': (None, [service(BOTH), add('rs1'), add('rs2', 0), add('rs3')]),
    'rs2 set to weight 0, mh-port only': (None, [service('mh-port')] + IN_ORDER + [edit('rs2', 0)]),
    'rs2 set to weight 0, mh-port,mh-fallback': (None, [service(BOTH)] + IN_ORDER + [edit('rs2', 0)]),
}

# Runs inside a container (python3 -c): builds each case in fresh namespaces, prints the tuples' real servers.
PROBE = r'''
import json, subprocess, sys
cases, vip, clients, first_port, ports = json.loads(sys.stdin.readline())
def run(*command):
    subprocess.run(command, check=True, capture_output=True)
result = {}
for number, (name, commands) in enumerate(cases):
    d, c = 'mhd%d' % number, 'mhc%d' % number
    run('ip', 'netns', 'add', d); run('ip', 'netns', 'add', c)
    run('ip', 'link', 'add', 'v' + d, 'netns', d, 'type', 'veth', 'peer', 'name', 'v' + c, 'netns', c)
    run('ip', '-n', d, 'link', 'add', 'rsnet', 'type', 'dummy')
    for link in ('lo', 'v' + d, 'rsnet'):
        run('ip', '-n', d, 'link', 'set', link, 'up')
    for link in ('lo', 'v' + c):
        run('ip', '-n', c, 'link', 'set', link, 'up')
    run('ip', '-n', d, 'addr', 'add', '10.0.0.1/24', 'dev', 'v' + d)
    run('ip', '-n', d, 'addr', 'add', '10.2.0.1/24', 'dev', 'rsnet')
    run('ip', '-n', d, 'addr', 'add', vip + '/32', 'dev', 'lo')
    for address in clients:
        run('ip', '-n', c, 'addr', 'add', address + '/24', 'dev', 'v' + c, 'nodad')
    run('ip', '-n', c, 'route', 'add', vip + '/32', 'via', '10.0.0.1')
    for command in commands:
        run('ip', 'netns', 'exec', d, 'ipvsadm', *command)
    flows = {}
    for address in clients:  # one address at a time, read before the SYN_RECV entries expire (60 s)
        subprocess.run(['ip', 'netns', 'exec', c, sys.executable, '-c', """
import socket, sys
vip, address, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for port in range(first, first + count):
    sock = socket.socket()
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    try:
        sock.connect((vip, 80))
    except BlockingIOError:
        pass
    sock.close()
""", vip, address, str(first_port), str(ports)], check=True)
        table = subprocess.run(['ip', 'netns', 'exec', d, 'ipvsadm', '-Lnc'], check=True, capture_output=True,
                               text=True)
        for line in table.stdout.splitlines():
            fields = line.split()
            if len(fields) == 6 and fields[0] == 'TCP':
                flows[fields[3]] = fields[5].rsplit(':', 1)[0]
    result[name] = flows
    run('ip', 'netns', 'del', d); run('ip', 'netns', 'del', c)
print(json.dumps({'kernel': __import__('os').uname().release, 'cases': result}))
'''


def probe(client, name, cases, ports):
    """Start a container, run the cases in it, remove it; return {case: {client:port: real server}}."""
    container = client.containers.run('lvs-node:trixie', 'sleep infinity', name=name, detach=True, privileged=True)
    try:
        request = json.dumps([list(cases.items()), VIP, CLIENTS, FIRST_PORT, ports])
        output = subprocess.run(['docker', 'exec', '-i', name, 'python3', '-c', PROBE], input=request + '\n',
                                capture_output=True, text=True, check=True).stdout
        return json.loads(output)
    finally:
        container.remove(force=True)


def agreement(flows, reference):
    """Return (tuples scheduled in both, fraction of them on the same real server)."""
    common = set(flows) & set(reference)
    same = sum(1 for flow in common if flows[flow] == reference[flow])
    return len(common), same / len(common) if common else 0.0


def per_server(flows):
    names = dict((address, name) for name, address in RS.items())
    counts = dict((name, 0) for name in RS)
    for address in flows.values():
        counts[names[address]] += 1
    return ' '.join('%s %d' % item for item in counts.items())


def one_server_per_client(flows):
    """Return the fraction of client addresses whose every port went to a single real server."""
    servers = {}
    for flow, address in flows.items():
        servers.setdefault(flow.rsplit(':', 1)[0], set()).add(address)
    return sum(1 for found in servers.values() if len(found) == 1) / len(servers)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tuples', type=int, default=2000, help='(source address, source port) tuples per case')
    args = parser.parse_args()
    ports = max(1, args.tuples // len(CLIENTS))
    sent = ports * len(CLIENTS)
    client = docker.from_env(timeout=600)
    start = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        references = pool.submit(probe, client, 'lvs-bgp-maglev-a', REFERENCE, ports)
        cases = pool.submit(probe, client, 'lvs-bgp-maglev-b', dict((name, case[1]) for name, case in CASES.items()),
                            ports)
        references, probed = references.result(), cases.result()
    references, cases = references['cases'], probed['cases']
    print('kernel %s; %d SYNs per case (%d client addresses x %d ports); %.0f s'
          % (probed['kernel'], sent, len(CLIENTS), ports, time.monotonic() - start))
    print('%-42s %9s %9s %8s  %s' % ('case (container b)', 'scheduled', 'compared', 'agree', 'flows per real server'))
    for name, (reference, _commands) in CASES.items():
        flows = cases[name]
        compared, agree = agreement(flows, references[reference]) if reference else (0, float('nan'))
        print('%-42s %9d %9d %8s  %s' % (name, len(flows), compared, '-' if not reference else '%.4f' % agree,
                                         per_server(flows)))
    print('one real server for all ports of a client address: without mh-port %.2f, with mh-port %.2f'
          % (one_server_per_client(cases['without mh-port']), one_server_per_client(cases['ref'])))
    return 0


if __name__ == '__main__':
    sys.exit(main())

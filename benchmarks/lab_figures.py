"""Print the lab's figures: image build (cold and warm), boot to Docker-ready, container create, one Ansible task.

  .venv/bin/python benchmarks/lab_figures.py [--cold] [--runs 3]

--cold builds everything again in a temporary cache (debootstrap, node image, first boot) on a
second port; without it, the build figure is the warm (cached) one. The lab must be down at the
start (the script boots and stops it itself).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parents[1]
LAB = [sys.executable, str(ROOT / 'lab' / 'lab.py')]


def timed(command, env=None):
    start = time.monotonic()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cold', action='store_true', help='also build from an empty cache')
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()
    rows = []
    if args.cold:
        cache = tempfile.mkdtemp(prefix='lab-cold-')
        env = dict(os.environ, LAB_CACHE=cache, LAB_PORT='22399')
        try:
            rows.append(('image build, cold cache (debootstrap x2, first boot, import)', timed(LAB + ['build'], env)))
        finally:
            shutil.rmtree(cache)
    rows.append(('image build, warm cache (recipe unchanged)', timed(LAB + ['build'])))
    subprocess.run(LAB + ['down'], check=True, stdout=subprocess.DEVNULL)
    rows.append(('boot to Docker-ready and node image present (lab up)', timed(LAB + ['up'])))
    host = subprocess.run(LAB + ['env'], capture_output=True, text=True, check=True).stdout.split('=', 1)[1].strip()
    client = docker.DockerClient(base_url=host, timeout=300)
    creates = []
    for run in range(args.runs):
        start = time.monotonic()
        container = client.containers.run(
            'lvs-node:trixie', '/lib/systemd/systemd', name='lvs-figures-%d' % run, detach=True, privileged=True,
            cgroupns='host', volumes={'/sys/fs/cgroup': {'bind': '/sys/fs/cgroup', 'mode': 'rw'}})
        creates.append(time.monotonic() - start)
        if run:
            container.remove(force=True)
    rows.append(('privileged systemd container create+start (median of %d)' % args.runs, statistics.median(creates)))
    inventory = Path(tempfile.mkdtemp()) / 'inventory.ini'
    inventory.write_text('node ansible_connection=community.docker.docker_api ansible_host=lvs-figures-0 '
                         'ansible_docker_docker_host=%s ansible_python_interpreter=/usr/bin/python3\n' % host)
    ansible = str(Path(sys.executable).parent / 'ansible')
    tasks = [timed([ansible, '-i', str(inventory), 'node', '-m', 'ansible.builtin.ping']) for _run in range(args.runs)]
    rows.append(('one ad-hoc Ansible task on a node (ping, median of %d)' % args.runs, statistics.median(tasks)))
    client.containers.get('lvs-figures-0').remove(force=True)
    print('\nlab figures on %s (%d cores), accelerator %s\n'
          % (os.uname().nodename, os.cpu_count(), os.environ.get('LAB_ACCEL', 'auto')))
    for name, seconds in rows:
        print('%-62s %8.1f s' % (name, seconds))


if __name__ == '__main__':
    main()

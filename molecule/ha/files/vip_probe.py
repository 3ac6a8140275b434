"""The HA scenario's client: load a VIP through a failover, or hold downloads open through a drain; JSON on stdout.

vip_probe.py failover: two loops run for --duration seconds: short requests, each on a new connection (timeout
--timeout), every --interval seconds; and one long-lived keep-alive connection that sends a request every
--long-interval seconds and never reconnects, so it tells whether an established connection survived. Every
response body names the real server that answered.

vip_probe.py hold: --count downloads of --path, each reading the first line of its body (the real server's name),
then only a trickle (--trickle bytes every --pace seconds, so that Apache's send timeout never fires) until the file
--release exists, then the rest. The test decides how long the connections stay in flight instead of waiting for
rate-limited downloads to end. Prints, per download, the node that served it, the bytes after the first line and the
error, if one happened.
"""

import argparse
import http.client
import json
import os
import threading
import time


def short_requests(args, results):
    deadline = time.time() + args.duration
    while time.time() < deadline:
        started = time.time()
        try:
            connection = http.client.HTTPConnection(args.vip, args.port, timeout=args.timeout)
            connection.request('GET', '/')
            body = connection.getresponse().read().decode().strip()
            connection.close()
            results.append((started, time.time(), body))
        except (OSError, http.client.HTTPException) as error:
            results.append((started, time.time(), 'FAILED %s' % type(error).__name__))
        time.sleep(args.interval)


def long_connection(args, results):
    deadline = time.time() + args.duration
    connection = http.client.HTTPConnection(args.vip, args.port, timeout=args.timeout * 3)
    while time.time() < deadline:
        started = time.time()
        try:
            connection.request('GET', '/', headers={'Connection': 'keep-alive'})
            body = connection.getresponse().read().decode().strip()
            results.append((started, time.time(), body))
        except (OSError, http.client.HTTPException) as error:
            results.append((started, time.time(), 'FAILED %s' % type(error).__name__))
            return
        time.sleep(args.long_interval)


def summary(results):
    answered = [end for _start, end, body in results if not body.startswith('FAILED')]
    gaps = [later - earlier for earlier, later in zip(answered, answered[1:])]
    failures = [(start, body) for start, _end, body in results if body.startswith('FAILED')]
    return {'requests': len(results), 'failed': len(failures), 'longest_gap': round(max(gaps or [0]), 3),
            'first_failure': failures[0][0] if failures else None, 'last_failure': failures[-1][0] if failures else None,
            'nodes': sorted(set(body for _s, _e, body in results)), 'first': results[0][0] if results else None,
            'last': results[-1][1] if results else None}


def held_download(args, results, index):
    """One download: the first line, a trickle until the release file exists, then the rest."""
    result = {'node': None, 'bytes': 0, 'error': None}
    try:
        connection = http.client.HTTPConnection(args.vip, args.port, timeout=args.timeout)
        connection.request('GET', args.path)
        response = connection.getresponse()
        result['node'] = response.readline().decode().strip()
        while not os.path.exists(args.release):
            result['bytes'] += len(response.read(args.trickle))
            time.sleep(args.pace)
        for chunk in iter(lambda: response.read(65536), b''):
            result['bytes'] += len(chunk)
        connection.close()
    except (OSError, http.client.HTTPException) as error:
        result['error'] = '%s: %s' % (type(error).__name__, error)
    results[index] = result


def run_threads(targets):
    """Start a thread per (function, arguments) and wait for all of them."""
    threads = [threading.Thread(target=function, args=arguments) for function, arguments in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--vip', required=True)
    parser.add_argument('--port', type=int, default=80)
    commands = parser.add_subparsers(dest='command', required=True)
    failover = commands.add_parser('failover', help='load the VIP through a failover')
    failover.add_argument('--duration', type=float, default=30)
    failover.add_argument('--interval', type=float, default=0.05)
    failover.add_argument('--long-interval', type=float, default=0.5)
    failover.add_argument('--timeout', type=float, default=1)
    hold = commands.add_parser('hold', help='hold downloads open until the release file exists')
    hold.add_argument('--path', default='/big')
    hold.add_argument('--count', type=int, default=4)
    hold.add_argument('--release', required=True)
    hold.add_argument('--trickle', type=int, default=4096)
    hold.add_argument('--pace', type=float, default=0.5)
    hold.add_argument('--timeout', type=float, default=120)
    args = parser.parse_args()
    if args.command == 'failover':
        short, long = [], []
        run_threads([(short_requests, (args, short)), (long_connection, (args, long))])
        print(json.dumps({'short': summary(short), 'long': summary(long)}))
    else:
        downloads = [None] * args.count
        run_threads([(held_download, (args, downloads, index)) for index in range(args.count)])
        print(json.dumps(downloads))


if __name__ == '__main__':
    main()

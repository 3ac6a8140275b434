"""The scenarios' client: load a VIP through a failover, hold downloads open, or map flows; JSON on stdout.

vip_probe.py failover: two loops run for --duration seconds: short requests, each on a new connection (timeout
--timeout), every --interval seconds; and one long-lived keep-alive connection that sends a request every
--long-interval seconds and never reconnects, so it tells whether an established connection survived. Every
response body names the real server that answered.

vip_probe.py hold: --count downloads of --path, each reading the first line of its body (the real server's name),
then only a trickle (--trickle bytes every --pace seconds, so that Apache's send timeout never fires) until the file
--release exists, then the rest. The test decides how long the connections stay in flight instead of waiting for
rate-limited downloads to end. Prints, per download, the node that served it, the bytes after the first line and the
error, if one happened. With --ready, the file is written once every download has its first line.

vip_probe.py flows: --count short requests, each from its own source port (--first-port, --first-port + 1, ...),
closed with a reset so that the same ports can be used again at once; prints the node that answered each port. Run
twice around a change, it tells which flows moved to another real server.
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import socket
import struct
import threading
import time


def running(args, deadline):
    """Until the deadline, or until the --until file exists."""
    return time.time() < deadline and not (args.until and os.path.exists(args.until))


def short_requests(args, results):
    deadline = time.time() + args.duration
    while running(args, deadline):
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
    while running(args, deadline):
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


def held_download(args, results, index, started):
    """One download: the first line, a trickle until the release file exists, then the rest."""
    result = {'node': None, 'bytes': 0, 'error': None, 'port': None}
    try:
        connection = http.client.HTTPConnection(args.vip, args.port, timeout=args.timeout)
        connection.request('GET', args.path)
        result['port'] = connection.sock.getsockname()[1]
        response = connection.getresponse()
        result['node'] = response.readline().decode().strip()
        started.release()
        while not os.path.exists(args.release):
            result['bytes'] += len(response.read(args.trickle))
            time.sleep(args.pace)
        for chunk in iter(lambda: response.read(65536), b''):
            result['bytes'] += len(chunk)
        connection.close()
    except (OSError, http.client.HTTPException) as error:
        result['error'] = '%s: %s' % (type(error).__name__, error)
        if result['node'] is None:
            started.release()  # a download that never started must not keep --ready from being written
    results[index] = result


def ready_when_all_started(args, started):
    """Write the --ready file once every download has its first line."""
    for _download in range(args.count):
        started.acquire()
    if args.ready:
        with open(args.ready, 'w') as ready:
            ready.write('%d\n' % args.count)


def flow(args, source_port):
    """The node that answers a request from this source port; the connection ends with a reset."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as connection:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            connection.settimeout(args.timeout)
            connection.bind(('', source_port))
            connection.connect((args.vip, args.port))
            connection.sendall(b'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' % args.vip.encode())
            reply = b''.join(iter(lambda: connection.recv(65536), b''))
        return reply.split(b'\r\n\r\n', 1)[-1].decode().strip()
    except OSError as error:
        return 'FAILED %s' % type(error).__name__


def flows(args):
    """Each source port's answering node, --parallel requests at a time."""
    ports = list(range(args.first_port, args.first_port + args.count))
    with concurrent.futures.ThreadPoolExecutor(args.parallel) as pool:
        return dict(zip(ports, pool.map(lambda port: flow(args, port), ports)))


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
    failover.add_argument('--until', help='stop early once this file exists')
    hold = commands.add_parser('hold', help='hold downloads open until the release file exists')
    hold.add_argument('--path', default='/big')
    hold.add_argument('--count', type=int, default=4)
    hold.add_argument('--release', required=True)
    hold.add_argument('--trickle', type=int, default=4096)
    hold.add_argument('--pace', type=float, default=0.5)
    hold.add_argument('--timeout', type=float, default=120)
    hold.add_argument('--ready', help='written once every download has its first line')
    mapping = commands.add_parser('flows', help='the node that answers each of --count source ports')
    mapping.add_argument('--count', type=int, default=600)
    mapping.add_argument('--first-port', type=int, default=30000)
    mapping.add_argument('--parallel', type=int, default=8)
    mapping.add_argument('--timeout', type=float, default=5)
    args = parser.parse_args()
    if args.command == 'failover':
        short, long = [], []
        run_threads([(short_requests, (args, short)), (long_connection, (args, long))])
        print(json.dumps({'short': summary(short), 'long': summary(long)}))
    elif args.command == 'hold':
        downloads = [None] * args.count
        started = threading.Semaphore(0)
        run_threads([(held_download, (args, downloads, index, started)) for index in range(args.count)]
                    + [(ready_when_all_started, (args, started))])
        print(json.dumps(downloads))
    else:
        print(json.dumps(flows(args)))


if __name__ == '__main__':
    main()

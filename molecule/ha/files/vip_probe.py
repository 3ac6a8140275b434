"""Load a VIP while a failover happens, and report what the client saw, as JSON on stdout.

Two loops run for --duration seconds: short requests, each on a new connection (timeout --timeout),
every --interval seconds; and one long-lived keep-alive connection that sends a request every
--long-interval seconds and never reconnects, so it tells whether an established connection survived.
Every response body names the real server that answered.
"""

import argparse
import http.client
import json
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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--vip', required=True)
    parser.add_argument('--port', type=int, default=80)
    parser.add_argument('--duration', type=float, default=30)
    parser.add_argument('--interval', type=float, default=0.05)
    parser.add_argument('--long-interval', type=float, default=0.5)
    parser.add_argument('--timeout', type=float, default=1)
    args = parser.parse_args()
    short, long = [], []
    threads = [threading.Thread(target=short_requests, args=(args, short)),
               threading.Thread(target=long_connection, args=(args, long))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({'short': summary(short), 'long': summary(long)}))


if __name__ == '__main__':
    main()

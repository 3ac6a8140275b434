"""molecule bgp's figures, computed on the controller from what the hosts printed (JSON on stdin and stdout).

bgp_figures.py balance: the share of the flows each director carried (its IPVS connection counter before and
after) and each real server answered, against the weights, with the bound the test allows.
bgp_figures.py failure: one director lost while downloads and a request loop ran: how long the router kept its
path (its route events against the lost director's last packet), failed requests, and broken downloads among the
flows of the surviving directors and among those of the lost one.
bgp_figures.py moved: the flows (source ports) that changed real server when one real server left, against the
ideal (the flows it had).
"""

import datetime
import json
import math
import re
import sys

# ipvsadm -Lnc: "TCP 14:59  ESTABLISHED 10.89.4.5:41234  10.89.9.10:80      10.89.5.21:80"
CONNECTION = re.compile(r'^TCP\s+\S+\s+(\S+)\s+[\d.]+:(\d+)\s+')


def counter(stats):
    """The service's connection counter in `ipvsadm -Ln --stats --exact -t VIP:PORT`."""
    for line in stats.splitlines():
        if line.startswith(('TCP', 'UDP', 'SCTP')):
            return int(line.split()[2])
    raise ValueError('no service line in %r' % stats)


def bound(flows):
    """Four standard deviations of a share of 1/3 among this many independent flows."""
    return round(4 * math.sqrt((1 / 3) * (2 / 3) / flows), 3)


def balance(data):
    answered = [node for node in data['flows'].values() if not node.startswith('FAILED')]
    carried = {director: counter(data['after'][director]) - counter(data['before'][director])
               for director in data['before']}
    total_weight = sum(data['weights'].values())
    return {
        'flows': len(data['flows']),
        'failed': len(data['flows']) - len(answered),
        'directors': {director: {'flows': count, 'share': round(count / max(sum(carried.values()), 1), 3)}
                      for director, count in sorted(carried.items())},
        'realservers': {node: {'flows': answered.count(node), 'share': round(answered.count(node) / max(len(answered), 1), 3),
                               'weight_share': round(weight / total_weight, 3)}
                        for node, weight in sorted(data['weights'].items())},
        'bound': bound(len(data['flows'])),
    }


def route_events(text, vip):
    """(time, nexthop addresses) of every event of `ip -tshort monitor route` about the VIP's route."""
    blocks = []
    for line in text.splitlines():
        if line.startswith('['):
            blocks.append([line])
        elif blocks and line.strip():
            blocks[-1].append(line.strip())
    events = []
    for block in blocks:
        stamp, _bracket, first = block[0].partition('] ')
        deleted = first.startswith('Deleted ')
        if first.split()[int(deleted):int(deleted) + 1] == [vip]:
            when = datetime.datetime.fromisoformat(stamp[1:]).replace(tzinfo=datetime.timezone.utc).timestamp()
            events.append((when, [] if deleted else re.findall(r'via ([\d.]+)', ' '.join([first] + block[1:]))))
    return events


def failure(data):
    events = route_events(data['route_events'], data['vip'])
    dropped = next((when for when, hops in events if data['victim_address'] not in hops), None)
    packets = [float(line.split()[0]) for line in data['victim_packets'].splitlines() if line[:1].isdigit()]
    last_packet = max((when for when in packets if dropped is None or when <= dropped), default=None)
    carrier = {}
    for director, table in data['connections'].items():
        for line in table.splitlines():
            match = CONNECTION.match(line.strip())
            if match and match.group(1) == 'ESTABLISHED':
                carrier[int(match.group(2))] = director
    groups = {'surviving': [], 'lost': [], 'unknown': []}
    for download in data['downloads']:
        director = carrier.get(download['port'])
        group = 'unknown' if director is None else 'lost' if director == data['victim'] else 'surviving'
        groups[group].append(download)
    return {
        'failure': data['failure'],
        'router_kept_path_s': None if dropped is None or last_packet is None else round(dropped - last_packet, 3),
        'route_events': [[round(when - events[0][0], 3), hops] for when, hops in events],
        'requests': data['loop']['short']['requests'],
        'failed_requests': data['loop']['short']['failed'],
        'longest_gap_s': data['loop']['short']['longest_gap'],
        'long_lived_requests': data['loop']['long']['requests'],
        'long_lived_failed': data['loop']['long']['failed'],
        'downloads': {group: {'total': len(items),
                              'broken': sum(1 for item in items if item['error'] or item['bytes'] != data['size']),
                              'errors': sorted(set(item['error'] for item in items if item['error']))}
                      for group, items in groups.items()},
    }


def moved(data):
    ports = sorted(set(data['before']) & set(data['after']))
    before_removed = [port for port in ports if data['before'][port] == data['removed']]
    changed = [port for port in ports if data['before'][port] != data['after'][port]]
    kept_changed = [port for port in changed if data['before'][port] != data['removed']]
    return {
        'flows': len(ports),
        'changed': round(len(changed) / len(ports), 3),
        'ideal': round(len(before_removed) / len(ports), 3),
        'kept_flows_moved': len(kept_changed),
        'to_removed': sum(1 for port in ports if data['after'][port] == data['removed']),
        'failed': sum(1 for port in ports if data['after'][port].startswith('FAILED')),
    }


def main():
    figures = {'balance': balance, 'failure': failure, 'moved': moved}[sys.argv[1]](json.load(sys.stdin))
    print(json.dumps(figures, sort_keys=True))


if __name__ == '__main__':
    main()

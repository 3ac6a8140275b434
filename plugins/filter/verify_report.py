# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The judgement of playbooks/verify.yml: what it observed against the model."""

from __future__ import annotations

DOCUMENTATION = r"""
name: verify_report
short_description: Judge what playbooks/verify.yml observed on a cluster against the model
version_added: 0.1.0
description:
  - Compares the IPVS counters that C(lvs.cluster.ipvs_info) read on the directors before and after a load sent
    from a client, service by service, with the model, and gathers every failed check in one sentence each.
  - "Balance: each real server's share of the new connections against its share of the weights, within
    O(tolerance)."
  - "Reply path: in DR and TUN no reply byte passes the director (the service's C(out_bytes) stay the same); in NAT
    the replies do (they grow)."
  - "ARP: every IPv4 VIP is answered only by the MAC of the director interface that holds it."
  - "The directors hold no TCP socket on a VIP and list connections in their IPVS table; each real server's access
    log has requests from the client's own address; no host has drift (what the roles would change)."
  - "VRRP: every keepalived instance is MASTER on exactly one director."
author:
  - lvs.cluster developers (@lvs-cluster)
positional: ipvs, observed
options:
  _input:
    description: C(lvs_virtual_services).
    type: list
    elements: dict
    required: true
  ipvs:
    description: The same services as C(lvs.cluster.ipvs_services(hostvars, owner='all')) returns them.
    type: list
    elements: dict
    required: true
  observed:
    description:
      - What verify.yml read. C(before) and C(after), the C(services) of C(lvs.cluster.ipvs_info) on each director
        (a list per director); C(client), the client's lines C(answers VIP OK FAILED) and C(arp VIP MAC...);
        C(directors), every director's lines C(holds VIP MAC), C(sockets VIP N), C(connections HOST N) and, for
        each VRRP instance of keepalived, C(vrrp INSTANCE HOST STATE) (STATE as keepalived's notify recorded it, or
        C(STOPPED) when keepalived does not run);
        C(seen), for each real server the requests from the client's address in its access log (None to skip);
        C(drift), for each host what the roles would change there.
    type: dict
    required: true
  tolerance:
    description: How far a real server's share of the connections may be from its share of the weights (0 to 1).
    type: float
    default: 0.1
"""

EXAMPLES = r"""
- name: Judge what was observed
  ansible.builtin.set_fact:
    report: "{{ lvs_virtual_services | lvs.cluster.verify_report(ipvs, observed, tolerance=0.05) }}"
"""

RETURN = r"""
_value:
  description:
    - C(rows), one per real server of each service (service, mode, vip, realserver, weight, connections, share,
      expected, reply_bytes_via_director); C(table), the same as text lines; C(failures), one sentence per failed
      check.
  type: dict
"""

COLUMNS = ('%-14s %-4s %-20s %-12s %6s %11s %6s %8s %s',
           ('service', 'mode', 'VIP', 'real server', 'weight', 'connections', 'share', 'expected',
            'reply bytes via director'))


def parse_lines(lines):
    """Return {word: {first argument: the rest}} for lines such as "answers 10.0.0.1 300 0"."""
    parsed = {}
    for line in lines:
        words = line.split()
        if len(words) >= 2:
            parsed.setdefault(words[0], {}).setdefault(words[1], []).extend(words[2:])
    return parsed


def counters(tables):
    """Return {(protocol, address, port): (service stats, {(address, port): stats})} summed over the directors."""
    total = {}
    for table in tables:
        for service in table:
            stats, members = total.setdefault((service.get('protocol'), service.get('address'), service.get('port')),
                                              ({}, {}))
            for name, value in service.get('stats', {}).items():
                stats[name] = stats.get(name, 0) + value
            for member in service.get('realservers', []):
                counts = members.setdefault((member['address'], member['port']), {})
                for name, value in member.get('stats', {}).items():
                    counts[name] = counts.get(name, 0) + value
    return total


def judge_service(service, resolved, old, new, client, directors, tolerance):
    """Return (rows, failures) of one service."""
    vip, mode, port = service['vip'], service.get('forwarding', 'dr'), resolved['port']
    label = '%s (%s %s:%s)' % (service['name'], mode.upper(), vip, port)
    key = (resolved.get('protocol', 'tcp'), resolved['address'], port)
    if key not in new:
        return [], ['%s: no director has this service in its IPVS table' % label]
    (old_stats, old_members), (new_stats, new_members) = old.get(key, ({}, {})), new[key]
    failures = []
    ok, failed = (int(count) for count in (client.get('answers', {}).get(vip) or ['0', '0'])[:2])
    if failed or not ok:
        failures.append('%s: %d of %d requests failed' % (label, failed, ok + failed))
    sockets = sum(int(count) for count in directors.get('sockets', {}).get(vip, []))
    if sockets:
        failures.append('%s: a director holds %d TCP connections on the VIP; IPVS forwards them, so it must hold none'
                        % (label, sockets))
    reply_bytes = new_stats.get('out_bytes', 0) - old_stats.get('out_bytes', 0)
    if mode in ('dr', 'tun') and reply_bytes:
        failures.append('%s: %d reply bytes passed the director; %s replies must go straight to the client'
                        % (label, reply_bytes, mode.upper()))
    if mode == 'nat' and reply_bytes <= 0:
        failures.append('%s: no reply byte passed the director; NAT replies must come back through it' % label)
    members = [(entry, member, (member['address'], member.get('port', port)))
               for entry, member in zip(service.get('realservers', []), resolved.get('realservers', []))]
    weights = sum(member.get('weight', 1) for _entry, member, _key in members) or 1
    connections = dict((rs_key, new_members.get(rs_key, {}).get('connections', 0)
                        - old_members.get(rs_key, {}).get('connections', 0)) for _entry, _member, rs_key in members)
    total = sum(connections.values()) or 1
    rows = []
    for entry, member, rs_key in members:
        expected = float(member.get('weight', 1)) / weights
        share = float(connections[rs_key]) / total
        rows.append({'service': service['name'], 'mode': mode, 'vip': '%s:%s' % (vip, port),
                     'realserver': entry.get('host', member['address']), 'weight': member.get('weight', 1),
                     'connections': connections[rs_key], 'share': round(share, 3), 'expected': round(expected, 3),
                     'reply_bytes_via_director': reply_bytes})
        if abs(share - expected) > tolerance:
            failures.append('%s: %s got %.1f%% of %d connections; its weight gives %.1f%% (tolerance %.1f%%)' % (
                label, rows[-1]['realserver'], 100 * share, total, 100 * expected, 100 * tolerance))
    answered = sorted(set(mac.lower() for mac in client.get('arp', {}).get(vip, [])))
    owners = sorted(set(mac.lower() for mac in directors.get('holds', {}).get(vip, [])))
    if ':' not in vip and (not owners or answered != owners):
        failures.append('%s: ARP for %s answered by %s; expected only the director that holds it (%s)' % (
            label, vip, ', '.join(answered) or 'nobody', ', '.join(owners) or 'no director holds it'))
    return rows, failures


def verify_report(model, ipvs, observed, tolerance=0.1):
    """Return {rows, table, failures} (see DOCUMENTATION)."""
    old, new = counters(observed['before']), counters(observed['after'])
    client, directors = parse_lines(observed['client']), parse_lines(observed['directors'])
    rows, failures = [], []
    for host, changes in sorted(observed.get('drift', {}).items()):
        failures.extend('%s: %s' % (host, change) for change in changes or [])
    for service, resolved in zip(model, ipvs):
        if 'fwmark' not in resolved:
            service_rows, service_failures = judge_service(service, resolved, old, new, client, directors, tolerance)
            rows += service_rows
            failures += service_failures
    if not sum(int(counts[0]) for counts in directors.get('connections', {}).values() if counts):
        failures.append('the directors list no connection (ipvsadm -Lnc) after the load')
    for instance, words in sorted(directors.get('vrrp', {}).items()):
        states = dict(zip(words[0::2], words[1::2]))
        masters = sorted(host for host, state in states.items() if state == 'MASTER')
        if len(masters) != 1:
            failures.append('VRRP instance %s is MASTER on %d directors (%s); expected exactly one' % (
                instance, len(masters), ', '.join('%s %s' % item for item in sorted(states.items()))))
    for host, count in sorted(observed.get('seen', {}).items()):
        if count is not None and int(count or 0) == 0:
            failures.append("%s: its access log has no request from the client's own address" % host)
    table = [COLUMNS[0] % COLUMNS[1]] + [COLUMNS[0] % (
        row['service'], row['mode'], row['vip'], row['realserver'], row['weight'], row['connections'],
        '%.3f' % row['share'], '%.3f' % row['expected'], row['reply_bytes_via_director']) for row in rows]
    return {'rows': rows, 'table': table, 'failures': failures}


class FilterModule:
    """The judgement of playbooks/verify.yml."""

    def filters(self):
        return {'verify_report': verify_report}

#!/usr/bin/env python3
# Probe agent for the datapath kernel tests: runs inside one test network namespace, reads one JSON command per
# line on stdin and answers one JSON line on stdout. Servers echo what they receive. SCTP uses raw IP sockets
# (this kernel may lack SCTP sockets): `sctp_send` sends a bare SCTP INIT chunk, `sctp_count` reports how many
# SCTP packets to a port arrived since the listener started.
import json, socket, struct, sys, threading, time

conns = {}
accepted = {}  # server side of accepted TCP connections, by the peer's source port (for tcp_push)
sctp_counts = {}

def fam(ip):
    return socket.AF_INET6 if ':' in ip else socket.AF_INET

def tcp_server(port, family):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(('::' if family == socket.AF_INET6 else '0.0.0.0', port))
    s.listen(256)
    def serve(c):
        accepted[c.getpeername()[1]] = c
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        finally:
            c.close()
    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()

def udp_server(port, family):
    s = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(('::' if family == socket.AF_INET6 else '0.0.0.0', port))
    def loop():
        while True:
            d, a = s.recvfrom(65536)
            s.sendto(d, a)
    threading.Thread(target=loop, daemon=True).start()

def sctp_listener(family):
    s = socket.socket(family, socket.SOCK_RAW, 132)
    def loop():
        while True:
            d, a = s.recvfrom(65536)
            if family == socket.AF_INET:
                ihl = (d[0] & 0x0f) * 4
                d = d[ihl:]
            if len(d) >= 4:
                port = struct.unpack('!H', d[2:4])[0]
                sctp_counts[port] = sctp_counts.get(port, 0) + 1
    threading.Thread(target=loop, daemon=True).start()

def sctp_init(sport, dport):
    # common header (checksum left 0: the receiver's raw socket sees it anyway) + INIT chunk
    chunk = struct.pack('!BBHIIHHI', 1, 0, 20, 0x1234, 65536, 1, 1, 0x1000)
    return struct.pack('!HHII', sport, dport, 0, 0) + chunk

def handle(c):
    op = c['op']
    to = c.get('timeout', 3.0)
    if op == 'listen':
        family = socket.AF_INET6 if c.get('family') == 6 else socket.AF_INET
        for p in c.get('tcp', []):
            tcp_server(p, family)
        for p in c.get('udp', []):
            udp_server(p, family)
        if c.get('sctp'):
            sctp_listener(family)
        return {'ok': True}
    if op == 'tcp':
        s = socket.socket(fam(c['dst']), socket.SOCK_STREAM)
        s.settimeout(to)
        try:
            if c.get('sport'):
                # a fixed source port, closed with RST (no TIME_WAIT), so the next probe can reuse the tuple
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            if c.get('src') or c.get('sport'):
                s.bind((c.get('src') or '', c.get('sport', 0)))
            s.connect((c['dst'], c['port']))
            s.sendall(b'ping')
            return {'ok': s.recv(16) == b'ping'}
        except OSError as e:
            return {'ok': False, 'err': str(e)}
        finally:
            s.close()
    if op == 'udp':
        s = socket.socket(fam(c['dst']), socket.SOCK_DGRAM)
        s.settimeout(to)
        try:
            s.sendto(b'ping', (c['dst'], c['port']))
            d, _ = s.recvfrom(16)
            return {'ok': d == b'ping'}
        except OSError as e:
            return {'ok': False, 'err': str(e)}
        finally:
            s.close()
    if op == 'tcp_open':
        s = socket.socket(fam(c['dst']), socket.SOCK_STREAM)
        s.settimeout(to)
        try:
            s.connect((c['dst'], c['port']))
            conns[c['id']] = s
            return {'ok': True, 'sport': s.getsockname()[1]}
        except OSError as e:
            s.close()
            return {'ok': False, 'err': str(e)}
    if op == 'tcp_send':
        s = conns[c['id']]
        s.settimeout(to)
        try:
            s.sendall(b'ping')
            return {'ok': s.recv(16) == b'ping'}
        except OSError as e:
            return {'ok': False, 'err': str(e)}
    if op == 'tcp_push':
        # the server sends first on the connection accepted from source port `sport`
        try:
            accepted[c['sport']].sendall(b'push')
            return {'ok': True}
        except (KeyError, OSError) as e:
            return {'ok': False, 'err': repr(e)}
    if op == 'tcp_recv':
        s = conns[c['id']]
        s.settimeout(to)
        try:
            return {'ok': s.recv(16) == b'push'}
        except OSError as e:
            return {'ok': False, 'err': str(e)}
    if op == 'tcp_close':
        s = conns.pop(c['id'], None)
        if s:
            s.close()
        return {'ok': True}
    if op == 'sctp_send':
        family = fam(c['dst'])
        s = socket.socket(family, socket.SOCK_RAW, 132)
        try:
            s.sendto(sctp_init(c.get('sport', 40000), c['port']), (c['dst'], 0))
            return {'ok': True}
        finally:
            s.close()
    if op == 'sctp_count':
        return {'ok': True, 'count': sctp_counts.get(c['port'], 0)}
    if op == 'loop_tcp':
        # Continuous probes for `seconds`: counts successes and failures of connect+echo.
        ok = fail = 0
        end = time.time() + c['seconds']
        while time.time() < end:
            r = handle({'op': 'tcp', 'dst': c['dst'], 'port': c['port'], 'timeout': to})
            if r['ok']:
                ok += 1
            else:
                fail += 1
            time.sleep(c.get('interval', 0.02))
        return {'ok': True, 'success': ok, 'failure': fail}
    return {'ok': False, 'err': 'unknown op ' + op}

def worker(line):
    c = json.loads(line)
    try:
        r = handle(c)
    except Exception as e:  # report, never die
        r = {'ok': False, 'err': repr(e)}
    r['seq'] = c.get('seq')
    with out_lock:
        sys.stdout.write(json.dumps(r) + '\n')
        sys.stdout.flush()

out_lock = threading.Lock()
sys.stdout.write(json.dumps({'ready': True}) + '\n')
sys.stdout.flush()
for line in sys.stdin:
    if line.strip():
        threading.Thread(target=worker, args=(line,), daemon=True).start()

// The programs the policy lab runs inside pod namespaces (node -e / python3 -c), as source text.
import { execFileSync } from 'node:child_process';
import { DNS_CLIENT } from './lab-dns.js';

/**
 * Servers: TCP (accept, close) on the first comma-separated list of ports, UDP echo on the second, on the address
 * of the third argument (default all: a namespace holding several addresses runs one per address, so that UDP
 * answers come from the address that was asked).
 */
export const SERVER = `const net=require('net'),d=require('dgram');const [t,u,a]=process.argv.slice(1);const h=a||'0.0.0.0';for(const p of (t||'').split(',').filter(Boolean))net.createServer(s=>s.end()).listen(+p,h);for(const p of (u||'').split(',').filter(Boolean)){const s=d.createSocket('udp4');s.on('message',(m,r)=>s.send(m,r.port,r.address));s.bind(+p,h);}`;

/** One connect, exit 0 when it connected. */
export const PROBE = `const s=require('net').connect({host:process.argv[1],port:+process.argv[2]});s.setTimeout(+process.argv[3]||700);s.on('connect',()=>process.exit(0));s.on('timeout',()=>process.exit(1));s.on('error',e=>process.exit(e.code==='ECONNREFUSED'?0:1));`;

/**
 * A prober that stays up in a pod namespace, its source address the first argument ('' = the kernel's choice):
 * reads one JSON request per line {id, to: timeout ms, t: targets}, targets "tcp:<ip>:<port>", "udp:<ip>:<port>"
 * (a datagram echoed back), "dnsu|dnst:<ip>:<port>:<name>:<address>" (an A query for name over UDP|TCP whose
 * answer must be that address), "name:<dns ip>:<port>:<name>:<address>:<tcp port>" (the same over UDP, then a
 * TCP connect to the address answered), "sctp:<ip>:<port>" (all of a request's SCTP targets in one SCTP_PROBE run,
 * after the others), "icmp:<ip>" (one ping, last). Processes started while TCP/UDP probes wait would starve their
 * timers on a busy machine: after a stall, Node.js runs expired timers before I/O, so every probe would time out.
 * answers {id, v: "0110…"}. A refused TCP connect or an ICMP port unreachable counts as allowed (the packet got
 * through).
 */
export const PROBER = `
const net = require('net'), dg = require('dgram'), cp = require('child_process');
const la = process.argv[1] || undefined;
${DNS_CLIENT}
const one = (t, to) => new Promise((r) => {
  const [k, h, p, name, want, tp] = t.split(':');
  const t0 = Date.now();
  if (k === 'dnsu' || k === 'dnst') {
    lookup(k === 'dnst', h, +p, name, to).then((a) => r(a === want ? 1 : 0));
  } else if (k === 'name') {
    lookup(false, h, +p, name, to).then((a) =>
      a === want ? one('tcp:' + a + ':' + tp, Math.max(1, to - (Date.now() - t0))).then(r) : r(0));
  } else if (k === 'tcp') {
    const s = net.connect({ host: h, port: +p, localAddress: la });
    s.setTimeout(to);
    const f = (v) => { s.destroy(); r(v); };
    s.on('connect', () => f(1));
    s.on('timeout', () => f(0));
    s.on('error', (e) => f(e.code === 'ECONNREFUSED' ? 1 : 0));
  } else if (k === 'udp') {
    const s = dg.createSocket('udp4');
    let done = false;
    const f = (v) => { if (done) return; done = true; clearTimeout(tm); try { s.close(); } catch {} r(v); };
    const tm = setTimeout(() => f(0), to);
    s.on('message', () => f(1));
    s.on('error', (e) => f(e.code === 'ECONNREFUSED' ? 1 : 0));
    s.bind({ address: la }, () => s.connect(+p, h, () => s.send('x')));
  } else {
    cp.execFile('ping', ['-c1', '-n', '-W', String(Math.max(1, Math.ceil(to / 1000))), ...(la ? ['-I', la] : []), h], (e) => r(e ? 0 : 1));
  }
});
const sctp = (ts, to) => new Promise((r) => {
  if (ts.length === 0) return r([]);
  cp.execFile(process.env.SCTP_PYTHON, ['-S', '-c', process.env.SCTP_PROBE, String(to), la || '', ...ts.map((t) => t.slice(5))], (e, out) =>
    r(e ? ts.map(() => 0) : [...String(out).trim()].map(Number)));
});
require('readline').createInterface({ input: process.stdin }).on('line', async (l) => {
  const { id, to, t } = JSON.parse(l);
  const v = new Array(t.length);
  const kind = (x) => (x.startsWith('icmp') ? 2 : x.startsWith('sctp') ? 1 : 0);
  const idx = (k) => t.map((x, i) => i).filter((i) => kind(t[i]) === k);
  const [plain, sc] = [idx(0), idx(1)];
  const got = await Promise.all(plain.map((i) => one(t[i], to)));
  plain.forEach((i, j) => (v[i] = got[j]));
  const gotS = await sctp(sc.map((i) => t[i]), to);
  sc.forEach((i, j) => (v[i] = gotS[j]));
  const ic = idx(2);
  const gotI = await Promise.all(ic.map((i) => one(t[i], to)));
  ic.forEach((i, j) => (v[i] = gotI[j]));
  process.stdout.write(JSON.stringify({ id, v: v.join('') }) + '\\n');
});`;

/** A watcher: connects every 2 ms (timeout 30 ms) and prints "<Date.now()> ok|fail" whenever the verdict flips. */
export const WATCH = `const net=require('net');const [h,p]=[process.argv[1],+process.argv[2]];let last='';const once=()=>{const t=Date.now();const s=net.connect({host:h,port:p});let done=false;const fin=v=>{if(done)return;done=true;s.destroy();if(v!==last){last=v;process.stdout.write(t+' '+v+'\\n');}setTimeout(once,2);};s.setTimeout(30);s.on('connect',()=>fin('ok'));s.on('timeout',()=>fin('fail'));s.on('error',e=>fin(e.code==='ECONNREFUSED'?'ok':'fail'));};once();`;

// SCTP without SCTP sockets (kernels built without SCTP have none; Node.js never has them): raw IP sockets of
// protocol 132. The responder answers an INIT to one of its ports with an ABORT from that port; the probe sends an
// INIT to each target and reports, per target, whether the answer came back within the timeout. The datapath
// judges the INIT (a new flow) and passes the ABORT as its reply.
const CRC32C = `
def crc32c(b):
    c = 0xffffffff
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    return (~c) & 0xffffffff
def packet(sport, dport, vtag, chunk):
    h = struct.pack('!HHII', sport, dport, vtag, 0) + chunk
    return h[:8] + struct.pack('<I', crc32c(h)) + h[12:]
`;

/**
 * The Python interpreter itself, not a wrapper found on PATH (a version manager's shim costs seconds per start on a
 * busy machine, and the probe starts one per prober request).
 */
export const python = (() => {
  let exe: string | undefined;
  return (): string =>
    (exe ??= execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
      encoding: 'utf8',
    }).trim());
})();

/** <python> -S -c SCTP_RESPONDER <ports, comma-separated> */
export const SCTP_RESPONDER = `
import socket, struct, sys
${CRC32C}
ports = {int(p) for p in sys.argv[1].split(',')}
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132)
while True:
    d, a = s.recvfrom(65535)
    ihl = (d[0] & 15) * 4
    if len(d) < ihl + 16:
        continue
    sport, dport = struct.unpack('!HH', d[ihl:ihl + 4])
    if dport in ports and d[ihl + 12] == 1:
        tag = struct.unpack('!I', d[ihl + 16:ihl + 20])[0] if len(d) >= ihl + 20 else 0
        s.sendto(packet(dport, sport, tag, struct.pack('!BBH', 6, 0, 4)), (a[0], 0))
`;

/** <python> -S -c SCTP_PROBE <timeout ms> <source address or ''> <ip:port>...; prints one 0|1 per target. */
export const SCTP_PROBE = `
import socket, struct, sys, time, random
${CRC32C}
to = int(sys.argv[1]) / 1000
targets = [(t.rsplit(':', 1)[0], int(t.rsplit(':', 1)[1])) for t in sys.argv[3:]]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132)
if sys.argv[2]:
    s.bind((sys.argv[2], 0))
base = random.randint(20000, 60000 - len(targets))
want = {}
for i, (h, p) in enumerate(targets):
    want[(h, p, base + i)] = i
    init = struct.pack('!BBHIIHHI', 1, 0, 20, random.getrandbits(31) | 1, 65536, 1, 1, 1)
    s.sendto(packet(base + i, p, 0, init), (h, 0))
got = ['0'] * len(targets)
end = time.time() + to
s.settimeout(0.05)
while time.time() < end and '0' in got:
    try:
        d, a = s.recvfrom(65535)
    except socket.timeout:
        continue
    ihl = (d[0] & 15) * 4
    if len(d) < ihl + 4:
        continue
    sport, dport = struct.unpack('!HH', d[ihl:ihl + 4])
    i = want.get((a[0], sport, dport))
    if i is not None:
        got[i] = '1'
print(''.join(got))
`;

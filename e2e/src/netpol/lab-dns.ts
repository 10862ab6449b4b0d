// The policy lab's cluster DNS (docs/network-policy-cases.md, "Cluster DNS"), as source text run with `node -e`
// like the other lab programs: a responder for the kube-dns pod's namespace answering A queries for Service names
// from a fixed table over UDP and TCP 53, and the client half the probers use (one query, the answer's A record).
// DNS messages (RFC 1035 §4) only as far as this needs: one question, no EDNS, answers that point back to the
// question's name.

/**
 * <node> -e DNS_SERVER <name.namespace=ip,...> [port, default 53] [address, default all]: answers `<name>.<namespace>` and
 * `<name>.<namespace>.svc.cluster.local` (A: the address; other types: no records), NXDOMAIN for any other name.
 * A UDP datagram that is no query is echoed back (plain UDP probes of port 53 reach it too); over TCP each message
 * has its two-byte length in front.
 */
export const DNS_SERVER = `
const dg = require('dgram'), net = require('net');
const [table, port, host] = process.argv.slice(1);
const zone = new Map();
for (const e of table.split(',').filter(Boolean)) {
  const [n, ip] = e.split('=');
  zone.set(n, ip);
  zone.set(n + '.svc.cluster.local', ip);
}
const answer = (q) => {
  if (q.length < 12 || q[2] & 0x80 || q.readUInt16BE(4) !== 1) return;
  const labels = [];
  let o = 12;
  while (o < q.length && q[o] !== 0 && q[o] < 64) {
    labels.push(q.toString('latin1', o + 1, o + 1 + q[o]));
    o += 1 + q[o];
  }
  if (o + 5 > q.length || q[o] !== 0) return;
  const end = o + 5;
  const ip = zone.get(labels.join('.').toLowerCase());
  const a = ip !== undefined && q.readUInt16BE(o + 1) === 1 && q.readUInt16BE(o + 3) === 1;
  const h = Buffer.alloc(12);
  q.copy(h, 0, 0, 2);
  h[2] = 0x84 | (q[2] & 0x79);
  h[3] = ip === undefined ? 3 : 0;
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(a ? 1 : 0, 6);
  const rr = a ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, ...ip.split('.').map(Number)]) : Buffer.alloc(0);
  return Buffer.concat([h, q.subarray(12, end), rr]);
};
const u = dg.createSocket('udp4');
u.on('message', (m, r) => u.send(answer(m) ?? m, r.port, r.address));
u.bind(+(port || 53), host || undefined);
net.createServer((s) => {
  let buf = Buffer.alloc(0);
  s.on('error', () => s.destroy());
  s.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const r = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      buf = buf.subarray(2 + buf.readUInt16BE(0));
      if (!r) return s.destroy();
      const l = Buffer.alloc(2);
      l.writeUInt16BE(r.length);
      s.write(Buffer.concat([l, r]));
    }
  });
}).listen(+(port || 53), host || undefined);
`;

/**
 * Part of the prober (needs its `net`, `dg` and `la`): lookup(tcp, host, port, name, timeout ms) resolves to the
 * first A record of the answer to an A query for `name` (dotted), or undefined (no answer in time, an answer to
 * another query, an error code, no A record).
 */
export const DNS_CLIENT = `
const dnsQuery = (name) => {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(Math.floor(Math.random() * 65536), 0);
  h[2] = 1;
  h.writeUInt16BE(1, 4);
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  return Buffer.concat([h, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
};
const dnsA = (q, r) => {
  if (r.length < 12 || r.readUInt16BE(0) !== q.readUInt16BE(0) || !(r[2] & 0x80) || (r[3] & 15) !== 0) return;
  const skip = (o) => {
    while (o < r.length) {
      if (r[o] === 0) return o + 1;
      if ((r[o] & 0xc0) === 0xc0) return o + 2;
      o += 1 + r[o];
    }
    return r.length;
  };
  let o = 12;
  for (let i = 0; i < r.readUInt16BE(4); i++) o = skip(o) + 4;
  for (let i = 0; i < r.readUInt16BE(6); i++) {
    o = skip(o);
    if (o + 10 > r.length) return;
    const len = r.readUInt16BE(o + 8);
    if (r.readUInt16BE(o) === 1 && len === 4 && o + 14 <= r.length) return [...r.subarray(o + 10, o + 14)].join('.');
    o += 10 + len;
  }
};
const lookup = (tcp, h, p, name, to) => new Promise((res) => {
  const q = dnsQuery(name);
  let done = false;
  let s;
  const f = (v) => {
    if (done) return;
    done = true;
    clearTimeout(tm);
    try { tcp ? s.destroy() : s.close(); } catch {}
    res(v);
  };
  const tm = setTimeout(() => f(undefined), to);
  if (tcp) {
    s = net.connect({ host: h, port: p, localAddress: la });
    let buf = Buffer.alloc(0);
    s.on('connect', () => {
      const l = Buffer.alloc(2);
      l.writeUInt16BE(q.length);
      s.write(Buffer.concat([l, q]));
    });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) f(dnsA(q, buf.subarray(2, 2 + buf.readUInt16BE(0))));
    });
    s.on('error', () => f(undefined));
    s.on('close', () => f(undefined));
  } else {
    s = dg.createSocket('udp4');
    s.on('message', (m) => f(dnsA(q, m)));
    s.on('error', () => f(undefined));
    s.bind({ address: la }, () => s.connect(p, h, () => s.send(q)));
  }
});
`;

/* TC classifier of one direction of one pod (see ../README.md, "Datapath").
 * NPA_INGRESS = 1: handle_ingress, on the host veth's TC egress hook (traffic to the pod), remote = source.
 * NPA_INGRESS = 0: handle_egress, on the host veth's TC ingress hook (traffic from the pod), remote = dest.
 * Both match the destination port. */
#include "npa.h"
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>

#ifndef NPA_INGRESS
#error "NPA_INGRESS must be defined (0 or 1)"
#endif

#if NPA_INGRESS
#define NP_MAP ingress_map
#define CP_MAP cp_ingress_map
#define STATE_MAP ingress_pod_state_map
#define PROG_NAME handle_ingress
#else
#define NP_MAP egress_map
#define CP_MAP cp_egress_map
#define STATE_MAP egress_pod_state_map
#define PROG_NAME handle_egress
#endif

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct trie_key);
	__type(value, struct np_val);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} NP_MAP SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct trie_key);
	__type(value, struct cp_val);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} CP_MAP SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, 2);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} STATE_MAP SEC(".maps");

const volatile struct npa_meta npa_meta = { .file_version = 2 };

#define IPPROTO_ICMPV6_ 58
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_DEST 60
#define NEXTHDR_AUTH 51

enum verdict { V_PASS = 0, V_ALLOW = 1, V_DENY = 2 };

struct flow {
	struct ct_key k; /* the packet as seen (src → dst), owner = local pod, ifindex = host veth */
	__u8 *remote;
	__u32 len;
	/* The packet opens a flow and can answer none (a TCP SYN without ACK, an ICMP request): judged by policy
	 * even when conntrack holds its tuple or the reverse one (a reused source port, a ping the other way). */
	__u8 opens;
};

static __always_inline void emit(struct flow *f, __u32 verdict, __u8 tier)
{
	struct flow_event *ev = bpf_ringbuf_reserve(&policy_events, sizeof(*ev), 0);
	if (!ev)
		return;
	__builtin_memcpy(ev->src_ip, f->k.src_ip, NPA_ADDR_LEN);
	__builtin_memcpy(ev->dest_ip, f->k.dest_ip, NPA_ADDR_LEN);
	ev->src_port = f->k.src_port;
	ev->dest_port = f->k.dest_port;
	ev->protocol = f->k.protocol;
	ev->verdict = verdict;
	ev->packet_sz = f->len;
	ev->is_egress = NPA_INGRESS ? 0 : 1;
	ev->tier = tier;
	ev->pad[0] = 0;
	ev->pad[1] = 0;
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline void admit(struct flow *f, __u64 code)
{
	struct ct_val v = { .val = code, .last_seen = bpf_ktime_get_ns() };
	bpf_map_update_elem(&aws_conntrack_map, &f->k, &v, BPF_ANY);
}

static __always_inline struct trie_key remote_key(struct flow *f)
{
	struct trie_key k = { .prefixlen = NPA_HOST_PREFIX };
	__builtin_memcpy(k.addr, f->remote, NPA_ADDR_LEN);
	return k;
}

static __always_inline int np_lookup(struct flow *f, __u8 np)
{
	struct trie_key k = remote_key(f);
	struct np_val *v = bpf_map_lookup_elem(&NP_MAP, &k);
	if (!v)
		return np != POLICIES_APPLIED ? V_PASS : V_DENY;
	__u32 dport = f->k.dest_port;
	for (int i = 0; i < NPA_MAX_ENTRIES; i++) {
		struct np_entry *e = &v->e[i];
		if (e->protocol == 0)
			continue; /* unused entry: never matches (not even protocol 0) */
		if (e->protocol == NPA_PROTO_DENY)
			return V_DENY;
		if (e->protocol != NPA_PROTO_ANY && e->protocol != f->k.protocol)
			continue;
		if (e->start_port == 0 || dport == e->start_port ||
		    (e->start_port < dport && dport <= e->end_port))
			return V_ALLOW;
	}
	return V_DENY;
}

struct cp_result {
	__u32 admin_prio;
	__u32 admin_action;
	__u32 base_prio;
	__u32 base_action;
};

static __always_inline void cp_lookup(struct flow *f, struct cp_result *r)
{
	r->admin_prio = 0xffffffff;
	r->admin_action = CP_PASS;
	r->base_prio = 0xffffffff;
	r->base_action = CP_PASS;
	struct trie_key k = remote_key(f);
	struct cp_val *v = bpf_map_lookup_elem(&CP_MAP, &k);
	if (!v)
		return;
	__u32 dport = f->k.dest_port;
	for (int i = 0; i < NPA_MAX_ENTRIES; i++) {
		struct cp_entry *e = &v->e[i];
		if (e->protocol == 0)
			continue;
		if (e->protocol != NPA_PROTO_ANY) {
			if (e->protocol != f->k.protocol)
				continue;
			if (!(e->start_port == 0 || dport == e->start_port ||
			      (e->end_port > 0 && e->start_port <= dport && dport <= e->end_port)))
				continue;
		}
		__u32 p = e->priority / 10, a = e->priority % 10;
		if (p < r->admin_prio || (p == r->admin_prio && a < r->admin_action)) {
			r->admin_prio = p;
			r->admin_action = a;
		}
		if (p > 1000 && (p < r->base_prio || (p == r->base_prio && a < r->base_action))) {
			r->base_prio = p;
			r->base_action = a;
		}
	}
}

static __always_inline __u64 pair_code(__u8 np, __u8 cp)
{
	if (np == DEFAULT_DENY)
		return 7;
	__u64 base = np == DEFAULT_ALLOW ? 2 : 5;
	if (cp == DEFAULT_DENY)
		return base + 1;
	if (cp == POLICIES_APPLIED)
		return base + 2;
	return base;
}

static __always_inline int evaluate(struct flow *f, __u64 code, __u8 np)
{
	struct cp_result cp;
	cp_lookup(f, &cp);
	if (cp.admin_prio <= 1000) {
		if (cp.admin_action == CP_DENY) {
			emit(f, 0, TIER_ADMIN);
			return TC_ACT_SHOT;
		}
		if (cp.admin_action == CP_ACCEPT) {
			admit(f, code);
			emit(f, 1, TIER_ADMIN);
			return TC_ACT_OK;
		}
	}
	int v = np_lookup(f, np);
	if (v == V_ALLOW) {
		admit(f, code);
		emit(f, 1, TIER_NETWORK_POLICY);
		return TC_ACT_OK;
	}
	if (v == V_DENY) {
		emit(f, 0, TIER_NETWORK_POLICY);
		return TC_ACT_SHOT;
	}
	if (cp.base_action == CP_DENY) {
		emit(f, 0, TIER_BASELINE);
		return TC_ACT_SHOT;
	}
	if (cp.base_action == CP_ACCEPT) {
		admit(f, code);
		emit(f, 1, TIER_BASELINE);
		return TC_ACT_OK;
	}
	if (np == DEFAULT_ALLOW) {
		admit(f, code);
		emit(f, 1, TIER_DEFAULT);
		return TC_ACT_OK;
	}
	if (np == DEFAULT_DENY) {
		emit(f, 0, TIER_DEFAULT);
		return TC_ACT_SHOT;
	}
	return TC_ACT_SHOT;
}

/* Reads L4 ports (TCP, UDP and SCTP all start with source and destination port) at `off`. A packet too short
 * for them keeps ports 0, so only any-port entries can match it. */
static __always_inline void read_ports(struct __sk_buff *skb, __u32 off, struct flow *f)
{
	__u8 p = f->k.protocol;
	if (p == IPPROTO_ICMP) {
		/* Only replies (echo, timestamp, information, address mask) and errors (unreachable, time exceeded,
		 * parameter problem) answer a flow; every other type opens one. (ICMPv6 is never judged.) */
		__u8 type;
		if (bpf_skb_load_bytes(skb, off, &type, 1) < 0)
			return;
		if (type != 0 && type != 3 && type != 11 && type != 12 && type != 14 && type != 16 && type != 18)
			f->opens = 1;
		return;
	}
	if (p != IPPROTO_TCP && p != IPPROTO_UDP && p != IPPROTO_SCTP)
		return;
	__be16 ports[2];
	if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)) < 0)
		return;
	f->k.src_port = bpf_ntohs(ports[0]);
	f->k.dest_port = bpf_ntohs(ports[1]);
	if (p == IPPROTO_TCP) {
		__u8 flags; /* byte 13 of the TCP header: CWR ECE URG ACK PSH RST SYN FIN */
		if (bpf_skb_load_bytes(skb, off + 13, &flags, 1) == 0 && (flags & 0x12) == 0x02)
			f->opens = 1;
	}
}

/* Returns -1 for a frame this program does not judge (passed untouched), 0 when `f` is filled. */
static __always_inline int parse(struct __sk_buff *skb, struct flow *f)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return -1;
#if NPA_V6
	if (eth->h_proto != bpf_htons(ETH_P_IPV6))
		return -1;
	struct ipv6hdr ip;
	if (bpf_skb_load_bytes(skb, sizeof(*eth), &ip, sizeof(ip)) < 0)
		return -1;
	if (ip.version != 6)
		return -1;
	__builtin_memcpy(f->k.src_ip, &ip.saddr, 16);
	__builtin_memcpy(f->k.dest_ip, &ip.daddr, 16);
	__u8 nexthdr = ip.nexthdr;
	__u32 off = sizeof(*eth) + sizeof(ip);
	int fragmented = 0;
	/* Walk the common extension headers (bounded). */
	for (int i = 0; i < 6; i++) {
		if (nexthdr == NEXTHDR_HOP || nexthdr == NEXTHDR_ROUTING || nexthdr == NEXTHDR_DEST) {
			__u8 h[2];
			if (bpf_skb_load_bytes(skb, off, h, 2) < 0)
				break;
			nexthdr = h[0];
			off += ((__u32)h[1] + 1) * 8;
		} else if (nexthdr == NEXTHDR_AUTH) {
			__u8 h[2];
			if (bpf_skb_load_bytes(skb, off, h, 2) < 0)
				break;
			nexthdr = h[0];
			off += ((__u32)h[1] + 2) * 4;
		} else if (nexthdr == NEXTHDR_FRAGMENT) {
			__u8 h[4];
			if (bpf_skb_load_bytes(skb, off, h, 4) < 0)
				break;
			nexthdr = h[0];
			/* fragment offset: upper 13 bits of bytes 2..3 */
			if (((((__u16)h[2]) << 8 | h[3]) & 0xfff8) != 0)
				fragmented = 1;
			off += 8;
		} else {
			break;
		}
	}
	if (nexthdr == IPPROTO_ICMPV6_)
		return -1; /* neighbour discovery (and echo) is never filtered */
	f->k.protocol = nexthdr;
	if (!fragmented)
		read_ports(skb, off, f);
#else
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	struct iphdr ip;
	if (bpf_skb_load_bytes(skb, sizeof(*eth), &ip, sizeof(ip)) < 0)
		return -1;
	if (ip.version != 4 || ip.ihl < 5)
		return -1;
	__builtin_memcpy(f->k.src_ip, &ip.saddr, 4);
	__builtin_memcpy(f->k.dest_ip, &ip.daddr, 4);
	f->k.protocol = ip.protocol;
	/* Honour IHL (options shift the L4 header); a non-first fragment has no L4 header: ports stay 0. */
	if ((bpf_ntohs(ip.frag_off) & 0x1fff) == 0)
		read_ports(skb, sizeof(*eth) + ip.ihl * 4, f);
#endif
	return 0;
}

/* Stamps last_seen at most once per millisecond: both directions of a flow hit the same entry from different
 * CPUs, and a write per packet would bounce its cache line between them. GC compares last_seen with the start
 * of its sweep, so a millisecond of granularity changes nothing there. */
static __always_inline void touch(struct ct_val *e)
{
	__u64 now = bpf_ktime_get_ns();
	if (now - e->last_seen > 1000000)
		e->last_seen = now;
}

SEC("tc")
int PROG_NAME(struct __sk_buff *skb)
{
	if (npa_meta.file_version == 0)
		return TC_ACT_OK;
	struct flow f;
	__builtin_memset(&f, 0, sizeof(f));
	if (parse(skb, &f) < 0)
		return TC_ACT_OK;
	f.len = skb->len;
	f.k.ifindex = skb->ifindex;
#if NPA_INGRESS
	__builtin_memcpy(f.k.owner_ip, f.k.dest_ip, NPA_ADDR_LEN);
	f.remote = f.k.src_ip;
#else
	__builtin_memcpy(f.k.owner_ip, f.k.src_ip, NPA_ADDR_LEN);
	f.remote = f.k.dest_ip;
#endif

	__u32 k0 = 0, k1 = 1;
	__u8 *nps = bpf_map_lookup_elem(&STATE_MAP, &k0);
	__u8 *cps = bpf_map_lookup_elem(&STATE_MAP, &k1);
	if (!nps || !cps) {
		emit(&f, 0, TIER_ERROR);
		return TC_ACT_SHOT;
	}
	__u8 np = *nps, cpst = *cps;
	__u64 code = pair_code(np, cpst);

	if (f.opens) {
		int r = evaluate(&f, code, np);
		if (r == TC_ACT_SHOT)
			bpf_map_delete_elem(&aws_conntrack_map, &f.k); /* a stale entry of an earlier flow on this tuple */
		return r;
	}

	struct ct_val *e = bpf_map_lookup_elem(&aws_conntrack_map, &f.k);
	if (e) {
		if (e->val == code) {
			touch(e);
			return TC_ACT_OK;
		}
		/* The pod's state changed since this flow was admitted: judge it again. */
		int r = evaluate(&f, code, np);
		if (r == TC_ACT_SHOT)
			bpf_map_delete_elem(&aws_conntrack_map, &f.k);
		return r;
	}

	struct ct_key rk;
	__builtin_memset(&rk, 0, sizeof(rk));
	__builtin_memcpy(rk.src_ip, f.k.dest_ip, NPA_ADDR_LEN);
	__builtin_memcpy(rk.dest_ip, f.k.src_ip, NPA_ADDR_LEN);
	rk.src_port = f.k.dest_port;
	rk.dest_port = f.k.src_port;
	rk.protocol = f.k.protocol;
	__builtin_memcpy(rk.owner_ip, f.k.owner_ip, NPA_ADDR_LEN);
	rk.ifindex = f.k.ifindex;
	struct ct_val *re = bpf_map_lookup_elem(&aws_conntrack_map, &rk);
	if (re) {
		touch(re);
		return TC_ACT_OK;
	}
	return evaluate(&f, code, np);
}

char LICENSE[] SEC("license") = "GPL";

/* Shared definitions of the network policy datapath objects (see ../README.md, "Datapath").
 * Compiled with NPA_V6 = 0 (IPv4) or 1 (IPv6). Every layout here is mirrored in src/datapath/layout.ts, and
 * the loader asserts the sizes it sees in the object's BTF against that file. */
#ifndef NPA_H
#define NPA_H

#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#ifndef NPA_V6
#error "NPA_V6 must be defined (0 or 1)"
#endif

#define NPA_MAX_ENTRIES 24
#define NPA_PROTO_ANY 254
#define NPA_PROTO_DENY 255

enum pod_state { POLICIES_APPLIED = 0, DEFAULT_ALLOW = 1, DEFAULT_DENY = 2 };
enum tier { TIER_ERROR = 0, TIER_ADMIN = 1, TIER_NETWORK_POLICY = 2, TIER_BASELINE = 3, TIER_DEFAULT = 4 };
enum cp_action { CP_DENY = 0, CP_ACCEPT = 1, CP_PASS = 2 };

#if NPA_V6
#define NPA_ADDR_LEN 16
#define NPA_HOST_PREFIX 128
#else
#define NPA_ADDR_LEN 4
#define NPA_HOST_PREFIX 32
#endif

struct trie_key {
	__u32 prefixlen;
	__u8 addr[NPA_ADDR_LEN];
};

struct np_entry {
	__u32 protocol;
	__u32 start_port;
	__u32 end_port;
};

struct np_val {
	struct np_entry e[NPA_MAX_ENTRIES];
};

struct cp_entry {
	__u32 protocol;
	__u32 priority; /* effective priority * 10 + action */
	__u32 start_port;
	__u32 end_port;
};

struct cp_val {
	struct cp_entry e[NPA_MAX_ENTRIES];
};

/* Conntrack key: padding must be zero (userspace builds the same bytes). */
struct ct_key {
	__u8 src_ip[NPA_ADDR_LEN];
	__u16 src_port;
	__u16 pad1;
	__u8 dest_ip[NPA_ADDR_LEN];
	__u16 dest_port;
	__u8 protocol;
	__u8 pad2;
	__u8 owner_ip[NPA_ADDR_LEN];
	__u32 ifindex;
};

struct ct_val {
	__u64 val;       /* pod state pair code */
	__u64 last_seen; /* CLOCK_MONOTONIC ns of the last datapath hit */
};

struct flow_event {
	__u8 src_ip[NPA_ADDR_LEN];
	__u32 src_port;
	__u8 dest_ip[NPA_ADDR_LEN];
	__u32 dest_port;
	__u32 protocol;
	__u32 verdict; /* 0 deny, 1 accept */
	__u32 packet_sz;
	__u8 is_egress;
	__u8 tier;
	__u8 pad[2];
};

/* Global maps: declared in the events object and in both TC objects; the loader pins them once under
 * maps/global_<name> and every TC object reuses those pins. max_entries of the conntrack map is set at load. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct ct_key);
	__type(value, struct ct_val);
	__uint(max_entries, 524288);
} aws_conntrack_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 524288);
} policy_events SEC(".maps");

/* Read-only metadata the loader fills before load: the object's content hash lets a restarted agent tell
 * whether a pinned program came from the same object file (adopt) or an older one (replace). */
struct npa_meta {
	__u8 obj_hash[32];
	__u32 file_version;
	__u32 pad;
};

#endif

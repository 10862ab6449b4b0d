/* A to-pod program the verifier must refuse (unchecked packet access), with the real object's maps: used by
 * datapath-errors.kernel.test.ts to check that a load failure carries the verifier's log and leaves no pins. */
#include "npa.h"
#include <linux/pkt_cls.h>

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct trie_key);
	__type(value, struct np_val);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} ingress_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct trie_key);
	__type(value, struct cp_val);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} cp_ingress_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, 2);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} ingress_pod_state_map SEC(".maps");

const volatile struct npa_meta npa_meta = { .file_version = 2 };

SEC("tc")
int handle_ingress(struct __sk_buff *skb)
{
	if (npa_meta.file_version == 0)
		return TC_ACT_OK;
	__u32 *p = (void *)(long)skb->data;
	return p[25] == 7 ? TC_ACT_SHOT : TC_ACT_OK; /* no bounds check: refused */
}

char LICENSE[] SEC("license") = "GPL";

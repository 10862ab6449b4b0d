/* The node's global maps (conntrack LRU and flow-event ring buffer), loaded and pinned once per node
 * (see ../README.md, "Datapath"). No program. */
#include "npa.h"

char LICENSE[] SEC("license") = "GPL";

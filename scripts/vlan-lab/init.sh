#!/bb/busybox sh
# VLAN lab guest init (PID 1 of the QEMU guest; see scripts/vlan-lab/README.md). Mounts the kernel filesystems,
# loads the modules, mounts the lab share (tag "lab", writable), runs its run.sh with output to guest.log, and
# hands run.sh's exit code to QEMU through isa-debug-exit (QEMU exits with 2*rc+1; a panic exits 0).
B=/bb/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
$B mount -t tmpfs tmpfs /run
$B mount -t tmpfs tmpfs /tmp
$B --install -s /bb
echo "vlan-lab: init $($B cut -d' ' -f1 /proc/uptime)"
for m in /lab/mod/*.ko; do
  $B insmod "$m" || echo "vlan-lab: insmod $m failed"
done
rc=70
if $B mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 lab /lab/out; then
  echo "vlan-lab: run $($B cut -d' ' -f1 /proc/uptime)"
  $B sh /lab/out/run.sh >/lab/out/guest.log 2>&1
  rc=$?
  echo "vlan-lab: done rc=$rc $($B cut -d' ' -f1 /proc/uptime)"
  # 9p loses the end of files without this
  $B sync
  $B umount /lab/out
else
  echo "vlan-lab: cannot mount the lab share"
fi
[ "$rc" -gt 127 ] && rc=127
$B printf "\\$($B printf %o "$rc")" | $B dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
$B poweroff -f

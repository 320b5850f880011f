#!/bin/busybox sh
# /init of the kup test guest's initramfs (busybox, PID 1). Built into the initramfs by guest.sh.
#
# 1. proc/sys/dev, then the virtio, 9p and overlay modules from the initramfs;
# 2. a tmpfs root at /newroot with the host's /usr, /etc and /var (read-only 9p) under overlays
#    whose upper layers live in tmpfs; /proc /sys /dev /run /tmp; the guest kernel's module tree
#    at /usr/lib/modules; /xchg (read-write) and the other shares (read-only) at their host paths;
# 3. switch_root to /newroot and exec /run/kup-guest/stage2 (copied from here) as the new PID 1.
# Any failure powers the guest off at once, so the host does not wait for its timeout.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

uptime_s() { cut -d' ' -f1 /proc/uptime; }
say() { echo "kup-guest: $*"; }
fail() {
    say "FATAL: $*"
    poweroff -f
    sleep 60
}

say "kernel up at $(uptime_s)s"
MODE=run
SHARES=
for arg in $(cat /proc/cmdline); do
    case $arg in
        kup.mode=*) MODE=${arg#kup.mode=} ;;
        kup.share=*) SHARES="$SHARES ${arg#kup.share=}" ;;
    esac
done

for m in virtio_pci virtio_rng 9pnet_virtio 9p overlay; do
    modprobe "$m" || fail "modprobe $m"
done
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

P9=trans=virtio,version=9p2000.L,msize=512000
R=/newroot
mount -t tmpfs -o mode=755 root $R || fail "tmpfs root"
mount -t tmpfs -o mode=700 overlays /rw || fail "tmpfs /rw"

# the host's /usr /etc /var: read-only lower layer, tmpfs upper layer
LATER=
for share in $SHARES; do
    tag=${share%%:*}
    path=${share#*:}
    case $path in
        /usr | /etc | /var)
            d=${path#/}
            mkdir -p /rw/lower/$d /rw/upper/$d /rw/work/$d $R/$d
            mount -t 9p -o $P9,ro,cache=loose "$tag" /rw/lower/$d || fail "9p mount of $path"
            mount -t overlay overlay -o lowerdir=/rw/lower/$d,upperdir=/rw/upper/$d,workdir=/rw/work/$d $R/$d ||
                fail "overlay on $path"
            ;;
        *) LATER="$LATER $share" ;;
    esac
done

# merged-/usr layout of Debian 12: /bin -> usr/bin and so on
for l in bin sbin lib lib64; do
    [ -e $R/usr/$l ] && ln -s usr/$l $R/$l
done
mkdir -p $R/proc $R/sys $R/dev $R/run $R/tmp $R/root $R/home $R/mnt $R/srv $R/xchg
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs -o mode=1777 shm $R/dev/shm
mount -t tmpfs -o mode=755 run $R/run
mkdir -p $R/run/lock $R/run/kup-guest
mount -t tmpfs -o mode=1777 tmp $R/tmp
mount -t tmpfs -o mode=700 roothome $R/root
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup 2>/dev/null

# the guest kernel's modules (autoloading and modprobe after switch_root use these)
mkdir -p $R/usr/lib/modules
mount -t 9p -o $P9,ro,cache=loose modules $R/usr/lib/modules || fail "9p mount of the module tree"

if [ "$MODE" = run ]; then
    mount -t 9p -o $P9,cache=none xchg $R/xchg || fail "9p mount of /xchg"
fi

# the other shares last, so that /run, /tmp, /root cannot hide them
for share in $LATER; do
    tag=${share%%:*}
    path=${share#*:}
    mkdir -p "$R$path"
    mount -t 9p -o $P9,ro,cache=loose "$tag" "$R$path" || fail "9p mount of $path"
done

hostname guest
cp /bin/busybox $R/run/kup-guest/busybox
cp /stage2 $R/run/kup-guest/stage2
say "root ready at $(uptime_s)s"
umount /proc /sys
umount /dev 2>/dev/null
exec switch_root $R /run/kup-guest/stage2 "$MODE"

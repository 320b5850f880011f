#!/bin/bash
# guest.sh: kup's QEMU test guest. Debian's own kernel (with the cifs, nfsv4, nfsd, dns_resolver
# and rpcsec_gss_krb5 modules) booted under QEMU TCG on the host's own userland, running one
# script as root and handing back its output and exit status.
#
# Usage:
#   guest.sh check                      verify the host tools are installed (exit 3 if not)
#   guest.sh kver                       print the kernel ABI the guest uses
#   guest.sh build                      build or refresh the cached kernel + initramfs (idempotent)
#   guest.sh run [-t SECS] SCRIPT [ARG...]
#                                       build, boot, run SCRIPT with bash in the guest, print its
#                                       output; exit status = the script's (124: timed out,
#                                       99: the guest died without an exit status)
#   guest.sh shell                      interactive console (host userland, guest kernel)
#   guest.sh boot RUNDIR SECS           low level, used by kup-testkit's guest.rs: boot once with
#                                       RUNDIR/xchg prepared by the caller (RUNDIR/xchg/.kup/script),
#                                       console to RUNDIR/console.log. The caller holds the boot lock.
#
# What the guest looks like:
#   - no NIC at all (only the guest's own loopback);
#   - /usr, /etc, /var: the host's, read-only over virtio-9p, each under an overlay with a tmpfs
#     upper layer (the guest may rewrite /etc; nothing reaches the host);
#   - /usr/lib/modules: the guest kernel's modules (read-only 9p), so modprobe works;
#   - the checkout (incl. target/) and every KUP_GUEST_SHARES entry: read-only at its host path;
#   - /xchg: read-write exchange directory (the caller's RUNDIR/xchg); the script runs there;
#   - the root is switched with switch_root (not chroot): the kernel runs usermode helpers
#     (/sbin/request-key, /sbin/modprobe) relative to PID 1's root.
#
# Environment:
#   KUP_GUEST_WORK     cache + run directories (default /var/tmp/kup-guest)
#   KUP_GUEST_KVER     Debian kernel ABI, e.g. 6.1.0-56-amd64 (default: what linux-image-amd64
#                      depends on, resolved with apt-cache at build time)
#   KUP_GUEST_MEM      guest RAM in MiB (default 2048)   KUP_GUEST_SMP  vCPUs (default 2)
#   KUP_GUEST_SHARES   colon-separated host dirs shared read-only at the same path
#                      (default: the checkout this script lives in)
#   KUP_GUEST_TIMEOUT  seconds for `run` (default 300)
#   KUP_GUEST_APPEND   extra kernel command line
#   KUP_GUEST_LOCK_WAIT  seconds to wait for another build or guest to finish (default 1800)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CHECKOUT=$(cd "$HERE/../.." && pwd)
WORK=${KUP_GUEST_WORK:-/var/tmp/kup-guest}
MEM=${KUP_GUEST_MEM:-2048}
SMP=${KUP_GUEST_SMP:-2}
SHARES=${KUP_GUEST_SHARES:-$CHECKOUT}
LOCK_WAIT=${KUP_GUEST_LOCK_WAIT:-1800}

# Modules that go into the initramfs (with their dependencies): what /init needs to reach the
# host userland. Everything else is loaded after switch_root from the 9p module tree.
INITRD_MODULES="virtio_pci virtio_rng 9pnet_virtio 9p overlay"
# Directories of the kernel package extracted for the guest's module tree.
MODULE_DIRS="fs net crypto lib arch drivers/virtio drivers/char drivers/block"

log() { printf '[kup-guest %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---- prerequisites -----------------------------------------------------------------------------
cmd_check() {
    local missing=() c
    command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
    # must be the static build: the initramfs has no libc
    if [ ! -x /bin/busybox ] || ! dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; then
        missing+=(busybox-static)
    fi
    command -v cpio >/dev/null || missing+=(cpio)
    { command -v depmod && command -v modprobe; } >/dev/null || missing+=(kmod)
    for c in apt-get apt-cache dpkg-deb flock timeout gzip sha256sum; do
        command -v "$c" >/dev/null || die "required host command '$c' not found"
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "error: missing host packages: ${missing[*]}"
        log "install them with: apt-get install --no-install-recommends ${missing[*]}"
        log "(CI installs them from .ci/packages.d/guest.txt)"
        exit 3
    fi
}

# ---- kernel ABI ---------------------------------------------------------------------------------
resolve_kver() {
    if [ -n "${KUP_GUEST_KVER:-}" ]; then echo "$KUP_GUEST_KVER"; return; fi
    local kv
    kv=$(apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' | head -1)
    if [ -z "$kv" ] && [ "$(id -u)" = 0 ]; then
        log "linux-image-amd64 unknown to apt-cache; running apt-get update"
        apt-get update -qq >&2 || true
        kv=$(apt-cache depends linux-image-amd64 2>/dev/null |
            sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' | head -1)
    fi
    if [ -z "$kv" ] && [ -s "$WORK/current" ]; then
        kv=$(cat "$WORK/current")
        log "warning: apt-cache does not know linux-image-amd64; reusing the cached kernel $kv"
    fi
    [ -n "$kv" ] || die "cannot resolve the kernel ABI from linux-image-amd64 (run apt-get update, or set KUP_GUEST_KVER)"
    echo "$kv"
}

# ---- build ----------------------------------------------------------------------------------------
# Layout of $WORK:
#   build.lock boot.lock          flock(1) locks: one build at a time, one guest at a time
#   kernel/$KV/vmlinuz            the kernel
#   kernel/$KV/lib/modules/$KV/   extracted module tree (shared with the guest), .complete marker
#   initrd-$KV.gz + .stamp        initramfs; the stamp hashes every input, so edits rebuild it
#   current                       the ABI of the last build (read by `boot`)
#   runs/<id>/                    one directory per boot: xchg/ (shared), console.log
build_kernel() {
    local kv=$1 kdir=$WORK/kernel/$1
    [ -f "$kdir/.complete" ] && return 0
    rm -rf "$kdir" "$WORK/dl"
    mkdir -p "$WORK/dl" "$kdir"
    log "downloading linux-image-$kv (apt-get download)"
    if ! (cd "$WORK/dl" && apt-get download "linux-image-$kv" >/dev/null 2>"$WORK/dl/apt.err"); then
        if [ "$(id -u)" = 0 ]; then
            apt-get update -qq >&2 || true
            (cd "$WORK/dl" && apt-get download "linux-image-$kv" >/dev/null 2>"$WORK/dl/apt.err") ||
                die "apt-get download linux-image-$kv failed: $(cat "$WORK/dl/apt.err")"
        else
            die "apt-get download linux-image-$kv failed: $(cat "$WORK/dl/apt.err")"
        fi
    fi
    local deb d pats=()
    deb=$(ls "$WORK"/dl/linux-image-"$kv"_*.deb)
    pats=("./boot/vmlinuz-$kv" "./lib/modules/$kv/modules.*")
    for d in $MODULE_DIRS; do pats+=("./lib/modules/$kv/kernel/$d/*"); done
    log "extracting vmlinuz and modules ($MODULE_DIRS)"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kdir" --wildcards "${pats[@]}"
    mv "$kdir/boot/vmlinuz-$kv" "$kdir/vmlinuz"
    rmdir "$kdir/boot"
    depmod -b "$kdir" "$kv"
    extract_vmlinux "$kdir"
    rm -rf "$WORK/dl"
    touch "$kdir/.complete"
}

# Under TCG the bzImage's own decompressor takes ~2 s of every boot. QEMU can boot the
# uncompressed ELF kernel directly through its PVH entry point (Debian's kernel has one), so
# decompress it once here. Falls back to the bzImage when the payload is not xz.
extract_vmlinux() {
    local kdir=$1 off
    off=$(LC_ALL=C grep -obUaP -m1 '\xfd7zXZ\x00' "$kdir/vmlinuz" | head -1 | cut -d: -f1 || true)
    if [ -n "$off" ] && command -v xz >/dev/null; then
        tail -c +$((off + 1)) "$kdir/vmlinuz" | xz -dcq >"$kdir/vmlinux.tmp" 2>/dev/null || true
        if [ "$(head -c 4 "$kdir/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
            mv "$kdir/vmlinux.tmp" "$kdir/vmlinux"
            return 0
        fi
    fi
    rm -f "$kdir/vmlinux.tmp"
    log "note: could not decompress vmlinuz; booting the bzImage (about 2 s slower per boot)"
}

initrd_stamp() {
    { echo "$1"; echo "$INITRD_MODULES"; cat "$HERE/guest.sh" "$HERE/init.sh" "$HERE/stage2.sh" /bin/busybox; } |
        sha256sum | cut -d' ' -f1
}

build_initrd() {
    local kv=$1 kdir=$WORK/kernel/$1 stamp
    stamp=$(initrd_stamp "$kv")
    [ -f "$WORK/initrd-$kv.gz" ] && [ "$(cat "$WORK/initrd-$kv.stamp" 2>/dev/null)" = "$stamp" ] && return 0
    log "building the initramfs"
    local ird=$WORK/initrd.tmp m f rel
    rm -rf "$ird"
    mkdir -p "$ird"/{bin,dev,proc,sys,run,newroot,rw} "$ird/lib/modules/$kv"
    cp /bin/busybox "$ird/bin/busybox"
    for m in $INITRD_MODULES; do
        modprobe -d "$kdir" -S "$kv" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
    done | sort -u | while read -r f; do
        rel=${f#"$kdir"/}
        mkdir -p "$ird/$(dirname "$rel")"
        cp "$f" "$ird/$rel"
    done
    cp "$kdir/lib/modules/$kv"/modules.{order,builtin,builtin.modinfo} "$ird/lib/modules/$kv/"
    depmod -b "$ird" "$kv"
    install -m 755 "$HERE/init.sh" "$ird/init"
    install -m 755 "$HERE/stage2.sh" "$ird/stage2"
    (cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd-$kv.gz.tmp"
    mv "$WORK/initrd-$kv.gz.tmp" "$WORK/initrd-$kv.gz"
    echo "$stamp" >"$WORK/initrd-$kv.stamp"
    rm -rf "$ird"
}

cmd_build() {
    cmd_check
    mkdir -p "$WORK"
    local kv
    kv=$(resolve_kver)
    exec 8>"$WORK/build.lock"
    flock -w "$LOCK_WAIT" 8 || die "another build holds $WORK/build.lock for more than ${LOCK_WAIT}s"
    build_kernel "$kv"
    build_initrd "$kv"
    echo "$kv" >"$WORK/current.tmp.$$"
    mv "$WORK/current.tmp.$$" "$WORK/current"
    # drop kernels of older ABIs, unless a guest is running right now
    exec 9>"$WORK/boot.lock"
    if flock -n 9; then
        local old
        for old in "$WORK"/kernel/*; do
            if [ -d "$old" ] && [ "${old##*/}" != "$kv" ]; then
                log "removing stale kernel ${old##*/}"
                rm -rf "$old" "$WORK/initrd-${old##*/}".*
            fi
        done
    fi
    exec 9>&- 8>&-
    echo "$kv"
}

# ---- boot -------------------------------------------------------------------------------------------
# qemu_args MODE RUNDIR: prints nothing, fills the QEMU_ARGS array
qemu_args() {
    local mode=$1 run=$2 kv kdir
    kv=${KUP_GUEST_KVER:-$(cat "$WORK/current" 2>/dev/null || true)}
    kdir=$WORK/kernel/$kv
    [ -n "$kv" ] && [ -f "$kdir/.complete" ] && [ -f "$WORK/initrd-$kv.gz" ] ||
        die "no guest kernel built in $WORK (run: $0 build)"
    local kernel=$kdir/vmlinux
    [ -f "$kernel" ] || kernel=$kdir/vmlinuz
    QEMU_ARGS=(-accel tcg,thread=multi -m "$MEM" -smp "$SMP" -nodefaults -no-user-config -no-reboot
        -nic none -kernel "$kernel" -initrd "$WORK/initrd-$kv.gz" -device virtio-rng-pci)
    local i=0 s cmdline="console=ttyS0 panic=-1 quiet kup.mode=$mode"
    local IFS_SAVE=$IFS
    IFS=:
    local all=(/usr /etc /var)
    for s in $SHARES; do [ -n "$s" ] && all+=("$s"); done
    IFS=$IFS_SAVE
    for s in "${all[@]}"; do
        case $s in
            /*) ;;
            *) die "share '$s' is not an absolute path" ;;
        esac
        case $s in
            *[[:space:],=\"]*) die "share '$s' contains a character the kernel command line cannot carry" ;;
        esac
        [ -d "$s" ] || die "share '$s' is not a directory"
        QEMU_ARGS+=(-fsdev "local,id=fs$i,path=$s,security_model=none,readonly=on,multidevs=remap"
            -device "virtio-9p-pci,fsdev=fs$i,mount_tag=s$i")
        cmdline+=" kup.share=s$i:$s"
        i=$((i + 1))
    done
    QEMU_ARGS+=(-fsdev "local,id=fsmod,path=$kdir/lib/modules,security_model=none,readonly=on"
        -device "virtio-9p-pci,fsdev=fsmod,mount_tag=modules")
    if [ "$mode" = run ]; then
        QEMU_ARGS+=(-fsdev "local,id=fsx,path=$run/xchg,security_model=none,multidevs=remap"
            -device "virtio-9p-pci,fsdev=fsx,mount_tag=xchg")
    fi
    QEMU_ARGS+=(-append "$cmdline ${KUP_GUEST_APPEND:-}")
}

# boot RUNDIR SECS: exit status is QEMU's (124 when the timeout killed it)
cmd_boot() {
    local run=$1 secs=$2
    [ -f "$run/xchg/.kup/script" ] || die "$run/xchg/.kup/script missing"
    qemu_args run "$run"
    : >"$run/console.log"
    exec timeout -k 5 "$secs" qemu-system-x86_64 "${QEMU_ARGS[@]}" -display none \
        -serial "file:$run/console.log"
}

new_rundir() {
    mkdir -p "$WORK/runs"
    find "$WORK/runs" -mindepth 1 -maxdepth 1 -type d -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
    mktemp -d "$WORK/runs/$(date +%Y%m%d-%H%M%S)-sh-XXXXXX"
}

cmd_run() {
    local secs=${KUP_GUEST_TIMEOUT:-300}
    if [ "${1:-}" = -t ]; then secs=$2; shift 2; fi
    [ $# -ge 1 ] || { echo "usage: $0 run [-t SECS] SCRIPT [ARG...]" >&2; exit 2; }
    local script=$1; shift
    [ -f "$script" ] || die "no such script: $script"
    cmd_build >/dev/null
    local run
    run=$(new_rundir)
    mkdir -p "$run/xchg/.kup"
    cp "$script" "$run/xchg/.kup/script"
    printf 'export KUP_CHECKOUT=%q\n' "$CHECKOUT" >"$run/xchg/.kup/env"
    if [ $# -gt 0 ]; then printf '%s\0' "$@" >"$run/xchg/.kup/args"; else : >"$run/xchg/.kup/args"; fi
    exec 9>"$WORK/boot.lock"
    flock -w "$LOCK_WAIT" 9 || die "another guest holds $WORK/boot.lock for more than ${LOCK_WAIT}s"
    log "booting (TCG, $SMP vCPU, $MEM MiB, timeout ${secs}s), run dir $run"
    local rc=0 t0=$SECONDS
    (cmd_boot "$run" "$secs") || rc=$?
    flock -u 9
    [ -f "$run/xchg/.kup/output" ] && cat "$run/xchg/.kup/output"
    if [ -f "$run/xchg/.kup/rc" ]; then
        rc=$(cat "$run/xchg/.kup/rc")
    else
        if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then log "timed out after ${secs}s"; rc=124; else
            log "the guest died without an exit status (qemu exit $rc)"; rc=99; fi
        log "last console lines ($run/console.log):"
        tail -n 40 "$run/console.log" >&2
    fi
    log "done in $((SECONDS - t0))s, status $rc"
    exit "$rc"
}

cmd_shell() {
    cmd_build >/dev/null
    exec 9>"$WORK/boot.lock"
    flock -w "$LOCK_WAIT" 9 || die "another guest holds $WORK/boot.lock for more than ${LOCK_WAIT}s"
    qemu_args shell ""
    qemu-system-x86_64 "${QEMU_ARGS[@]}" -display none -serial mon:stdio
}

case "${1:-}" in
    check) cmd_check ;;
    kver) resolve_kver ;;
    build) cmd_build ;;
    boot) [ $# -eq 3 ] || { echo "usage: $0 boot RUNDIR SECS" >&2; exit 2; }; cmd_boot "$2" "$3" ;;
    run) shift; cmd_run "$@" ;;
    shell) cmd_shell ;;
    *) sed -n '2,40p' "$0" >&2; exit 2 ;;
esac

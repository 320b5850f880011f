#!/bin/bash
# PID 1 of the kup test guest after switch_root (the host's bash on the guest kernel).
# init.sh copies this file and a static busybox to /run/kup-guest/.
#
# run mode: runs /xchg/.kup/script with bash as root in /xchg, with a clean environment
# (PATH, HOME=/root, KUP_GUEST=1, KUP_XCHG=/xchg, plus the exports in /xchg/.kup/env), its own
# session keyring, and the NUL-separated arguments in /xchg/.kup/args. Output (stdout and
# stderr) goes to /xchg/.kup/output, the kernel log to /xchg/.kup/dmesg, the exit status to
# /xchg/.kup/rc.
# shell mode: an interactive login shell on the console.
# Either way the guest then powers off.
BB=/run/kup-guest/busybox
MODE=${1:-run}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
up() {
    local u _
    read -r u _ </proc/uptime
    echo "$u"
}
echo "kup-guest: root switched at $(up)s"

if [ "$MODE" = run ]; then
    K=/xchg/.kup
    args=()
    if [ -s $K/args ]; then mapfile -d '' -t args <$K/args; fi
    cd /xchg || exit 1
    # Like a PAM login, the script gets its own session keyring ("kup-guest"), so that keys
    # requested into @s are linked there and possessed by the script's later commands. keyctl
    # announces the join on stderr before it execs: that line goes to .kup/session, not into the
    # script's output.
    session=()
    if command -v keyctl >/dev/null; then session=(keyctl session kup-guest); fi
    # shellcheck disable=SC2016 # expanded by the inner bash
    env -i HOME=/root TERM=dumb LANG=C.UTF-8 PATH="$PATH" KUP_GUEST=1 KUP_XCHG=/xchg \
        "${session[@]}" /bin/bash -c 'exec >/xchg/.kup/output 2>&1 && . /xchg/.kup/env &&
            exec /bin/bash /xchg/.kup/script "$@"' kup-guest-script "${args[@]}" \
        >$K/session 2>&1 </dev/null
    rc=$?
    echo "kup-guest: script finished at $(up)s, status $rc"
    $BB dmesg >$K/dmesg 2>&1
    echo "$rc" >$K/rc
else
    echo "kup-guest: interactive shell (host userland, guest kernel $(uname -r)); exit powers off"
    $BB setsid $BB cttyhack /bin/bash -l
fi
sync
$BB poweroff -f

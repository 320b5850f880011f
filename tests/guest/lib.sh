# lib.sh: shell helpers for scripts that run inside the kup test guest. Source it with
#   . "$KUP_CHECKOUT/tests/guest/lib.sh"
# (the harness exports KUP_CHECKOUT; the checkout is shared read-only at its host path).
# Everything here changes only the guest: /etc and /usr are tmpfs overlays there.

# kup_rules LINE...
#   Replaces the guest's request-key rules: removes every /etc/request-key.d/*.conf (the packaged
#   ones and the host test dispatcher's) and writes LINEs to /etc/request-key.d/kup-guest.conf.
#   Rules there beat the stock lines of /etc/request-key.conf.
kup_rules() {
    rm -f /etc/request-key.d/*.conf
    printf '%s\n' "$@" >/etc/request-key.d/kup-guest.conf
}

# kup_helper NAME SECS COMMAND [ARG...]
#   Writes /usr/local/sbin/NAME, a wrapper that runs COMMAND ARG... plus the arguments
#   request-key gives it, killed after SECS seconds (a hung helper would otherwise block the
#   requester until the guest's timeout), and appends one line per call to $KUP_XCHG/upcalls.log:
#   "NAME rc=STATUS argv=ARGS". Prints the wrapper's path, for use in a rule:
#     h=$(kup_helper nfsidmap 20 /usr/sbin/nfsidmap -t 600)
#     kup_rules "create id_resolver * * $h %k %d"
kup_helper() {
    local name=$1 secs=$2 path=/usr/local/sbin/$1
    shift 2
    mkdir -p /usr/local/sbin
    {
        echo '#!/bin/bash'
        printf 'name=%q secs=%q cmd=(%s)\n' "$name" "$secs" "$(printf '%q ' "$@")"
        cat <<'EOS'
timeout -k 2 "$secs" "${cmd[@]}" "$@"
rc=$?
echo "$name rc=$rc argv=$*" >>/xchg/upcalls.log
exit "$rc"
EOS
    } >"$path"
    chmod 755 "$path"
    echo "$path"
}

# kup_request TYPE DESCRIPTION [CALLOUT]
#   request_key(2) with a callout (so the kernel upcalls when no key exists), linking the key
#   into the script's session keyring; prints the key's serial. Exit status non-zero when the
#   request fails (negative key, no rule, ...).
kup_request() {
    keyctl request2 "$1" "$2" "${3-}" @s
}

# kup_modprobe MODULE...
#   Loads each module; fails with a message naming the first one that does not load.
kup_modprobe() {
    local m
    for m in "$@"; do
        modprobe "$m" || { echo "kup_modprobe: cannot load $m" >&2; return 1; }
    done
}

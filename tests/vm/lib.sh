# shellcheck shell=bash
# The test VM runner, sourced by tests/vm/run.sh (and later VM tests).
#
#   vm_init WORKDIR         once per run: the image (tests/vm/image.sh, cached),
#                           a fresh ssh key pair and a qcow2 overlay of the image
#                           in WORKDIR (the cached image is never written)
#   vm_start [KERNEL_ARGS]  boot the overlay under QEMU (KVM where it works,
#                           else TCG), wait until sshd answers on the forwarded
#                           127.0.0.1 port (bounded, polled); the guest's
#                           console is WORKDIR/console-N.log, its second
#                           serial port WORKDIR/serial-N.log
#   vm_ssh USER CMD...      run CMD in the guest as USER (root, or a user whose
#                           authorized_keys holds the run's key); exit status
#                           is the command's (255: ssh itself failed)
#   vm_ssh_key KEY USER CMD...  run CMD in the guest as USER, authenticating
#                           with KEY only (and its certificate KEY-cert.pub, if
#                           there), over a connection of its own: every call
#                           is a fresh authentication by the guest's sshd
#   vm_put SRC... DEST      scp into the guest (as root)
#   vm_get SRC DEST         scp out of the guest (as root)
#   vm_script SCRIPT OUTDIR [ARGS...]  copy SCRIPT into the guest, run it as
#                           root with ARGS and JIT_VM_OUT=/root/jit-vm-out, copy
#                           that directory back to OUTDIR; exit status is the
#                           script's; its stdout+stderr is OUTDIR/script.log
#   vm_stop                 power the guest off and wait for QEMU to exit
#                           (bounded; killed after the timeout)
#   vm_kill                 kill QEMU at once (a power cut: the overlay keeps
#                           whatever the guest had written to its disk)
#   vm_show_console         print the tail of the current console log
# Between vm_stop/vm_kill and the next vm_start the overlay persists, so a
# test can boot the same disk again.
#
# Environment: JIT_VM_ACCEL (kvm or tcg; default: kvm only where the kvm_intel
# or kvm_amd module is loaded, see docs/vm.md), JIT_VM_MEM (MiB, default 1536),
# JIT_VM_BOOT_TIMEOUT (seconds until sshd answers, default 240).
#
# The disk: VM_CACHE (default writeback) is QEMU's cache mode for the overlay.
# writeback honours the guest's flushes end to end: QEMU writes its qcow2
# metadata and fdatasyncs the overlay when the guest flushes, so what the
# guest flushed is on the host's disk when QEMU is killed (vm_kill: a power
# cut). cache=unsafe skips the fdatasync (docs/vm.md, "Power cuts", says what
# that changes and what not).

VM_DIR=
VM_IMG=
VM_PORT=
VM_PID=
VM_BOOTS=0
VM_CONSOLE=
VM_SERIAL=
VM_CACHE=${VM_CACHE:-writeback}

vm_die() { echo "vm: $*" >&2; exit 1; }

vm_init() {
    VM_DIR=$1
    local t
    for t in qemu-system-x86_64 qemu-img ssh scp ssh-keygen python3; do
        command -v "$t" >/dev/null || vm_die "$t is not installed (see .ci/apt-packages.txt)"
    done
    VM_IMG=$(bash tests/vm/image.sh) || vm_die "building the image failed"
    ssh-keygen -q -t ed25519 -N '' -C jit-vm -f "$VM_DIR/id" || vm_die "ssh-keygen failed"
    printf '[127.0.0.1]:* %s\n' "$(cut -d' ' -f1,2 "$VM_IMG/ssh_host_ed25519_key.pub")" > "$VM_DIR/known_hosts"
    qemu-img create -q -f qcow2 -F raw -b "$VM_IMG/root.img" "$VM_DIR/overlay.qcow2" \
        || vm_die "qemu-img create failed"
}

vm_accel() {
    case "${JIT_VM_ACCEL:-}" in
        kvm) echo "-accel kvm -cpu host"; return ;;
        tcg) echo "-accel tcg,thread=multi -cpu max"; return ;;
        '') ;;
        *) vm_die "JIT_VM_ACCEL must be kvm or tcg" ;;
    esac
    # /dev/kvm alone is not enough: a nested-virtualisation host module
    # (kvm_pvm) also provides it, and a stock kernel does not boot on it.
    if [ -w /dev/kvm ] && { [ -e /sys/module/kvm_intel ] || [ -e /sys/module/kvm_amd ]; }; then
        echo "-accel kvm -cpu host"
    else
        echo "-accel tcg,thread=multi -cpu max"
    fi
}

# A free TCP port on 127.0.0.1 (the kernel picks it; QEMU binds it next).
vm_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

VM_SSH_OPTS=()
vm_start() {
    local extra=${1:-} accel key deadline
    VM_BOOTS=$((VM_BOOTS + 1))
    VM_CONSOLE=$VM_DIR/console-$VM_BOOTS.log
    VM_SERIAL=$VM_DIR/serial-$VM_BOOTS.log
    accel=$(vm_accel)
    key=$(cut -d' ' -f1,2 "$VM_DIR/id.pub" | tr ' ' ':')
    VM_ACCEL_USED=$accel
    local try
    for try in 1 2 3; do
        VM_PORT=$(vm_free_port)
        # --pdeathsig: QEMU dies with the shell that started it, even when
        # that shell is killed before its EXIT trap can run.
        # shellcheck disable=SC2086
        setpriv --pdeathsig KILL nice -n "${JIT_VM_NICE:-10}" qemu-system-x86_64 -machine q35 $accel -m "${JIT_VM_MEM:-1536}" -smp 2 \
            -nographic -no-reboot -monitor none -display none \
            -kernel "$VM_IMG/vmlinuz" -initrd "$VM_IMG/initrd.img" \
            -append "root=/dev/vda rw console=ttyS0,115200 security=selinux selinux=1 enforcing=1 jitvm.key=$key $extra" \
            -drive "file=$VM_DIR/overlay.qcow2,if=virtio,format=qcow2,cache=$VM_CACHE" \
            -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$VM_PORT-:22" -device virtio-net-pci,netdev=n0 \
            -serial "file:$VM_CONSOLE" -serial "file:$VM_SERIAL" \
            </dev/null >"$VM_DIR/qemu-$VM_BOOTS.log" 2>&1 &
        VM_PID=$!
        # Lost the port to another process between picking and binding: retry.
        local i
        for i in $(seq 1 50); do
            kill -0 "$VM_PID" 2>/dev/null || break
            [ -s "$VM_CONSOLE" ] && break
            sleep 0.1
        done
        if kill -0 "$VM_PID" 2>/dev/null; then break; fi
        wait "$VM_PID" 2>/dev/null || true
        VM_PID=
        grep -q 'hostfwd' "$VM_DIR/qemu-$VM_BOOTS.log" || { cat "$VM_DIR/qemu-$VM_BOOTS.log" >&2; vm_die "qemu did not start"; }
    done
    [ -n "$VM_PID" ] || vm_die "qemu could not bind a forwarded port"
    VM_SSH_OPTS=(-o BatchMode=yes -o IdentitiesOnly=yes -i "$VM_DIR/id" -o UserKnownHostsFile="$VM_DIR/known_hosts"
        -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=20
        -o ServerAliveInterval=10 -o ServerAliveCountMax=12 -o LogLevel=ERROR
        -o ControlMaster=auto -o ControlPath="$VM_DIR/ssh-%r" -o ControlPersist=600)
    deadline=$(($(date +%s) + ${JIT_VM_BOOT_TIMEOUT:-240}))
    while :; do
        if ! kill -0 "$VM_PID" 2>/dev/null; then
            vm_show_console; vm_die "the guest stopped before sshd answered"
        fi
        if ssh "${VM_SSH_OPTS[@]}" -p "$VM_PORT" -o ConnectTimeout=5 root@127.0.0.1 true 2>/dev/null; then break; fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            vm_show_console; vm_die "sshd did not answer within ${JIT_VM_BOOT_TIMEOUT:-240} s"
        fi
        sleep 1
    done
}

vm_ssh() {
    local u=$1; shift
    ssh "${VM_SSH_OPTS[@]}" -p "$VM_PORT" "$u@127.0.0.1" "$@"
}

vm_ssh_key() {
    local key=$1 u=$2; shift 2
    ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityFile="$key" -o CertificateFile="$key-cert.pub" \
        -o PreferredAuthentications=publickey -o UserKnownHostsFile="$VM_DIR/known_hosts" \
        -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=20 -o LogLevel=ERROR \
        -o ControlMaster=no -o ControlPath=none -p "$VM_PORT" "$u@127.0.0.1" "$@"
}

vm_put() {
    local n=$# dest=${!#}
    scp -q "${VM_SSH_OPTS[@]}" -P "$VM_PORT" "${@:1:$((n - 1))}" "root@127.0.0.1:$dest"
}

vm_get() {
    scp -q -r "${VM_SSH_OPTS[@]}" -P "$VM_PORT" "root@127.0.0.1:$1" "$2"
}

vm_script() {
    local script=$1 out=$2 rc; shift 2
    mkdir -p "$out"
    vm_ssh root 'rm -rf /root/jit-vm-out && mkdir -p /root/jit-vm-out' || return 255
    vm_put "$script" /root/jit-vm-script || return 255
    set +e
    vm_ssh root JIT_VM_OUT=/root/jit-vm-out bash /root/jit-vm-script "$@" >"$out/script.log" 2>&1
    rc=$?
    set -e
    vm_get '/root/jit-vm-out/.' "$out/" || return 255
    return "$rc"
}

# Close the multiplexing masters (they would keep the port's connection).
vm_ssh_close() {
    local u
    for u in "$VM_DIR"/ssh-*; do
        [ -S "$u" ] || continue
        ssh -o ControlPath="$u" -O exit x 2>/dev/null || true
    done
}

vm_stop() {
    [ -n "$VM_PID" ] || return 0
    local deadline
    vm_ssh root 'systemctl poweroff' >/dev/null 2>&1 || true
    vm_ssh_close
    deadline=$(($(date +%s) + ${JIT_VM_STOP_TIMEOUT:-120}))
    while kill -0 "$VM_PID" 2>/dev/null; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "vm: the guest did not power off within ${JIT_VM_STOP_TIMEOUT:-120} s; killing qemu" >&2
            kill -KILL "$VM_PID" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
    wait "$VM_PID" 2>/dev/null || true
    VM_PID=
}

vm_kill() {
    [ -n "$VM_PID" ] || return 0
    vm_ssh_close
    kill -KILL "$VM_PID" 2>/dev/null || true
    wait "$VM_PID" 2>/dev/null || true
    VM_PID=
}

vm_show_console() {
    echo "---- guest console ($VM_CONSOLE), last 60 lines" >&2
    tr -d '\r' < "$VM_CONSOLE" 2>/dev/null | tail -n 60 >&2 || true
    echo "----" >&2
}

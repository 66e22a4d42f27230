/* pyrunc's native shim: only the syscalls CPython 3.11 lacks, plus the last
 * step before execve. See shim.h for the contract. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sched.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/vfs.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include "shim.h"

#define PYRUNC_ABI 2

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

int pyrunc_abi_version(void) { return PYRUNC_ABI; }

int pyrunc_unshare(int flags) { return unshare(flags); }
int pyrunc_setns(int fd, int nstype) { return setns(fd, nstype); }

int pyrunc_mount(const char *source, const char *target, const char *fstype,
                 unsigned long flags, const char *data)
{
    return mount(source, target, fstype, flags, data);
}

int pyrunc_umount2(const char *target, int flags) { return umount2(target, flags); }

int pyrunc_pivot_root(const char *new_root, const char *put_old)
{
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int pyrunc_setdomainname(const char *name, size_t len) { return setdomainname(name, len); }

struct pyrunc_open_how { uint64_t flags, mode, resolve; };

int pyrunc_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode,
                   uint64_t resolve)
{
    struct pyrunc_open_how how = { flags, mode, resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

int pyrunc_open_tree(int dirfd, const char *path, unsigned int flags)
{
    return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

int pyrunc_move_mount(int from_dirfd, const char *from_path, int to_dirfd,
                      const char *to_path, unsigned int flags)
{
    return (int)syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags);
}

struct pyrunc_mount_attr { uint64_t attr_set, attr_clr, propagation, userns_fd; };

int pyrunc_mount_setattr(int dirfd, const char *path, unsigned int flags,
                         uint64_t attr_set, uint64_t attr_clr, uint64_t propagation)
{
    struct pyrunc_mount_attr attr = { attr_set, attr_clr, propagation, 0 };
    return (int)syscall(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof(attr));
}

int pyrunc_prctl(int option, unsigned long a2, unsigned long a3,
                 unsigned long a4, unsigned long a5)
{
    return prctl(option, a2, a3, a4, a5);
}

/* Fallback for kernels without close_range: walk /proc/self/fd. */
static int cloexec_walk(unsigned int first)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    if (!d)
        return -1;
    int self = dirfd(d);
    while ((e = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || fd < (long)first || fd == self)
            continue;
        int fl = fcntl((int)fd, F_GETFD);
        if (fl >= 0)
            fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC);
    }
    closedir(d);
    return 0;
}

int pyrunc_close_range(unsigned int first, unsigned int last, unsigned int flags)
{
    int rc = (int)syscall(SYS_close_range, first, last, flags);
    if (rc < 0 && errno == ENOSYS && flags == CLOSE_RANGE_CLOEXEC && last == ~0U)
        return cloexec_walk(first);
    return rc;
}

long pyrunc_join_session_keyring(const char *name)
{
    return syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, name, 0, 0, 0);
}

int pyrunc_personality(unsigned long persona)
{
    return personality(persona) < 0 ? -1 : 0;
}

int pyrunc_ioprio_set(int which, int who, int ioprio)
{
    return (int)syscall(SYS_ioprio_set, which, who, ioprio);
}

struct pyrunc_sched_attr {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
};

int pyrunc_sched_setattr(int pid, uint32_t policy, uint64_t flags, int32_t nice,
                         uint32_t priority, uint64_t runtime, uint64_t deadline,
                         uint64_t period)
{
    struct pyrunc_sched_attr a = { sizeof(a), policy, flags, nice, priority,
                                   runtime, deadline, period };
    return (int)syscall(SYS_sched_setattr, pid, &a, 0);
}

long pyrunc_fs_type(int fd)
{
    struct statfs st;
    if (fstatfs(fd, &st) < 0)
        return -1;
    return (long)st.f_type;
}

int pyrunc_pidfd_open(int pid, unsigned int flags)
{
    return (int)syscall(SYS_pidfd_open, pid, flags);
}

int pyrunc_pidfd_send_signal(int pidfd, int sig, unsigned int flags)
{
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, flags);
}

int pyrunc_renameat2(int olddirfd, const char *oldpath, int newdirfd,
                     const char *newpath, unsigned int flags)
{
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

static int send_fd(int sock, int fd)
{
    char payload[] = "seccomp";
    struct iovec iov = { payload, sizeof(payload) - 1 };
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
    struct msghdr msg = { 0 };
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof(u.buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static int exec_final(const char *path, char *const argv[], char *const envp[],
                      unsigned int first_cloexec, const void *filter,
                      unsigned int filter_len, unsigned int filter_flags,
                      int notify_sock, const uint32_t *caps, int *stage);

static int pyrunc_capset3(const uint32_t *caps)
{
    struct { uint32_t version; int pid; } hdr = { 0x20080522, 0 };
    struct { uint32_t effective, permitted, inheritable; } data[2] = {
        { caps[0], caps[2], caps[4] }, { caps[1], caps[3], caps[5] } };
    return (int)syscall(SYS_capset, &hdr, data);
}

int pyrunc_exec_final(const char *path, char *const argv[], char *const envp[],
                      unsigned int first_cloexec, const void *filter,
                      unsigned int filter_len, unsigned int filter_flags,
                      int notify_sock, int *stage)
{
    return exec_final(path, argv, envp, first_cloexec, filter, filter_len,
                      filter_flags, notify_sock, NULL, stage);
}

static int exec_final(const char *path, char *const argv[], char *const envp[],
                      unsigned int first_cloexec, const void *filter,
                      unsigned int filter_len, unsigned int filter_flags,
                      int notify_sock, const uint32_t *caps, int *stage)
{
    sigset_t all;

    /* 1. Signals: default dispositions, nothing blocked. */
    *stage = 1;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        signal(sig, SIG_DFL); /* fails harmlessly for 32/33 (libc-reserved) */
    }
    sigemptyset(&all);
    if (sigprocmask(SIG_SETMASK, &all, NULL) < 0)
        return -1;

    /* 2. No host fd survives execve except stdio and the preserved ones. */
    *stage = 2;
    if (pyrunc_close_range(first_cloexec, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        return -1;

    /* 3. Seccomp last, so nothing above runs under the filter. */
    *stage = 3;
    if (filter_len > 0) {
        struct sock_fprog prog = { (unsigned short)filter_len,
                                   (struct sock_filter *)filter };
        int rc = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, filter_flags, &prog);
        if (rc < 0)
            return -1;
        if (filter_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
            /* rc is the listener fd: hand it over, then drop our copy. */
            if (notify_sock < 0 || send_fd(notify_sock, rc) < 0)
                return -1;
            close(rc);
        }
        /* Drop the CAP_SYS_ADMIN kept only to load the filter (one capset
         * under the filter, as runc's finalizeNamespace after InitSeccomp). */
        if (caps && pyrunc_capset3(caps) < 0)
            return -1;
    }

    *stage = 4;
    execve(path, argv, envp);
    return -1;
}

/* ---- seccomp ---- */
#include <seccomp.h>

static int scmp_rc(int rc)
{
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return rc;
}

void *pyrunc_scmp_init(uint32_t def_action)
{
    void *ctx = seccomp_init(def_action);
    if (!ctx)
        errno = EINVAL;
    return ctx;
}

void pyrunc_scmp_release(void *ctx)
{
    seccomp_release(ctx);
}

uint32_t pyrunc_scmp_arch_native(void)
{
    return seccomp_arch_native();
}

int pyrunc_scmp_arch_add(void *ctx, uint32_t arch)
{
    int rc = seccomp_arch_add(ctx, arch);
    return rc == -EEXIST ? 0 : scmp_rc(rc);
}

int pyrunc_scmp_syscall_resolve(const char *name)
{
    return seccomp_syscall_resolve_name(name);
}

int pyrunc_scmp_rule_add(void *ctx, uint32_t action, int syscall_nr,
                         unsigned int argc, const uint32_t *arg_index,
                         const uint32_t *ops, const uint64_t *a, const uint64_t *b)
{
    struct scmp_arg_cmp cmp[6];
    if (argc > 6) {
        errno = EINVAL;
        return -1;
    }
    for (unsigned int i = 0; i < argc; i++) {
        cmp[i].arg = arg_index[i];
        cmp[i].op = (enum scmp_compare)ops[i];
        cmp[i].datum_a = a[i];
        cmp[i].datum_b = b[i];
    }
    return scmp_rc(seccomp_rule_add_array(ctx, action, syscall_nr, argc, cmp));
}

int pyrunc_scmp_attr_set(void *ctx, int attr, uint32_t value)
{
    return scmp_rc(seccomp_attr_set(ctx, (enum scmp_filter_attr)attr, value));
}

int pyrunc_scmp_export_bpf(void *ctx, int fd)
{
    return scmp_rc(seccomp_export_bpf(ctx, fd));
}

int pyrunc_scmp_version(void)
{
    const struct scmp_version *v = seccomp_version();
    return (int)(v->major * 10000 + v->minor * 100 + v->micro);
}

int pyrunc_seccomp_flag_supported(unsigned int flags)
{
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, NULL) < 0 && errno == EFAULT)
        return 1;
    return 0;
}

int pyrunc_seccomp_action_available(uint32_t action)
{
    return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

int pyrunc_seccomp_load(const void *filter, unsigned int filter_len,
                        unsigned int filter_flags)
{
    struct sock_fprog prog = { (unsigned short)filter_len, (struct sock_filter *)filter };
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, filter_flags, &prog);
}

int pyrunc_exec_final_caps(const char *path, char *const argv[], char *const envp[],
                           unsigned int first_cloexec, const void *filter,
                           unsigned int filter_len, unsigned int filter_flags,
                           int notify_sock, const uint32_t *caps, int *stage)
{
    return exec_final(path, argv, envp, first_cloexec, filter, filter_len,
                      filter_flags, notify_sock, caps, stage);
}

/* --- eBPF for the cgroup v2 device filter (pyrunc/cgroups/devices.py) --- */
#include <linux/bpf.h>

int pyrunc_bpf_prog_load(uint32_t prog_type, const void *insns, uint32_t insn_cnt,
                         const char *license, char *log_buf, uint32_t log_size)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = prog_type;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = insn_cnt;
    attr.license = (uint64_t)(uintptr_t)license;
    if (log_buf && log_size) {
        attr.log_buf = (uint64_t)(uintptr_t)log_buf;
        attr.log_size = log_size;
        attr.log_level = 1;
    }
    return (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

int pyrunc_bpf_prog_attach(int target_fd, int prog_fd, uint32_t attach_type,
                           uint32_t flags)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)target_fd;
    attr.attach_bpf_fd = (uint32_t)prog_fd;
    attr.attach_type = attach_type;
    attr.attach_flags = flags;
    return (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr));
}

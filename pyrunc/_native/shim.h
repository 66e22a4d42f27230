/* The whole C <-> Python contract of pyrunc's native shim.
 *
 * This file is read twice: by the C compiler (through shim.c) and by cffi's
 * cdef parser (build.py strips the preprocessor lines below). Keep it to plain
 * declarations. Every function returns -1 with errno set on failure unless it
 * says otherwise; the Python side turns that into OSError in one place
 * (pyrunc/_native/__init__.py: check()).
 */
#ifndef PYRUNC_SHIM_H
#define PYRUNC_SHIM_H
#include <stddef.h>
#include <stdint.h>
#endif

/* Bumped whenever a signature below changes; checked at import. */
int pyrunc_abi_version(void);

int pyrunc_unshare(int flags);
int pyrunc_setns(int fd, int nstype);
int pyrunc_mount(const char *source, const char *target, const char *fstype,
                 unsigned long flags, const char *data);
int pyrunc_umount2(const char *target, int flags);
int pyrunc_pivot_root(const char *new_root, const char *put_old);
int pyrunc_setdomainname(const char *name, size_t len);

/* openat2(2) with struct open_how spelled out. */
int pyrunc_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode,
                   uint64_t resolve);
/* New mount API (kernel >= 5.2 / 5.12 for mount_setattr). */
int pyrunc_open_tree(int dirfd, const char *path, unsigned int flags);
int pyrunc_move_mount(int from_dirfd, const char *from_path, int to_dirfd,
                      const char *to_path, unsigned int flags);
int pyrunc_mount_setattr(int dirfd, const char *path, unsigned int flags,
                         uint64_t attr_set, uint64_t attr_clr,
                         uint64_t propagation);

/* prctl(2) with every argument (PR_CAP_AMBIENT, PR_SET_DUMPABLE, ...). */
int pyrunc_prctl(int option, unsigned long a2, unsigned long a3,
                 unsigned long a4, unsigned long a5);
int pyrunc_close_range(unsigned int first, unsigned int last, unsigned int flags);
/* keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): returns the key serial. */
long pyrunc_join_session_keyring(const char *name);
int pyrunc_personality(unsigned long persona);
int pyrunc_ioprio_set(int which, int who, int ioprio);
int pyrunc_sched_setattr(int pid, uint32_t policy, uint64_t flags, int32_t nice,
                         uint32_t priority, uint64_t runtime, uint64_t deadline,
                         uint64_t period);
/* fstatfs(2) f_type of an fd (PROC_SUPER_MAGIC checks); -1 on error. */
long pyrunc_fs_type(int fd);
/* pidfd_open(2) and pidfd_send_signal(2). */
int pyrunc_pidfd_open(int pid, unsigned int flags);
int pyrunc_pidfd_send_signal(int pidfd, int sig, unsigned int flags);
/* renameat2(2) (RENAME_EXCHANGE swaps two existing names atomically). */
int pyrunc_renameat2(int olddirfd, const char *oldpath, int newdirfd,
                     const char *newpath, unsigned int flags);

/* The composite last step, run with no Python in between:
 *   1. reset every signal disposition to SIG_DFL and unblock all signals
 *      (CPython ignores SIGPIPE and SIGXFSZ and that survives execve);
 *   2. mark every fd >= first_cloexec close-on-exec;
 *   3. if filter_len > 0, load the classic-BPF seccomp program `filter`
 *      (filter_len instructions of 8 bytes) with seccomp(2) and
 *      `filter_flags`; when the flags ask for a notify listener, the
 *      listener fd is sent over `notify_sock` (SCM_RIGHTS, payload
 *      "seccomp") and closed before execve;
 *   4. execve(path, argv, envp).
 * Only returns on failure: -1 with errno, and *stage set to the step that
 * failed (1 signals, 2 fds, 3 seccomp, 4 execve). */
int pyrunc_exec_final(const char *path, char *const argv[], char *const envp[],
                      unsigned int first_cloexec, const void *filter,
                      unsigned int filter_len, unsigned int filter_flags,
                      int notify_sock, int *stage);

/* ---- seccomp (pyrunc/seccomp.py) ----
 * libseccomp builds the filter IN THE PARENT; only the exported classic-BPF
 * bytes travel to init. libseccomp's own negative-errno returns are turned
 * into -1 with errno here. `ctx` is an opaque scmp_filter_ctx. */
void *pyrunc_scmp_init(uint32_t def_action);           /* NULL + errno on failure */
void pyrunc_scmp_release(void *ctx);
uint32_t pyrunc_scmp_arch_native(void);
int pyrunc_scmp_arch_add(void *ctx, uint32_t arch);
/* syscall number for a name on the filter's architectures; -1 if unknown
 * (other negative values are libseccomp pseudo-syscalls and are valid). */
int pyrunc_scmp_syscall_resolve(const char *name);
/* One rule: argc comparisons (arg index, SCMP_CMP_* op, datum a, datum b). */
int pyrunc_scmp_rule_add(void *ctx, uint32_t action, int syscall_nr,
                         unsigned int argc, const uint32_t *arg_index,
                         const uint32_t *ops, const uint64_t *a, const uint64_t *b);
int pyrunc_scmp_attr_set(void *ctx, int attr, uint32_t value);
/* Write the BPF program to fd (a memfd); returns 0. */
int pyrunc_scmp_export_bpf(void *ctx, int fd);
/* libseccomp version as major*10000 + minor*100 + micro. */
int pyrunc_scmp_version(void);
/* seccomp(SECCOMP_SET_MODE_FILTER, flags, NULL): 1 if the kernel knows
 * every flag in `flags` (EFAULT), 0 if not (EINVAL). */
int pyrunc_seccomp_flag_supported(unsigned int flags);
/* seccomp(SECCOMP_GET_ACTION_AVAIL): 1 if the kernel has the action. */
int pyrunc_seccomp_action_available(uint32_t action);
/* Load a classic-BPF program now (the notify path, see pyrunc/seccomp.py);
 * returns the listener fd with SECCOMP_FILTER_FLAG_NEW_LISTENER, else 0. */
int pyrunc_seccomp_load(const void *filter, unsigned int filter_len,
                        unsigned int filter_flags);
/* pyrunc_exec_final, plus a capset(2) right after the filter is loaded:
 * caps[0..5] = effective, permitted, inheritable as two 32-bit words each
 * (_LINUX_CAPABILITY_VERSION_3). Used when the filter must be loaded with
 * CAP_SYS_ADMIN that the final capability sets lack (no noNewPrivileges). */
int pyrunc_exec_final_caps(const char *path, char *const argv[], char *const envp[],
                           unsigned int first_cloexec, const void *filter,
                           unsigned int filter_len, unsigned int filter_flags,
                           int notify_sock, const uint32_t *caps, int *stage);
/* bpf(BPF_PROG_LOAD): insn_cnt 8-byte eBPF instructions of type prog_type
 * (BPF_PROG_TYPE_CGROUP_DEVICE for the v2 device filter); returns the
 * program fd. When log_size > 0 the verifier's log lands in log_buf. */
int pyrunc_bpf_prog_load(uint32_t prog_type, const void *insns, uint32_t insn_cnt,
                         const char *license, char *log_buf, uint32_t log_size);
/* bpf(BPF_PROG_ATTACH): attach prog_fd to the cgroup folder target_fd. */
int pyrunc_bpf_prog_attach(int target_fd, int prog_fd, uint32_t attach_type,
                           uint32_t flags);

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

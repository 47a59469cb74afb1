/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * `vfioctl assign DEV -- COMMAND...`: hold a client lease for exactly as long as COMMAND runs.
 * The lease lives on vfioctl's bus connection, so vfioctl stays as the parent, passes the
 * group fd down, forwards termination signals and releases the device when COMMAND exits.
 * If vfioctl itself dies, its connection closes and the daemon releases the device anyway.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel/macros.h"
#include "vfioctl.h"

static const int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

static _Noreturn void exec_child(int group_fd, const char *device_path, char **command,
                                 const sigset_t *old_mask)
{
        char number[16];

        for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
                signal(forwarded_signals[i], SIG_DFL);
        sigprocmask(SIG_SETMASK, old_mask, NULL);

        /* The one descriptor the command inherits on purpose. */
        if (fcntl(group_fd, F_SETFD, 0) < 0) {
                fprintf(stderr, "vfioctl: cannot pass the group fd on: %s\n", strerror(errno));
                _exit(EXIT_FAILED);
        }
        snprintf(number, sizeof(number), "%d", group_fd);
        if (setenv("VFIOD_GROUP_FD", number, 1) < 0 ||
            setenv("VFIOD_DEVICE_PATH", device_path, 1) < 0) {
                fprintf(stderr, "vfioctl: %s\n", strerror(errno));
                _exit(EXIT_FAILED);
        }
        execvp(command[0], command);
        fprintf(stderr, "vfioctl: cannot run %s: %s\n", command[0], strerror(errno));
        /* The shell's conventions: 127 not found, 126 found but not runnable. */
        _exit(errno == ENOENT ? 127 : 126);
}

/* Waits for the child, passing on termination signals somebody sent to us with kill(). */
static int wait_child(pid_t pid, const sigset_t *mask)
{
        for (;;) {
                siginfo_t si;
                int status;

                if (sigwaitinfo(mask, &si) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (si.si_signo != SIGCHLD) {
                        /* A terminal's signal reached the whole process group, child included. */
                        if (si.si_code != SI_KERNEL)
                                (void)kill(pid, si.si_signo);
                        continue;
                }
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r < 0)
                        return -errno;
                if (r == 0)
                        continue;
                if (WIFEXITED(status))
                        return WEXITSTATUS(status);
                if (WIFSIGNALED(status))
                        return 128 + WTERMSIG(status);
        }
}

int run_with_lease(vfiod_client *client, const char *device, const vfiod_assign_options *options,
                   char **command)
{
        _cleanup_(closep) int group_fd = -EBADF;
        _cleanup_(freep) char *path = NULL;
        sigset_t mask, old_mask;
        int r, status;

        r = vfiod_client_assign(client, device, options, &group_fd, &path);
        if (r < 0) {
                print_failure(client, r, "assign");
                return exit_code_for(client, r);
        }

        /* Blocked before fork, so no signal is lost between fork and sigwaitinfo. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
                sigaddset(&mask, forwarded_signals[i]);
        sigprocmask(SIG_BLOCK, &mask, &old_mask);

        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                sigprocmask(SIG_SETMASK, &old_mask, NULL);
                print_failure(NULL, r, "fork");
                status = EXIT_FAILED;
        } else if (pid == 0)
                exec_child(group_fd, path, command, &old_mask);
        else {
                group_fd = safe_close(group_fd);
                status = wait_child(pid, &mask);
                sigprocmask(SIG_SETMASK, &old_mask, NULL);
                if (status < 0) {
                        print_failure(NULL, status, "wait");
                        status = EXIT_FAILED;
                }
        }

        /* A lease that is already gone (device removed, released by an admin) is fine. */
        r = vfiod_client_release(client, device);
        if (r < 0 && !streq_ptr(vfiod_client_get_error_name(client), VFIOD_ERROR_NOT_ASSIGNED)) {
                print_failure(client, r, "release");
                return exit_code_for(client, r);
        }
        return status;
}

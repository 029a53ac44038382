/*
 * flannel-ts's spawn addon (N-API, C), for the CNI plugin: runs its delegate plugin and ends the
 * process, without the page copying that Node's own way costs a short-lived process.
 *
 *   run(file, argv, envPairs, input, timeoutMs, maxBuffer)
 *       Runs `file` with posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK), so no copy-on-write
 *       marking of this process's memory, as fork() does for Node's spawn: every page this process
 *       wrote afterwards, its exit included, would take a fault), `input` on its stdin, its stdout
 *       and stderr collected, to completion. As Node's child processes, the child starts with
 *       every signal at its default action and none blocked. SIGKILL after timeoutMs (error
 *       "ETIMEDOUT") or once stdout or stderr holds more than maxBuffer bytes ("ENOBUFS"); a
 *       child that stops reading its stdin early is "EPIPE" (its result still counts). Answers
 *       { status, signal, stdout, stderr, error }: status the exit code or null, signal e.g.
 *       "SIGKILL" or null, error the errno name when the file could not be run (ENOENT,
 *       EACCES, ...) or one of the above.
 *   exit(code)
 *       _exit(code): the end of a one-shot process whose output is already written (the plugin
 *       writes synchronously). Skips Node's teardown and the C library's exit handlers.
 */
#define _GNU_SOURCE
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434 /* the same number on every architecture */
#endif

typedef struct {
  char *data;
  size_t len;
  size_t cap;
} buf_t;

static int buf_read(buf_t *b, int fd) {
  if (b->cap - b->len < 16384) {
    size_t cap = b->cap ? b->cap * 2 : 65536;
    char *p = realloc(b->data, cap);
    if (p == NULL) return -ENOMEM;
    b->data = p;
    b->cap = cap;
  }
  ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
  if (n < 0) return errno == EINTR || errno == EAGAIN ? 1 : -errno;
  b->len += (size_t)n;
  return n == 0 ? 0 : 1;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A string argument as a malloc'd C string (NULL on failure, an exception pending). */
static char *get_string(napi_env env, napi_value v, const char *what) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  char *s = malloc(len + 1);
  if (s == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static void free_list(char **list) {
  if (list == NULL) return;
  for (char **p = list; *p != NULL; p++) free(*p);
  free(list);
}

/* An array of strings as a NULL-terminated malloc'd list (NULL on failure, an exception pending). */
static char **get_list(napi_env env, napi_value arr, const char *what) {
  uint32_t n = 0;
  bool is_array = false;
  napi_is_array(env, arr, &is_array);
  if (!is_array || napi_get_array_length(env, arr, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  char **list = calloc((size_t)n + 1, sizeof *list);
  if (list == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    napi_get_element(env, arr, i, &el);
    list[i] = get_string(env, el, what);
    if (list[i] == NULL) {
      free_list(list);
      return NULL;
    }
  }
  return list;
}

/* A pipe whose both ends are above stderr and close on exec. */
static int make_pipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) != 0) return -errno;
  for (int i = 0; i < 2; i++) {
    if (fds[i] > 2) continue;
    int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
    if (moved < 0) return -errno;
    close(fds[i]);
    fds[i] = moved;
  }
  return 0;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void set_string(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  if (value == NULL) napi_get_null(env, &v);
  else napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
}

static void set_buffer(napi_env env, napi_value obj, const char *key, const buf_t *b) {
  napi_value v;
  void *data = NULL;
  napi_create_buffer_copy(env, b->len, b->len ? b->data : "", &data, &v);
  napi_set_named_property(env, obj, key, v);
}

static const char *errno_name(int err) {
  const char *name = strerrorname_np(err);
  return name ? name : "EUNKNOWN";
}

static napi_value run(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6) {
    napi_throw_type_error(env, NULL, "run(file, argv, envPairs, input, timeoutMs, maxBuffer)");
    return NULL;
  }
  char *file = NULL, **args = NULL, **envp = NULL;
  void *input = NULL;
  size_t input_len = 0;
  double timeout_ms = 0, max_buffer = 0;
  bool is_buffer = false;
  napi_value result = NULL;

  file = get_string(env, argv[0], "run: file must be a string");
  if (file == NULL) goto out;
  args = get_list(env, argv[1], "run: argv must be an array of strings");
  if (args == NULL) goto out;
  envp = get_list(env, argv[2], "run: envPairs must be an array of strings");
  if (envp == NULL) goto out;
  napi_is_buffer(env, argv[3], &is_buffer);
  if (!is_buffer || napi_get_buffer_info(env, argv[3], &input, &input_len) != napi_ok) {
    napi_throw_type_error(env, NULL, "run: input must be a Buffer");
    goto out;
  }
  if (napi_get_value_double(env, argv[4], &timeout_ms) != napi_ok || napi_get_value_double(env, argv[5], &max_buffer) != napi_ok) {
    napi_throw_type_error(env, NULL, "run: timeoutMs and maxBuffer must be numbers");
    goto out;
  }

  int in[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1};
  buf_t so = {0}, se = {0};
  const char *error = NULL;
  int spawn_err = 0;
  pid_t pid = -1;
  int err = make_pipe(in);
  if (err == 0) err = make_pipe(outp);
  if (err == 0) err = make_pipe(errp);
  if (err != 0) {
    spawn_err = -err;
  } else {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    /* Every signal, the C library's own two (32, 33) included, which sigfillset() leaves out and
     * which this process may ignore: libuv's children start with all of them at their default. */
    memset(&all, 0xff, sizeof all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    spawn_err = posix_spawn(&pid, file, &fa, &attr, args, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  close_fd(&in[0]);
  close_fd(&outp[1]);
  close_fd(&errp[1]);

  int status = 0;
  bool reaped = false;
  if (spawn_err != 0) {
    error = errno_name(spawn_err);
  } else {
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    size_t written = 0;
    if (input_len == 0) close_fd(&in[1]);
    const double deadline = now_ms() + timeout_ms;
    /* The child's exit is watched too (a pidfd, Linux 5.3+), so that the timeout also holds for a
     * child that closed its stdout and stderr but runs on; without one, it is waited for below. */
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    /* A reaped child's pid may belong to another process already: never signalled after. */
#define KILL_CHILD() do { if (!reaped) kill(pid, SIGKILL); } while (0)
    while (outp[0] >= 0 || errp[0] >= 0 || (pidfd >= 0 && !reaped)) {
      struct pollfd fds[4];
      int nfds = 0, at_in = -1, at_out = -1, at_err = -1, at_pid = -1;
      if (in[1] >= 0) { at_in = nfds; fds[nfds++] = (struct pollfd){.fd = in[1], .events = POLLOUT}; }
      if (outp[0] >= 0) { at_out = nfds; fds[nfds++] = (struct pollfd){.fd = outp[0], .events = POLLIN}; }
      if (errp[0] >= 0) { at_err = nfds; fds[nfds++] = (struct pollfd){.fd = errp[0], .events = POLLIN}; }
      if (pidfd >= 0 && !reaped) { at_pid = nfds; fds[nfds++] = (struct pollfd){.fd = pidfd, .events = POLLIN}; }
      double left = deadline - now_ms();
      if (left <= 0) {
        KILL_CHILD();
        error = "ETIMEDOUT";
        break;
      }
      int wait_ms = left > 2e9 ? 2000000000 : (int)left + 1;
      int n = poll(fds, (nfds_t)nfds, wait_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        error = errno_name(errno);
        KILL_CHILD();
        break;
      }
      if (at_in >= 0 && fds[at_in].revents) {
        ssize_t w = write(in[1], (char *)input + written, input_len - written);
        if (w > 0) written += (size_t)w;
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
          if (errno == EPIPE && error == NULL) error = "EPIPE";
          close_fd(&in[1]);
        } else if (written == input_len) {
          close_fd(&in[1]);
        }
      }
      int r;
      if (at_out >= 0 && fds[at_out].revents) {
        r = buf_read(&so, outp[0]);
        if (r <= 0) close_fd(&outp[0]);
      }
      if (at_err >= 0 && fds[at_err].revents) {
        r = buf_read(&se, errp[0]);
        if (r <= 0) close_fd(&errp[0]);
      }
      if (at_pid >= 0 && fds[at_pid].revents && waitpid(pid, &status, WNOHANG) == pid) reaped = true;
      if ((double)so.len > max_buffer || (double)se.len > max_buffer) {
        KILL_CHILD();
        error = "ENOBUFS";
        /* Its pipes may stay open in a descendant of it: the wait below ends the run. */
        break;
      }
    }
#undef KILL_CHILD
    close_fd(&pidfd);
    close_fd(&in[1]);
    while (!reaped && waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) break;
    }
    reaped = true;
  }
  close_fd(&in[1]);
  close_fd(&outp[0]);
  close_fd(&errp[0]);

  napi_create_object(env, &result);
  napi_value v;
  if (reaped && WIFEXITED(status)) napi_create_int32(env, WEXITSTATUS(status), &v);
  else napi_get_null(env, &v);
  napi_set_named_property(env, result, "status", v);
  char sig[32];
  const char *abbrev = reaped && WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : NULL;
  if (abbrev != NULL) {
    strcpy(sig, "SIG");
    strncat(sig, abbrev, sizeof sig - 4);
  }
  set_string(env, result, "signal", abbrev != NULL ? sig : NULL);
  set_buffer(env, result, "stdout", &so);
  set_buffer(env, result, "stderr", &se);
  set_string(env, result, "error", error);
  free(so.data);
  free(se.data);

out:
  free(file);
  free_list(args);
  free_list(envp);
  return result;
}

static napi_value exit_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t code = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &code) != napi_ok) {
    napi_throw_type_error(env, NULL, "exit(code): code must be a number");
    return NULL;
  }
  _exit(code & 0xff);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "run", NAPI_AUTO_LENGTH, run, NULL, &fn);
  napi_set_named_property(env, exports, "run", fn);
  napi_create_function(env, "exit", NAPI_AUTO_LENGTH, exit_now, NULL, &fn);
  napi_set_named_property(env, exports, "exit", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

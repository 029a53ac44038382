/*
 * flannel-ts's TUN addon (N-API, C): what JavaScript cannot do for the udp backend.
 *
 *   openTun(template)  opens /dev/net/tun with TUNSETIFF (IFF_TUN | IFF_NO_PI); the kernel names
 *                      the device from the template ("flannel%d" -> flannel0). Non-persistent:
 *                      the device goes when the last descriptor closes.
 *   new Forwarder(tunFd, bindIp, port, icmpSource)
 *                      takes over tunFd (closed by close(), or when the socket or thread fails),
 *                      binds a UDP socket to bindIp:port and starts two threads (one per
 *                      direction) that move IPv4 packets between the TUN device and that
 *                      socket: a packet read from TUN
 *                      goes in one datagram to the peer whose subnet holds its destination; a
 *                      datagram received is written to TUN. TTL is decremented both ways. A
 *                      destination no peer holds is dropped, counted, and answered with ICMP
 *                      net unreachable (as flannel's proxy does). Reads and sends are batched
 *                      (read until EAGAIN + sendmmsg, recvmmsg + writes).
 *   forwarder.setRoute(net, prefixLen, peerIp, peerPort) / delRoute(net, prefixLen)
 *                      the peer table (addresses as host-order uint32), read by the thread.
 *   forwarder.setIcmpSource(ip)  the source address of the ICMP errors.
 *   forwarder.stats()  counters; forwarder.close() stops the thread and closes both descriptors.
 *
 * The control plane (which peers exist) stays in TypeScript: src/backend/udp/.
 */
#define _GNU_SOURCE
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define SLOT_BYTES 65536
#define IPV4_HDR_MIN 20
#define SOCKET_BUFFER_BYTES (4 << 20)

/* ---- errors ----------------------------------------------------------------------------- */

/* Throws an Error with code = the errno's name (EPERM...), errno and syscall set. */
static void throw_errno(napi_env env, const char *syscall, const char *what, int err) {
  char msg[256];
  const char *name = strerrorname_np(err);
  snprintf(msg, sizeof msg, "%s %s: %s (%s)", syscall, what, strerror(err), name ? name : "?");
  napi_value code, text, error, num, sys;
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_create_int32(env, err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "syscall", sys);
  napi_throw(env, error);
}

static void throw_type(napi_env env, const char *msg) { napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg); }

/* ---- argument helpers ------------------------------------------------------------------- */

static int arg_u32(napi_env env, napi_value v, uint32_t *out, const char *name) {
  char msg[96];
  if (napi_get_value_uint32(env, v, out) != napi_ok) {
    snprintf(msg, sizeof msg, "%s must be a number", name);
    throw_type(env, msg);
    return 0;
  }
  return 1;
}

static int arg_string(napi_env env, napi_value v, char *buf, size_t len, const char *name) {
  size_t n;
  char msg[96];
  if (napi_get_value_string_utf8(env, v, buf, len, &n) != napi_ok) {
    snprintf(msg, sizeof msg, "%s must be a string", name);
    throw_type(env, msg);
    return 0;
  }
  return 1;
}

/* ---- openTun ---------------------------------------------------------------------------- */

static napi_value open_tun(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char name[IFNAMSIZ + 1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !arg_string(env, argv[0], name, sizeof name, "template")) return NULL;
  if (strlen(name) >= IFNAMSIZ) {
    throw_type(env, "template is longer than IFNAMSIZ - 1");
    return NULL;
  }
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    throw_errno(env, "open", "/dev/net/tun", errno);
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  memcpy(ifr.ifr_name, name, strlen(name));
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    throw_errno(env, "ioctl(TUNSETIFF)", name, err);
    return NULL;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    int err = errno;
    close(fd);
    throw_errno(env, "fcntl(O_NONBLOCK)", name, err);
    return NULL;
  }
  napi_value result, jfd, jname;
  napi_create_object(env, &result);
  napi_create_int32(env, fd, &jfd);
  ifr.ifr_name[IFNAMSIZ - 1] = 0;
  napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &jname);
  napi_set_named_property(env, result, "fd", jfd);
  napi_set_named_property(env, result, "name", jname);
  return result;
}

/* ---- the peer table --------------------------------------------------------------------- */

struct peer_route {
  uint32_t net;   /* host order, masked */
  uint8_t len;
  struct sockaddr_in hop;
};

/*
 * Sorted by prefix length (longest first), then network; `start[l]`..`start[l]+count[l]` is
 * the run of length l, so a lookup is one binary search per length present, longest first.
 */
struct route_table {
  struct peer_route *items;
  size_t n, cap;
  size_t start[33], count[33];
};

static uint32_t mask_of(unsigned len) { return len == 0 ? 0 : 0xffffffffu << (32 - len); }

static int route_cmp(const struct peer_route *a, uint32_t net, uint8_t len) {
  if (a->len != len) return a->len > len ? -1 : 1;
  if (a->net != net) return a->net < net ? -1 : 1;
  return 0;
}

static void table_index(struct route_table *t) {
  memset(t->count, 0, sizeof t->count);
  for (size_t i = 0; i < t->n; i++) t->count[t->items[i].len]++;
  size_t at = 0;
  for (int l = 32; l >= 0; l--) {
    t->start[l] = at;
    at += t->count[l];
  }
}

/* Where (net, len) is or would go. */
static size_t table_find(const struct route_table *t, uint32_t net, uint8_t len, int *found) {
  size_t lo = 0, hi = t->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = route_cmp(&t->items[mid], net, len);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  *found = 0;
  return lo;
}

static int table_set(struct route_table *t, uint32_t net, uint8_t len, const struct sockaddr_in *hop) {
  int found;
  net &= mask_of(len);
  size_t at = table_find(t, net, len, &found);
  if (found) {
    t->items[at].hop = *hop;
    return 0;
  }
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    struct peer_route *items = realloc(t->items, cap * sizeof *items);
    if (!items) return ENOMEM;
    t->items = items;
    t->cap = cap;
  }
  memmove(&t->items[at + 1], &t->items[at], (t->n - at) * sizeof *t->items);
  t->items[at].net = net;
  t->items[at].len = len;
  t->items[at].hop = *hop;
  t->n++;
  table_index(t);
  return 0;
}

static int table_del(struct route_table *t, uint32_t net, uint8_t len) {
  int found;
  net &= mask_of(len);
  size_t at = table_find(t, net, len, &found);
  if (!found) return 0;
  memmove(&t->items[at], &t->items[at + 1], (t->n - at - 1) * sizeof *t->items);
  t->n--;
  table_index(t);
  return 1;
}

static const struct sockaddr_in *table_lookup(const struct route_table *t, uint32_t dst) {
  for (int l = 32; l >= 0; l--) {
    if (t->count[l] == 0) continue;
    uint32_t net = dst & mask_of((unsigned)l);
    size_t lo = t->start[l], hi = lo + t->count[l];
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      uint32_t m = t->items[mid].net;
      if (m == net) return &t->items[mid].hop;
      if (m < net) lo = mid + 1;
      else hi = mid;
    }
  }
  return NULL;
}

/* ---- IPv4 header arithmetic ------------------------------------------------------------- */

static uint16_t checksum(const uint8_t *p, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += (uint32_t)(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

/* Decrements the TTL and patches the header checksum (RFC 1624); 0 when the packet must die. */
static int decrement_ttl(uint8_t *ip) {
  if (ip[8] <= 1) return 0;
  uint16_t old_word = (uint16_t)(ip[8] << 8 | ip[9]);
  ip[8]--;
  uint16_t new_word = (uint16_t)(ip[8] << 8 | ip[9]);
  uint32_t sum = (uint16_t)~(ip[10] << 8 | ip[11]);
  sum += (uint16_t)~old_word;
  sum += new_word;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t check = (uint16_t)~sum;
  ip[10] = (uint8_t)(check >> 8);
  ip[11] = (uint8_t)check;
  return 1;
}

/* ---- the forwarder ---------------------------------------------------------------------- */

struct stats {
  uint64_t tun_rx, udp_tx, udp_rx, tun_tx;
  uint64_t no_route, ttl_expired, malformed, udp_send_errors, tun_write_errors, icmp_sent;
};

struct forwarder {
  int tun, udp, stop_r, stop_w;
  uint32_t tun_ip; /* network order: the ICMP source */
  pthread_t threads[2];
  int started;  /* threads created */
  int alive;    /* threads still forwarding (atomic) */
  pthread_mutex_t lock; /* guards routes */
  struct route_table routes;
  struct stats st;
  uint8_t *tun_bufs, *udp_bufs;
};

#define COUNT(f, field, n) __atomic_fetch_add(&(f)->st.field, (uint64_t)(n), __ATOMIC_RELAXED)

/* ICMP destination (net) unreachable back into TUN, for a packet no peer can take. */
static void send_net_unreachable(struct forwarder *f, const uint8_t *pkt, size_t len) {
  size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
  if (ihl < IPV4_HDR_MIN || ihl > 60 || len < ihl + 8) return;
  if (pkt[9] == IPPROTO_ICMP) return;                     /* never about an ICMP message */
  if (((pkt[6] << 8 | pkt[7]) & 0x1fff) != 0) return;     /* first fragment only */
  uint8_t out[20 + 8 + 60 + 8];
  size_t quoted = ihl + 8, total = 28 + quoted;
  memset(out, 0, 28);
  out[0] = 0x45;
  out[2] = (uint8_t)(total >> 8);
  out[3] = (uint8_t)total;
  out[8] = 64;
  out[9] = IPPROTO_ICMP;
  uint32_t src = __atomic_load_n(&f->tun_ip, __ATOMIC_RELAXED);
  memcpy(&out[12], &src, 4);
  memcpy(&out[16], &pkt[12], 4); /* to the sender */
  uint16_t hc = checksum(out, 20);
  out[10] = (uint8_t)(hc >> 8);
  out[11] = (uint8_t)hc;
  out[20] = 3; /* destination unreachable */
  out[21] = 0; /* net unreachable */
  memcpy(&out[28], pkt, quoted);
  uint16_t ic = checksum(&out[20], 8 + quoted);
  out[22] = (uint8_t)(ic >> 8);
  out[23] = (uint8_t)ic;
  if (write(f->tun, out, total) == (ssize_t)total) COUNT(f, icmp_sent, 1);
}

/* Reads a batch from TUN and sends what has a peer; returns the packets read. */
static int tun_to_udp(struct forwarder *f) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in dst[BATCH];
  int nread = 0, nsend = 0;
  uint64_t no_route = 0, ttl = 0, bad = 0;
  while (nread < BATCH) {
    uint8_t *buf = f->tun_bufs + (size_t)nsend * SLOT_BYTES;
    ssize_t n = read(f->tun, buf, SLOT_BYTES);
    if (n < 0) break; /* EAGAIN: drained; other errors: the next poll tells */
    nread++;
    if (n < IPV4_HDR_MIN || (buf[0] >> 4) != 4) {
      bad++;
      continue;
    }
    uint32_t daddr;
    memcpy(&daddr, &buf[16], 4);
    pthread_mutex_lock(&f->lock);
    const struct sockaddr_in *hop = table_lookup(&f->routes, ntohl(daddr));
    if (hop) dst[nsend] = *hop;
    pthread_mutex_unlock(&f->lock);
    if (!hop) {
      no_route++;
      send_net_unreachable(f, buf, (size_t)n);
      continue;
    }
    if (!decrement_ttl(buf)) {
      ttl++;
      continue;
    }
    iov[nsend].iov_base = buf;
    iov[nsend].iov_len = (size_t)n;
    memset(&msgs[nsend].msg_hdr, 0, sizeof msgs[nsend].msg_hdr);
    msgs[nsend].msg_hdr.msg_iov = &iov[nsend];
    msgs[nsend].msg_hdr.msg_iovlen = 1;
    msgs[nsend].msg_hdr.msg_name = &dst[nsend];
    msgs[nsend].msg_hdr.msg_namelen = sizeof dst[nsend];
    nsend++;
  }
  int sent = 0;
  while (sent < nsend) {
    int r = sendmmsg(f->udp, &msgs[sent], (unsigned)(nsend - sent), 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      /* A datagram the network refuses (e.g. no route to that peer): count it, go on. */
      COUNT(f, udp_send_errors, 1);
      sent++;
      continue;
    }
    sent += r;
    COUNT(f, udp_tx, r);
  }
  if (nread) COUNT(f, tun_rx, nread);
  if (no_route) COUNT(f, no_route, no_route);
  if (ttl) COUNT(f, ttl_expired, ttl);
  if (bad) COUNT(f, malformed, bad);
  return nread;
}

/* Receives a batch of datagrams and writes them to TUN; returns the datagrams received. */
static int udp_to_tun(struct forwarder *f) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = f->udp_bufs + (size_t)i * SLOT_BYTES;
    iov[i].iov_len = SLOT_BYTES;
    memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int n = recvmmsg(f->udp, msgs, BATCH, MSG_DONTWAIT, NULL);
  if (n <= 0) return 0;
  uint64_t written = 0, errors = 0, ttl = 0, bad = 0;
  for (int i = 0; i < n; i++) {
    uint8_t *buf = iov[i].iov_base;
    size_t len = msgs[i].msg_len;
    if (len < IPV4_HDR_MIN || (buf[0] >> 4) != 4 || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
      bad++;
      continue;
    }
    if (!decrement_ttl(buf)) {
      ttl++;
      continue;
    }
    for (;;) {
      ssize_t w = write(f->tun, buf, len);
      if (w == (ssize_t)len) {
        written++;
        break;
      }
      if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      errors++;
      break;
    }
  }
  COUNT(f, udp_rx, n);
  if (written) COUNT(f, tun_tx, written);
  if (errors) COUNT(f, tun_write_errors, errors);
  if (ttl) COUNT(f, ttl_expired, ttl);
  if (bad) COUNT(f, malformed, bad);
  return n;
}

/*
 * One thread per direction: on this kind of machine the sender's and the receiver's halves of a
 * TCP flow then run on different cores, and neither waits for the other's batch. Each polls its
 * descriptor and the stop pipe (one byte wakes both; nobody reads it).
 */
static void forward_loop(struct forwarder *f, int fd, int (*move)(struct forwarder *)) {
  struct pollfd fds[2] = {{.fd = fd, .events = POLLIN}, {.fd = f->stop_r, .events = POLLIN}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents) break;
    if (fds[0].revents & (POLLERR | POLLNVAL | POLLHUP)) break;
    /* While the descriptor has data, skip poll(): an EAGAIN costs less than a poll. */
    while (move(f) > 0) {
    }
  }
  __atomic_fetch_sub(&f->alive, 1, __ATOMIC_RELEASE);
}

static void *tun_loop(void *arg) {
  struct forwarder *f = arg;
  forward_loop(f, f->tun, tun_to_udp);
  return NULL;
}

static void *udp_loop(void *arg) {
  struct forwarder *f = arg;
  forward_loop(f, f->udp, udp_to_tun);
  return NULL;
}

static void forwarder_stop(struct forwarder *f) {
  if (f->started > 0) {
    char b = 1;
    ssize_t r = write(f->stop_w, &b, 1);
    (void)r;
    for (int i = 0; i < f->started; i++) pthread_join(f->threads[i], NULL);
    f->started = 0;
  }
  int *fds[] = {&f->tun, &f->udp, &f->stop_r, &f->stop_w};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
    if (*fds[i] >= 0) close(*fds[i]);
    *fds[i] = -1;
  }
}

static void forwarder_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct forwarder *f = data;
  forwarder_stop(f);
  pthread_mutex_destroy(&f->lock);
  free(f->routes.items);
  free(f->tun_bufs);
  free(f->udp_bufs);
  free(f);
}

static int parse_ipv4(napi_env env, napi_value v, struct in_addr *out, const char *name) {
  char text[64], msg[96];
  if (!arg_string(env, v, text, sizeof text, name)) return 0;
  if (inet_pton(AF_INET, text, out) != 1) {
    snprintf(msg, sizeof msg, "%s is not an IPv4 address", name);
    throw_type(env, msg);
    return 0;
  }
  return 1;
}

/* new Forwarder(tunFd, bindIp, port, icmpSource): takes ownership of tunFd. */
static napi_value forwarder_new(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], self;
  napi_get_cb_info(env, info, &argc, argv, &self, NULL);
  uint32_t tun_fd, port;
  struct in_addr bind_ip, tun_ip;
  if (argc < 4 || !arg_u32(env, argv[0], &tun_fd, "tunFd") || !parse_ipv4(env, argv[1], &bind_ip, "bindIp") || !arg_u32(env, argv[2], &port, "port") ||
      !parse_ipv4(env, argv[3], &tun_ip, "icmpSource"))
    return NULL;
  if (port > 65535) {
    throw_type(env, "port must be at most 65535");
    return NULL;
  }
  struct forwarder *f = calloc(1, sizeof *f);
  if (!f) {
    throw_errno(env, "calloc", "forwarder", ENOMEM);
    return NULL;
  }
  f->tun = (int)tun_fd;
  f->udp = f->stop_r = f->stop_w = -1;
  f->tun_ip = tun_ip.s_addr;
  pthread_mutex_init(&f->lock, NULL);
  f->tun_bufs = malloc((size_t)BATCH * SLOT_BYTES);
  f->udp_bufs = malloc((size_t)BATCH * SLOT_BYTES);
  if (!f->tun_bufs || !f->udp_bufs) {
    forwarder_free(env, f, NULL);
    throw_errno(env, "malloc", "packet buffers", ENOMEM);
    return NULL;
  }
  char where[64];
  snprintf(where, sizeof where, "%s:%u", inet_ntoa(bind_ip), port);
  f->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (f->udp < 0) {
    int err = errno;
    forwarder_free(env, f, NULL);
    throw_errno(env, "socket", "udp", err);
    return NULL;
  }
  int size = SOCKET_BUFFER_BYTES;
  if (setsockopt(f->udp, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) setsockopt(f->udp, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt(f->udp, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0) setsockopt(f->udp, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = bind_ip};
  if (bind(f->udp, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int err = errno;
    forwarder_free(env, f, NULL);
    throw_errno(env, "bind", where, err);
    return NULL;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    int err = errno;
    forwarder_free(env, f, NULL);
    throw_errno(env, "pipe2", "stop", err);
    return NULL;
  }
  f->stop_r = p[0];
  f->stop_w = p[1];
  void *(*loops[2])(void *) = {tun_loop, udp_loop};
  for (int i = 0; i < 2; i++) {
    __atomic_fetch_add(&f->alive, 1, __ATOMIC_RELAXED);
    int err = pthread_create(&f->threads[i], NULL, loops[i], f);
    if (err != 0) {
      __atomic_fetch_sub(&f->alive, 1, __ATOMIC_RELAXED);
      forwarder_free(env, f, NULL);
      throw_errno(env, "pthread_create", "forwarder", err);
      return NULL;
    }
    f->started++;
  }
  if (napi_wrap(env, self, f, forwarder_free, NULL, NULL) != napi_ok) {
    forwarder_free(env, f, NULL);
    napi_throw_error(env, "ERR_NAPI", "napi_wrap failed");
    return NULL;
  }
  return self;
}

static struct forwarder *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  napi_get_cb_info(env, info, argc, argv, &self, NULL);
  if (napi_unwrap(env, self, &data) != napi_ok || !data) {
    napi_throw_error(env, "ERR_INVALID_THIS", "not a Forwarder");
    return NULL;
  }
  return data;
}

static napi_value fw_set_route(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  struct forwarder *f = unwrap(env, info, &argc, argv);
  uint32_t net, len, ip, port;
  if (!f) return NULL;
  if (argc < 4 || !arg_u32(env, argv[0], &net, "net") || !arg_u32(env, argv[1], &len, "prefixLen") || !arg_u32(env, argv[2], &ip, "peerIp") ||
      !arg_u32(env, argv[3], &port, "peerPort"))
    return NULL;
  if (len > 32 || port > 65535) {
    throw_type(env, "prefixLen must be at most 32 and peerPort at most 65535");
    return NULL;
  }
  struct sockaddr_in hop = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = {.s_addr = htonl(ip)}};
  pthread_mutex_lock(&f->lock);
  int err = table_set(&f->routes, net, (uint8_t)len, &hop);
  pthread_mutex_unlock(&f->lock);
  if (err) throw_errno(env, "setRoute", "peer table", err);
  return NULL;
}

static napi_value fw_del_route(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  struct forwarder *f = unwrap(env, info, &argc, argv);
  uint32_t net, len;
  if (!f) return NULL;
  if (argc < 2 || !arg_u32(env, argv[0], &net, "net") || !arg_u32(env, argv[1], &len, "prefixLen")) return NULL;
  if (len > 32) {
    throw_type(env, "prefixLen must be at most 32");
    return NULL;
  }
  pthread_mutex_lock(&f->lock);
  int gone = table_del(&f->routes, net, (uint8_t)len);
  pthread_mutex_unlock(&f->lock);
  napi_get_boolean(env, gone, &result);
  return result;
}

static void set_count(napi_env env, napi_value obj, const char *name, uint64_t *field) {
  napi_value v;
  napi_create_double(env, (double)__atomic_load_n(field, __ATOMIC_RELAXED), &v);
  napi_set_named_property(env, obj, name, v);
}

static napi_value fw_stats(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  struct forwarder *f = unwrap(env, info, &argc, NULL);
  if (!f) return NULL;
  napi_value o, v;
  napi_create_object(env, &o);
  set_count(env, o, "tunReceived", &f->st.tun_rx);
  set_count(env, o, "udpSent", &f->st.udp_tx);
  set_count(env, o, "udpReceived", &f->st.udp_rx);
  set_count(env, o, "tunWritten", &f->st.tun_tx);
  set_count(env, o, "droppedNoRoute", &f->st.no_route);
  set_count(env, o, "droppedTtl", &f->st.ttl_expired);
  set_count(env, o, "droppedMalformed", &f->st.malformed);
  set_count(env, o, "udpSendErrors", &f->st.udp_send_errors);
  set_count(env, o, "tunWriteErrors", &f->st.tun_write_errors);
  set_count(env, o, "icmpUnreachableSent", &f->st.icmp_sent);
  pthread_mutex_lock(&f->lock);
  napi_create_double(env, (double)f->routes.n, &v);
  pthread_mutex_unlock(&f->lock);
  napi_set_named_property(env, o, "routes", v);
  napi_get_boolean(env, f->started == 2 && __atomic_load_n(&f->alive, __ATOMIC_ACQUIRE) == 2, &v);
  napi_set_named_property(env, o, "running", v);
  return o;
}

/* setIcmpSource(ip): the source address of ICMP errors (the lease's address on the TUN device). */
static napi_value fw_set_icmp_source(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct forwarder *f = unwrap(env, info, &argc, argv);
  struct in_addr ip;
  if (!f || argc < 1 || !parse_ipv4(env, argv[0], &ip, "ip")) return NULL;
  __atomic_store_n(&f->tun_ip, ip.s_addr, __ATOMIC_RELAXED);
  return NULL;
}

static napi_value fw_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  struct forwarder *f = unwrap(env, info, &argc, NULL);
  if (f) forwarder_stop(f);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn, cls;
  napi_create_function(env, "openTun", NAPI_AUTO_LENGTH, open_tun, NULL, &fn);
  napi_set_named_property(env, exports, "openTun", fn);
  napi_property_descriptor methods[] = {
      {"setRoute", NULL, fw_set_route, NULL, NULL, NULL, napi_default, NULL},
      {"delRoute", NULL, fw_del_route, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, fw_stats, NULL, NULL, NULL, napi_default, NULL},
      {"setIcmpSource", NULL, fw_set_icmp_source, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, fw_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_class(env, "Forwarder", NAPI_AUTO_LENGTH, forwarder_new, NULL, sizeof methods / sizeof methods[0], methods, &cls);
  napi_set_named_property(env, exports, "Forwarder", cls);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

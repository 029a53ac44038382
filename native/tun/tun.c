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
#include <linux/virtio_net.h>
#include <netinet/udp.h>
#include <sys/uio.h>
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
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  memcpy(ifr.ifr_name, name, strlen(name));
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    throw_errno(env, "ioctl(TUNSETIFF)", name, err);
    return NULL;
  }
  /* TSO4 needs checksum offload; a kernel that refuses both still gives plain packets. */
  if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4)) < 0) {
    int err = errno;
    close(fd);
    throw_errno(env, "ioctl(TUNSETOFFLOAD)", name, err);
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

static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline void put32(uint8_t *p, uint32_t v) {
  put16(p, (uint16_t)(v >> 16));
  put16(p + 2, (uint16_t)v);
}

/* The one's-complement sum of big-endian 16-bit words (RFC 1071), not yet folded. */
static uint64_t sum16(const uint8_t *p, size_t len, uint64_t sum) {
  size_t i = 0;
  for (; i + 1 < len; i += 2) sum += get16(p + i);
  if (len & 1) sum += (uint64_t)p[len - 1] << 8;
  return sum;
}

static uint16_t fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

static uint16_t checksum(const uint8_t *p, size_t len) { return (uint16_t)~fold(sum16(p, len, 0)); }

/* The pseudo-header sum of an IPv4 packet's transport segment of `len` bytes. */
static uint64_t pseudo_sum(const uint8_t *ip, uint8_t proto, size_t len) {
  return sum16(ip + 12, 8, 0) + proto + len;
}

/* Decrements the TTL and patches the header checksum (RFC 1624); 0 when the packet must die. */
static int decrement_ttl(uint8_t *ip) {
  if (ip[8] <= 1) return 0;
  uint16_t old_word = get16(ip + 8);
  ip[8]--;
  uint16_t check = (uint16_t)~fold((uint64_t)(uint16_t)~get16(ip + 10) + (uint16_t)~old_word + get16(ip + 8));
  put16(ip + 10, check);
  return 1;
}

/* ---- the forwarder ---------------------------------------------------------------------- */

/*
 * Offloads. The TUN device is opened with IFF_VNET_HDR and TSO4 + checksum offload: the kernel
 * hands over TCP segments of up to 64 KiB (one read instead of ~45) with a virtio_net_hdr in
 * front, which the forwarder cuts into MTU-sized packets itself and sends with UDP GSO (one
 * sendmsg per up to MAX_GSO_BYTES; each inner packet is still one datagram on the wire). The
 * socket has UDP_GRO: one receive returns a train of datagrams; consecutive in-order segments of
 * one TCP flow are written back to TUN as one TSO packet (virtio_net_hdr GSO_TCPV4), which the
 * kernel delivers as one. Every other packet goes one datagram, one write, as before.
 */
#define VNET_HDR sizeof(struct virtio_net_hdr)
#define IN_BYTES (VNET_HDR + 65536)
#define ARENA_BYTES (BATCH * 72 * 1024)
#define MAX_MSGS 1024
#define MAX_GSO_BYTES 60000
#define MAX_COALESCE 64
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_CWR 0x80

struct stats {
  uint64_t tun_rx, tun_rx_tso, udp_tx, udp_rx, udp_rx_trains, tun_tx, tun_tx_tso;
  uint64_t no_route, ttl_expired, malformed, udp_send_errors, tun_write_errors, icmp_sent;
};

/* What tun_to_udp sends in one sendmmsg: messages over an arena of packet bytes. */
struct tx_batch {
  struct mmsghdr msgs[MAX_MSGS];
  struct iovec iov[MAX_MSGS];
  struct sockaddr_in dst[MAX_MSGS];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctrl[MAX_MSGS];
  int n;
  size_t used;
  uint8_t *arena;
};

struct forwarder {
  int tun, udp, stop_r, stop_w;
  int udp_gso; /* the socket takes UDP_SEGMENT */
  uint32_t tun_ip; /* network order: the ICMP source (atomic) */
  pthread_t threads[2];
  int started;  /* threads created */
  int alive;    /* threads still forwarding (atomic) */
  pthread_mutex_t lock; /* guards routes */
  struct route_table routes;
  struct stats st;
  uint8_t *tun_in;       /* one TUN read */
  struct tx_batch *tx;   /* the TUN-to-UDP thread's send batch */
  uint8_t *udp_bufs;     /* the UDP-to-TUN thread's receive slots */
  uint8_t *merge;        /* its TSO packet under construction (with its virtio_net_hdr) */
};

#define COUNT(f, field, n) __atomic_fetch_add(&(f)->st.field, (uint64_t)(n), __ATOMIC_RELAXED)

/* Writes a packet to TUN behind a virtio_net_hdr (`vh`, or none: a plain, checksummed packet). */
static int tun_write(struct forwarder *f, const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len) {
  static const struct virtio_net_hdr plain;
  struct iovec iov[2] = {{.iov_base = (void *)(vh ? vh : &plain), .iov_len = VNET_HDR}, {.iov_base = (void *)pkt, .iov_len = len}};
  for (;;) {
    ssize_t w = writev(f->tun, iov, 2);
    if (w == (ssize_t)(VNET_HDR + len)) return 1;
    if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    COUNT(f, tun_write_errors, 1);
    return 0;
  }
}

/* ICMP destination (net) unreachable back into TUN, for a packet no peer can take. */
static void send_net_unreachable(struct forwarder *f, const uint8_t *pkt, size_t len) {
  size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
  if (ihl < IPV4_HDR_MIN || len < ihl + 8) return;
  if (pkt[9] == IPPROTO_ICMP) return;          /* never about an ICMP message */
  if ((get16(pkt + 6) & 0x1fff) != 0) return;  /* first fragment only */
  uint8_t out[20 + 8 + 60 + 8];
  size_t quoted = ihl + 8, total = 28 + quoted;
  memset(out, 0, 28);
  out[0] = 0x45;
  put16(out + 2, (uint16_t)total);
  out[8] = 64;
  out[9] = IPPROTO_ICMP;
  uint32_t src = __atomic_load_n(&f->tun_ip, __ATOMIC_RELAXED);
  memcpy(&out[12], &src, 4);
  memcpy(&out[16], &pkt[12], 4); /* to the sender */
  put16(out + 10, checksum(out, 20));
  out[20] = 3; /* destination unreachable */
  out[21] = 0; /* net unreachable */
  memcpy(&out[28], pkt, quoted);
  put16(out + 22, checksum(&out[20], 8 + quoted));
  if (tun_write(f, NULL, out, total)) COUNT(f, icmp_sent, 1);
}

/* Sends what the batch holds; failures are counted per message and skipped. */
static void tx_flush(struct forwarder *f) {
  struct tx_batch *b = f->tx;
  int sent = 0;
  while (sent < b->n) {
    int r = sendmmsg(f->udp, &b->msgs[sent], (unsigned)(b->n - sent), 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      /* A datagram the network refuses (e.g. no route to that peer): count it, go on. */
      COUNT(f, udp_send_errors, 1);
      sent++;
      continue;
    }
    for (int i = sent; i < sent + r; i++) {
      uint16_t seg = 0;
      if (b->msgs[i].msg_hdr.msg_controllen) memcpy(&seg, CMSG_DATA((struct cmsghdr *)b->ctrl[i].buf), sizeof seg);
      size_t len = b->iov[i].iov_len;
      COUNT(f, udp_tx, seg ? (len + seg - 1) / seg : 1);
    }
    sent += r;
  }
  b->n = 0;
  b->used = 0;
}

/* Room in the batch for `msgs` messages over `bytes` bytes, flushing first if need be. */
static uint8_t *tx_reserve(struct forwarder *f, int msgs, size_t bytes) {
  struct tx_batch *b = f->tx;
  if (b->n + msgs > MAX_MSGS || b->used + bytes > ARENA_BYTES) tx_flush(f);
  return b->arena + b->used;
}

/* Queues `len` bytes at `p` (inside the arena) to `dst`, as datagrams of `seg` bytes when seg > 0 (UDP GSO). */
static void tx_add(struct forwarder *f, uint8_t *p, size_t len, const struct sockaddr_in *dst, uint16_t seg) {
  struct tx_batch *b = f->tx;
  int i = b->n++;
  b->dst[i] = *dst;
  b->iov[i].iov_base = p;
  b->iov[i].iov_len = len;
  struct msghdr *m = &b->msgs[i].msg_hdr;
  memset(m, 0, sizeof *m);
  m->msg_name = &b->dst[i];
  m->msg_namelen = sizeof b->dst[i];
  m->msg_iov = &b->iov[i];
  m->msg_iovlen = 1;
  if (seg && len > seg) {
    m->msg_control = b->ctrl[i].buf;
    m->msg_controllen = CMSG_SPACE(sizeof seg);
    struct cmsghdr *c = CMSG_FIRSTHDR(m);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof seg);
    memcpy(CMSG_DATA(c), &seg, sizeof seg);
  }
}

/* Completes a partial checksum the kernel left (VIRTIO_NET_HDR_F_NEEDS_CSUM); 0 if out of bounds. */
static int finish_checksum(uint8_t *pkt, size_t len, const struct virtio_net_hdr *vh) {
  size_t start = vh->csum_start, at = start + vh->csum_offset;
  if (at + 2 > len || start >= len) return 0;
  put16(pkt + at, (uint16_t)~fold(sum16(pkt + start, len - start, 0)));
  return 1;
}

/*
 * Cuts a TSO packet (GSO_TCPV4, `mss` payload bytes per segment) into TCP/IPv4 packets, each
 * with its own IP id, length, sequence number, flags and both checksums, the TTL decremented,
 * and queues them for `dst`. Returns the packets made, 0 when the packet is malformed.
 */
static int segment_tcp(struct forwarder *f, const uint8_t *pkt, size_t len, uint16_t mss, const struct sockaddr_in *dst) {
  size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
  if (pkt[9] != IPPROTO_TCP || ihl < IPV4_HDR_MIN || len < ihl + 20 || mss == 0) return 0;
  size_t thl = (size_t)(pkt[ihl + 12] >> 4) * 4, hdr = ihl + thl;
  if (thl < 20 || len <= hdr) return 0;
  size_t payload = len - hdr, nseg = (payload + mss - 1) / mss, seg_bytes = hdr + mss;
  size_t per_msg = f->udp_gso ? MAX_GSO_BYTES / seg_bytes : 1;
  if (per_msg == 0) per_msg = 1;
  size_t msgs = (nseg + per_msg - 1) / per_msg;
  uint8_t *out = tx_reserve(f, (int)msgs, nseg * hdr + payload);
  uint16_t id0 = get16(pkt + 4);
  uint32_t seq0 = get32(pkt + ihl + 4);
  uint8_t flags = pkt[ihl + 13];
  uint8_t *msg_start = out;
  size_t in_msg = 0;
  for (size_t i = 0; i < nseg; i++) {
    size_t off = i * mss, l = payload - off < mss ? payload - off : mss;
    uint8_t *s = out;
    memcpy(s, pkt, hdr);
    memcpy(s + hdr, pkt + hdr + off, l);
    put16(s + 2, (uint16_t)(hdr + l));
    put16(s + 4, (uint16_t)(id0 + i));
    s[8] = (uint8_t)(s[8] - 1);
    put16(s + 10, 0);
    put16(s + 10, checksum(s, ihl));
    uint8_t *t = s + ihl;
    put32(t + 4, seq0 + (uint32_t)off);
    uint8_t fl = flags;
    if (i + 1 < nseg) fl &= (uint8_t)~(TCP_FIN | TCP_PSH);
    if (i > 0) fl &= (uint8_t)~TCP_CWR;
    t[13] = fl;
    put16(t + 16, 0);
    put16(t + 16, (uint16_t)~fold(sum16(t, thl + l, pseudo_sum(s, IPPROTO_TCP, thl + l))));
    out += hdr + l;
    if (++in_msg == per_msg || i + 1 == nseg) {
      tx_add(f, msg_start, (size_t)(out - msg_start), dst, f->udp_gso ? (uint16_t)seg_bytes : 0);
      msg_start = out;
      in_msg = 0;
    }
  }
  f->tx->used += (size_t)(out - (f->tx->arena + f->tx->used));
  return (int)nseg;
}

/* Reads a batch from TUN and sends what has a peer; returns the reads made. */
static int tun_to_udp(struct forwarder *f) {
  int nread = 0;
  uint64_t no_route = 0, ttl = 0, bad = 0, tso = 0;
  while (nread < BATCH) {
    ssize_t n = read(f->tun, f->tun_in, IN_BYTES);
    if (n < 0) break; /* EAGAIN: drained; other errors: the next poll tells */
    nread++;
    struct virtio_net_hdr vh;
    memcpy(&vh, f->tun_in, VNET_HDR);
    uint8_t *pkt = f->tun_in + VNET_HDR;
    size_t len = (size_t)n - VNET_HDR;
    if ((size_t)n < VNET_HDR + IPV4_HDR_MIN || (pkt[0] >> 4) != 4 || get16(pkt + 2) != len) {
      bad++;
      continue;
    }
    struct sockaddr_in hop;
    pthread_mutex_lock(&f->lock);
    const struct sockaddr_in *h = table_lookup(&f->routes, get32(pkt + 16));
    if (h) hop = *h;
    pthread_mutex_unlock(&f->lock);
    if (!h) {
      no_route++;
      send_net_unreachable(f, pkt, len);
      continue;
    }
    if (pkt[8] <= 1) {
      ttl++;
      continue;
    }
    uint8_t gso = vh.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
    if (gso == VIRTIO_NET_HDR_GSO_TCPV4) {
      if (segment_tcp(f, pkt, len, vh.gso_size, &hop)) tso++;
      else bad++;
      continue;
    }
    if (gso != VIRTIO_NET_HDR_GSO_NONE || ((vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !finish_checksum(pkt, len, &vh))) {
      bad++;
      continue;
    }
    uint8_t *out = tx_reserve(f, 1, len);
    memcpy(out, pkt, len);
    decrement_ttl(out);
    f->tx->used += len;
    tx_add(f, out, len, &hop, 0);
  }
  tx_flush(f);
  if (nread) COUNT(f, tun_rx, nread);
  if (tso) COUNT(f, tun_rx_tso, tso);
  if (no_route) COUNT(f, no_route, no_route);
  if (ttl) COUNT(f, ttl_expired, ttl);
  if (bad) COUNT(f, malformed, bad);
  return nread;
}

/*
 * The TSO packet being built from received segments: the first segment whole (TTL already
 * decremented), then the payloads of those that continue it.
 */
struct merge {
  size_t len;      /* bytes after the virtio_net_hdr */
  size_t hdr;      /* IP + TCP header bytes */
  size_t mss;      /* payload of the first segment: every one but the last must match it */
  size_t last;     /* payload of the last one appended */
  uint32_t next_seq;
  int count;
  int open;        /* the last segment had no PSH/FIN: more may follow */
};

/* Writes the packet under construction to TUN: as it is when it is one segment, else as TSO. */
static void merge_flush(struct forwarder *f, struct merge *m) {
  if (m->count == 0) return;
  uint8_t *pkt = f->merge + VNET_HDR;
  int ok;
  if (m->count == 1) {
    ok = tun_write(f, NULL, pkt, m->len);
  } else {
    size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
    put16(pkt + 2, (uint16_t)m->len);
    put16(pkt + 10, 0);
    put16(pkt + 10, checksum(pkt, ihl));
    /* CHECKSUM_PARTIAL: the field holds the pseudo-header sum; the kernel adds the rest per segment. */
    put16(pkt + ihl + 16, fold(pseudo_sum(pkt, IPPROTO_TCP, m->len - ihl)));
    struct virtio_net_hdr vh = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
        .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
        .hdr_len = (uint16_t)m->hdr,
        .gso_size = (uint16_t)m->mss,
        .csum_start = (uint16_t)ihl,
        .csum_offset = 16,
    };
    ok = tun_write(f, &vh, pkt, m->len);
    if (ok) COUNT(f, tun_tx_tso, 1);
  }
  if (ok) COUNT(f, tun_tx, m->count);
  m->count = 0;
  m->len = 0;
}

/* Whether `p` (a received IPv4 packet, TTL decremented) continues the TSO packet under construction. */
static int merge_fits(struct forwarder *f, const struct merge *m, const uint8_t *p, size_t len) {
  if (m->count == 0 || !m->open || m->count >= MAX_COALESCE || m->last != m->mss) return 0;
  const uint8_t *q = f->merge + VNET_HDR;
  size_t ihl = (size_t)(p[0] & 0x0f) * 4;
  if (ihl != IPV4_HDR_MIN || (q[0] & 0x0f) != 5 || p[9] != IPPROTO_TCP) return 0;
  size_t thl = (size_t)(p[ihl + 12] >> 4) * 4;
  if (ihl + thl != m->hdr || len <= m->hdr || len - m->hdr > m->mss || m->len + len - m->hdr > 65535) return 0;
  /* Same addresses, TOS, TTL, DF; no fragments. */
  if (p[1] != q[1] || p[8] != q[8] || memcmp(p + 12, q + 12, 8) != 0 || (get16(p + 6) & 0x3fff) != 0 || get16(p + 6) != get16(q + 6)) return 0;
  const uint8_t *pt = p + ihl, *qt = q + ihl;
  /* Same ports, ack, window; options identical; only ACK, or ACK + PSH to end it. */
  if (memcmp(pt, qt, 4) != 0 || memcmp(pt + 8, qt + 8, 4) != 0 || memcmp(pt + 14, qt + 14, 2) != 0 || memcmp(pt + 20, qt + 20, thl - 20) != 0) return 0;
  if ((pt[13] & (uint8_t)~TCP_PSH) != TCP_ACK || pt[12] != qt[12]) return 0;
  return get32(pt + 4) == m->next_seq;
}

/* Takes one received IPv4 packet: into the TSO packet under construction, or written on its own. */
static void merge_take(struct forwarder *f, struct merge *m, uint8_t *p, size_t len) {
  if (merge_fits(f, m, p, len)) {
    size_t pl = len - m->hdr;
    memcpy(f->merge + VNET_HDR + m->len, p + m->hdr, pl);
    m->len += pl;
    m->last = pl;
    m->next_seq += (uint32_t)pl;
    m->count++;
    uint8_t *qt = f->merge + VNET_HDR + IPV4_HDR_MIN;
    qt[13] |= p[IPV4_HDR_MIN + 13];
    m->open = !(p[IPV4_HDR_MIN + 13] & TCP_PSH);
    return;
  }
  merge_flush(f, m);
  size_t ihl = (size_t)(p[0] & 0x0f) * 4;
  int tcp = ihl == IPV4_HDR_MIN && p[9] == IPPROTO_TCP && len >= ihl + 20 && (get16(p + 6) & 0x3fff) == 0;
  size_t thl = tcp ? (size_t)(p[ihl + 12] >> 4) * 4 : 0;
  if (!tcp || thl < 20 || len <= ihl + thl || (p[ihl + 13] & (uint8_t)~TCP_PSH) != TCP_ACK) {
    if (tun_write(f, NULL, p, len)) COUNT(f, tun_tx, 1);
    return;
  }
  memcpy(f->merge + VNET_HDR, p, len);
  m->len = len;
  m->hdr = ihl + thl;
  m->mss = m->last = len - m->hdr;
  m->next_seq = get32(p + ihl + 4) + (uint32_t)m->mss;
  m->count = 1;
  m->open = !(p[ihl + 13] & TCP_PSH);
}

/* Receives a batch of datagram trains and writes their packets to TUN; returns the receives. */
static int udp_to_tun(struct forwarder *f) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctrl[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = f->udp_bufs + (size_t)i * IN_BYTES;
    iov[i].iov_len = IN_BYTES;
    memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_control = ctrl[i].buf;
    msgs[i].msg_hdr.msg_controllen = sizeof ctrl[i].buf;
  }
  int n = recvmmsg(f->udp, msgs, BATCH, MSG_DONTWAIT, NULL);
  if (n <= 0) return 0;
  uint64_t datagrams = 0, ttl = 0, bad = 0;
  struct merge m = {0};
  for (int i = 0; i < n; i++) {
    uint8_t *buf = iov[i].iov_base;
    size_t len = msgs[i].msg_len, seg = len;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int v = 0;
        memcpy(&v, CMSG_DATA(c), c->cmsg_len - CMSG_LEN(0) < sizeof v ? c->cmsg_len - CMSG_LEN(0) : sizeof v);
        if (v > 0) seg = (size_t)v;
      }
    }
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
      bad++;
      continue;
    }
    for (size_t off = 0; off < len; off += seg) {
      uint8_t *p = buf + off;
      size_t l = len - off < seg ? len - off : seg;
      datagrams++;
      if (l < IPV4_HDR_MIN || (p[0] >> 4) != 4 || get16(p + 2) != l || (size_t)(p[0] & 0x0f) * 4 < IPV4_HDR_MIN) {
        bad++;
        continue;
      }
      if (!decrement_ttl(p)) {
        ttl++;
        continue;
      }
      merge_take(f, &m, p, l);
    }
  }
  merge_flush(f, &m);
  COUNT(f, udp_rx, datagrams);
  COUNT(f, udp_rx_trains, n);
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
  free(f->tun_in);
  if (f->tx) free(f->tx->arena);
  free(f->tx);
  free(f->udp_bufs);
  free(f->merge);
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
  f->tun_in = malloc(IN_BYTES);
  f->tx = calloc(1, sizeof *f->tx);
  if (f->tx) f->tx->arena = malloc(ARENA_BYTES);
  f->udp_bufs = malloc((size_t)BATCH * IN_BYTES);
  f->merge = malloc(IN_BYTES);
  if (!f->tun_in || !f->tx || !f->tx->arena || !f->udp_bufs || !f->merge) {
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
  /* UDP GSO and GRO when the kernel has them (4.18, 5.0); without, one datagram per call. */
  int one = 1, probe = 1400, off = 0;
  f->udp_gso = setsockopt(f->udp, SOL_UDP, UDP_SEGMENT, &probe, sizeof probe) == 0 && setsockopt(f->udp, SOL_UDP, UDP_SEGMENT, &off, sizeof off) == 0;
  setsockopt(f->udp, SOL_UDP, UDP_GRO, &one, sizeof one);
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
  set_count(env, o, "tunReceivedTso", &f->st.tun_rx_tso);
  set_count(env, o, "udpReceivedTrains", &f->st.udp_rx_trains);
  set_count(env, o, "tunWrittenTso", &f->st.tun_tx_tso);
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

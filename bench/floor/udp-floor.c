/*
 * The kernel floor for the benchmark: a UDP responder in C that does almost
 * no work of its own, so its CPU per query is what the kernel's UDP path,
 * the wake-ups and the system calls cost on this machine. Every query gets
 * the same answer: its own question (the OPT record and anything after the
 * question dropped), QR and AA set, one A record pointing back at the
 * question name. No zone, no cache, no EDNS: a floor to measure DNS servers
 * against, never a DNS server.
 *
 *   udp-floor MODE PORT WORKERS ADDRESS [COALESCE_US]
 *
 * MODE is how datagrams are read and written:
 *   recvfrom  epoll, then recvfrom/sendto per datagram until EAGAIN
 *             (what NSD 4.6 from Debian does: it is built without recvmmsg)
 *   mmsg      epoll, then recvmmsg/sendmmsg in batches of 64, at most 4
 *             batches per wake-up (what shardns's mmsg engine does)
 *   block     no epoll: a blocking recvmmsg (MSG_WAITFORONE: it waits for
 *             the first datagram, then takes what is queued, up to 64),
 *             then sendmmsg (what shardns's --io thread engine does)
 *   uring     io_uring: one multishot recvmsg with a ring of provided
 *             buffers, replies as IORING_OP_SEND with the peer's address,
 *             the ring's descriptor waited on with epoll (kernel 6.0 or later)
 * PORT is bound on 127.0.0.1 with SO_REUSEPORT by WORKERS processes.
 * ADDRESS is the IPv4 address every answer carries.
 * COALESCE_US (block mode only; default 0, off): after a recvmmsg that
 * returned 2 or more datagrams, nanosleep this long (timer slack 1 µs)
 * before the next, as shardns's --udp-coalesce-us does.
 *
 * Built by the benchmark (bench/floor.ts) with the system's C compiler.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <time.h>

enum { BATCH = 64, BATCHES_PER_WAKE = 4, DGRAM = 4096, ANSWER_RR = 16 };

static struct in_addr answer_address;
static long coalesce_ns;

static void die(const char *what) {
  fprintf(stderr, "udp-floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

/*
 * Turns the query in buf[0, n) into the reply in place; returns its length,
 * or -1 to drop the datagram (too short, a response, or a name that runs
 * past the end). RFC 1035 §4.1: header, then the question's name, type and
 * class; the answer's owner is a pointer to offset 12 (§4.1.4).
 */
static int answer(unsigned char *buf, int n, int room) {
  if (n < 12 + 5 || (buf[2] & 0x80) || buf[4] != 0 || buf[5] != 1) return -1;
  int at = 12;
  while (at < n && buf[at] != 0) {
    if (buf[at] > 63) return -1;
    at += buf[at] + 1;
  }
  int end = at + 1 + 4;
  if (end > n || end + ANSWER_RR > room) return -1;
  buf[2] = 0x84 | (buf[2] & 0x01); /* QR, AA, RD copied */
  buf[3] = 0;                      /* NOERROR */
  buf[6] = 0, buf[7] = 1;          /* ANCOUNT 1 */
  buf[8] = buf[9] = buf[10] = buf[11] = 0;
  unsigned char rr[ANSWER_RR] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4};
  memcpy(rr + 12, &answer_address, 4);
  memcpy(buf + end, rr, ANSWER_RR);
  return end + ANSWER_RR;
}

static int open_socket(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) die("SO_REUSEPORT");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind 127.0.0.1");
  return fd;
}

static int watch(int fd) {
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  return ep;
}

static void wait_readable(int ep) {
  struct epoll_event ev;
  while (epoll_wait(ep, &ev, 1, -1) < 0)
    if (errno != EINTR) die("epoll_wait");
}

static void serve_recvfrom(int fd) {
  int ep = watch(fd);
  static unsigned char buf[DGRAM];
  for (;;) {
    wait_readable(ep);
    for (;;) {
      struct sockaddr_in6 from;
      socklen_t len = sizeof from;
      int n = (int)recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
      if (n < 0) break;
      int r = answer(buf, n, sizeof buf);
      if (r > 0) sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&from, len);
    }
  }
}

static void serve_mmsg_loop(int fd, int blocking) {
  int ep = blocking ? -1 : watch(fd);
  if (blocking) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) die("fcntl O_NONBLOCK");
  }
  static unsigned char buf[BATCH][DGRAM];
  static struct sockaddr_in6 names[BATCH];
  static struct iovec in_iov[BATCH], out_iov[BATCH];
  static struct mmsghdr in[BATCH], out[BATCH];
  for (int i = 0; i < BATCH; i++) {
    in_iov[i] = (struct iovec){.iov_base = buf[i], .iov_len = DGRAM};
    in[i].msg_hdr.msg_iov = &in_iov[i];
    in[i].msg_hdr.msg_iovlen = 1;
    in[i].msg_hdr.msg_name = &names[i];
    out[i].msg_hdr.msg_iov = &out_iov[i];
    out[i].msg_hdr.msg_iovlen = 1;
  }
  for (;;) {
    if (!blocking) wait_readable(ep);
    for (int turn = 0; turn < (blocking ? 1 : BATCHES_PER_WAKE); turn++) {
      for (int i = 0; i < BATCH; i++) in[i].msg_hdr.msg_namelen = sizeof names[i];
      int got = recvmmsg(fd, in, BATCH, blocking ? MSG_WAITFORONE : MSG_DONTWAIT, NULL);
      if (got <= 0) break;
      int k = 0;
      for (int i = 0; i < got; i++) {
        int r = answer(buf[i], (int)in[i].msg_len, DGRAM);
        if (r < 0) continue;
        out_iov[k] = (struct iovec){.iov_base = buf[i], .iov_len = (size_t)r};
        out[k].msg_hdr.msg_name = &names[i];
        out[k].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
        k++;
      }
      if (k > 0) sendmmsg(fd, out, (unsigned)k, MSG_DONTWAIT);
      if (blocking && coalesce_ns > 0 && got >= 2) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = coalesce_ns};
        nanosleep(&ts, NULL);
      }
      if (got < BATCH) break;
    }
  }
}

static void serve_mmsg(int fd) { serve_mmsg_loop(fd, 0); }
static void serve_block(int fd) { serve_mmsg_loop(fd, 1); }

/* io_uring without liburing: the rings are mapped by hand (io_uring(7)). */
struct ring {
  int fd;
  unsigned *sq_tail, sq_mask, *cq_head, *cq_tail, cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
  unsigned tail, pending;
};

static struct io_uring_sqe *next_sqe(struct ring *r) {
  struct io_uring_sqe *s = &r->sqes[r->tail & r->sq_mask];
  memset(s, 0, sizeof *s);
  r->tail++;
  r->pending++;
  return s;
}

static void submit(struct ring *r) {
  if (r->pending == 0) return;
  atomic_store_explicit((_Atomic unsigned *)r->sq_tail, r->tail, memory_order_release);
  while (syscall(__NR_io_uring_enter, r->fd, r->pending, 0, 0, NULL, 0) < 0)
    if (errno != EINTR && errno != EAGAIN && errno != EBUSY) die("io_uring_enter");
  r->pending = 0;
}

static void serve_uring(int fd) {
  enum { SQ = 256, CQ = 4096, BUFS = 1024, GROUP = 1, RECV = 1, SEND = 2 };
  struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE, .cq_entries = CQ};
  struct ring r = {0};
  r.fd = (int)syscall(__NR_io_uring_setup, SQ, &p);
  if (r.fd < 0) die("io_uring_setup (io_uring disabled? see /proc/sys/kernel/io_uring_disabled)");
  if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
    fprintf(stderr, "udp-floor: this kernel's io_uring is too old (no IORING_FEAT_SINGLE_MMAP)\n");
    exit(1);
  }
  size_t ring_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (cq_size > ring_size) ring_size = cq_size;
  unsigned char *ring = mmap(NULL, ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r.fd, IORING_OFF_SQ_RING);
  r.sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r.fd, IORING_OFF_SQES);
  if (ring == MAP_FAILED || r.sqes == MAP_FAILED) die("mmap io_uring");
  r.sq_tail = (unsigned *)(ring + p.sq_off.tail);
  r.sq_mask = *(unsigned *)(ring + p.sq_off.ring_mask);
  r.cq_head = (unsigned *)(ring + p.cq_off.head);
  r.cq_tail = (unsigned *)(ring + p.cq_off.tail);
  r.cq_mask = *(unsigned *)(ring + p.cq_off.ring_mask);
  r.cqes = (struct io_uring_cqe *)(ring + p.cq_off.cqes);
  unsigned *array = (unsigned *)(ring + p.sq_off.array);
  for (unsigned i = 0; i < p.sq_entries; i++) array[i] = i;
  r.tail = *r.sq_tail;

  /* Provided buffers: each receive takes one, the reply is built in it, and it goes back once sent. */
  struct io_uring_buf *bring = mmap(NULL, BUFS * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char *bufs = mmap(NULL, (size_t)BUFS * DGRAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (bring == MAP_FAILED || bufs == MAP_FAILED) die("mmap buffers");
  struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)bring, .ring_entries = BUFS, .bgid = GROUP};
  if (syscall(__NR_io_uring_register, r.fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0) die("IORING_REGISTER_PBUF_RING (kernel 5.19 or later)");
  unsigned short btail = 0;
  for (int i = 0; i < BUFS; i++, btail++) bring[btail & (BUFS - 1)] = (struct io_uring_buf){.addr = (uint64_t)(uintptr_t)(bufs + (size_t)i * DGRAM), .len = DGRAM, .bid = (uint16_t)i};
  atomic_store_explicit((_Atomic unsigned short *)&bring[0].resv, btail, memory_order_release);

  static struct msghdr shape = {.msg_namelen = sizeof(struct sockaddr_in6)};
  int armed = 0;
  int ep = watch(r.fd);
  /* Sends still in flight hold their buffer: returned when their completion comes (user_data = SEND | bid << 8). */
  for (;;) {
    if (!armed) {
      struct io_uring_sqe *s = next_sqe(&r);
      s->opcode = IORING_OP_RECVMSG;
      s->fd = fd;
      s->addr = (uint64_t)(uintptr_t)&shape;
      s->len = 1;
      s->ioprio = IORING_RECV_MULTISHOT;
      s->flags = IOSQE_BUFFER_SELECT;
      s->buf_group = GROUP;
      s->user_data = RECV;
      armed = 1;
    }
    submit(&r);
    wait_readable(ep);
    unsigned head = *r.cq_head;
    unsigned tail = atomic_load_explicit((_Atomic unsigned *)r.cq_tail, memory_order_acquire);
    for (; head != tail; head++) {
      struct io_uring_cqe *c = &r.cqes[head & r.cq_mask];
      if ((c->user_data & 0xff) == SEND) {
        unsigned bid = (unsigned)(c->user_data >> 8);
        bring[btail & (BUFS - 1)] = (struct io_uring_buf){.addr = (uint64_t)(uintptr_t)(bufs + (size_t)bid * DGRAM), .len = DGRAM, .bid = (uint16_t)bid};
        btail++;
        continue;
      }
      if (!(c->flags & IORING_CQE_F_MORE)) armed = 0;
      if (c->res < 0 || !(c->flags & IORING_CQE_F_BUFFER)) continue; /* ENOBUFS: re-armed above once buffers are back */
      unsigned bid = c->flags >> IORING_CQE_BUFFER_SHIFT;
      unsigned char *b = bufs + (size_t)bid * DGRAM;
      struct io_uring_recvmsg_out *o = (struct io_uring_recvmsg_out *)b;
      unsigned char *name = b + sizeof *o;
      unsigned char *payload = name + shape.msg_namelen;
      int room = DGRAM - (int)(payload - b);
      int n = (o->flags & MSG_TRUNC) ? -1 : answer(payload, (int)o->payloadlen, room);
      if (n < 0) {
        bring[btail & (BUFS - 1)] = (struct io_uring_buf){.addr = (uint64_t)(uintptr_t)b, .len = DGRAM, .bid = (uint16_t)bid};
        btail++;
        continue;
      }
      if (r.pending >= SQ - 1) submit(&r);
      struct io_uring_sqe *s = next_sqe(&r);
      s->opcode = IORING_OP_SEND;
      s->fd = fd;
      s->addr = (uint64_t)(uintptr_t)payload;
      s->len = (unsigned)n;
      s->addr2 = (uint64_t)(uintptr_t)name;
      s->addr_len = (uint16_t)o->namelen;
      s->user_data = SEND | ((uint64_t)bid << 8);
    }
    atomic_store_explicit((_Atomic unsigned *)r.cq_head, head, memory_order_release);
    atomic_store_explicit((_Atomic unsigned short *)&bring[0].resv, btail, memory_order_release);
  }
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: udp-floor recvfrom|mmsg|block|uring PORT WORKERS ADDRESS [COALESCE_US]\n");
    return 2;
  }
  const char *mode = argv[1];
  int port = atoi(argv[2]), workers = atoi(argv[3]);
  if (port <= 0 || port > 65535 || workers < 1 || workers > 64 || inet_pton(AF_INET, argv[4], &answer_address) != 1) {
    fprintf(stderr, "udp-floor: bad port, worker count or IPv4 address\n");
    return 2;
  }
  if (argc == 6) {
    long us = atol(argv[5]);
    if (us < 0 || us > 1000 || strcmp(mode, "block") != 0) {
      fprintf(stderr, "udp-floor: COALESCE_US is 0 to 1000, block mode only\n");
      return 2;
    }
    coalesce_ns = us * 1000;
    if (coalesce_ns > 0 && prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0) < 0) die("prctl PR_SET_TIMERSLACK");
  }
  void (*serve)(int) = strcmp(mode, "recvfrom") == 0 ? serve_recvfrom : strcmp(mode, "mmsg") == 0 ? serve_mmsg : strcmp(mode, "block") == 0 ? serve_block : strcmp(mode, "uring") == 0 ? serve_uring : NULL;
  if (serve == NULL) {
    fprintf(stderr, "udp-floor: unknown mode %s (recvfrom, mmsg, block or uring)\n", mode);
    return 2;
  }
  /* Workers 2..N are children in the same process group: the benchmark stops the group. */
  for (int w = 1; w < workers; w++) {
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) break;
  }
  serve(open_socket(port));
  return 0;
}

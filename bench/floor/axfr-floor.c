/*
 * The AXFR floor for the benchmark: a TCP responder in C that answers every
 * query on a connection with one pre-captured zone transfer stream (the
 * framed messages, length fields included, as a server sent them), its
 * message IDs set to the query's, from memory and as fast as the kernel
 * takes it. No zone, no parsing beyond the query's ID: a floor to measure
 * DNS servers' transfers against (what a client such as kdig takes when the
 * server costs nothing), never a DNS server.
 *
 *   axfr-floor PORT STREAM MODE [SNDBUF]
 *
 * PORT is bound on 127.0.0.1. STREAM is a file of framed messages
 * (2-octet length, message, …). MODE is how the octets are written:
 *   message  one blocking write() per framed message (what NSD's writev of
 *            length and message, and shardns's one write per message, give
 *            the kernel)
 *   bulk     blocking write()s of the whole rest of the stream (the kernel
 *            takes as much as the socket buffer holds each time)
 * SNDBUF, when given and not 0, is set as SO_SNDBUF on every connection.
 * TCP_NODELAY is set, as NSD and shardns set it. One connection at a time.
 *
 * Built by the benchmark (bench/axfr.ts) with the system's C compiler.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_full(int fd, uint8_t *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r == 0) return -1;
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    got += (size_t)r;
  }
  return 0;
}

static int write_full(int fd, const uint8_t *buf, size_t n) {
  size_t put = 0;
  while (put < n) {
    ssize_t w = write(fd, buf + put, n - put);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    put += (size_t)w;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: axfr-floor PORT STREAM message|bulk [SNDBUF]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  int bulk = strcmp(argv[3], "bulk") == 0;
  if (!bulk && strcmp(argv[3], "message") != 0) {
    fprintf(stderr, "axfr-floor: MODE must be message or bulk, not %s\n", argv[3]);
    return 2;
  }
  int sndbuf = argc > 4 ? atoi(argv[4]) : 0;
  signal(SIGPIPE, SIG_IGN);

  FILE *f = fopen(argv[2], "rb");
  if (!f) {
    perror("axfr-floor: the stream file");
    return 1;
  }
  struct stat st;
  fstat(fileno(f), &st);
  size_t size = (size_t)st.st_size;
  uint8_t *stream = malloc(size);
  if (!stream || fread(stream, 1, size, f) != size) {
    fprintf(stderr, "axfr-floor: could not read %s\n", argv[2]);
    return 1;
  }
  fclose(f);
  /* Where every message starts (its length field), to set the IDs and write a message at a time. */
  size_t count = 0, cap = 4096;
  size_t *starts = malloc(cap * sizeof *starts);
  for (size_t at = 0; at + 2 <= size;) {
    size_t len = ((size_t)stream[at] << 8) | stream[at + 1];
    if (len < 12 || at + 2 + len > size) {
      fprintf(stderr, "axfr-floor: %s is not a stream of framed messages at octet %zu\n", argv[2], at);
      return 1;
    }
    if (count == cap) starts = realloc(starts, (cap *= 2) * sizeof *starts);
    starts[count++] = at;
    at += 2 + len;
  }

  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, 64) < 0) {
    perror("axfr-floor: bind/listen");
    return 1;
  }
  fprintf(stderr, "axfr-floor: %zu messages, %zu octets, mode %s, port %d\n", count, size, argv[3], port);

  uint8_t query[2 + 65535];
  for (;;) {
    int c = accept(ls, NULL, NULL);
    if (c < 0) continue;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (sndbuf > 0) setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    /* Every query gets the whole stream (a probe over TCP gets it too: the benchmark asks over UDP). */
    while (read_full(c, query, 2) == 0) {
      size_t qlen = ((size_t)query[0] << 8) | query[1];
      if (qlen < 12 || read_full(c, query + 2, qlen) < 0) break;
      for (size_t i = 0; i < count; i++) memcpy(stream + starts[i] + 2, query + 2, 2);
      int failed = 0;
      if (bulk) failed = write_full(c, stream, size) < 0;
      else
        for (size_t i = 0; i < count && !failed; i++) {
          size_t end = i + 1 < count ? starts[i + 1] : size;
          failed = write_full(c, stream + starts[i], end - starts[i]) < 0;
        }
      if (failed) break;
    }
    close(c);
  }
}

/*
 * udp-flood: one DNS query sent at a set rate from many source addresses
 * (a spoofed-source flood, on loopback, where Linux answers any 127/8
 * address), batched with sendmmsg; replies read with recvmmsg and counted
 * whole or truncated (TC). Built and run by bench/rrl.ts; prints one JSON line.
 *
 *   udp-flood HOST PORT QPS SECONDS QUERY_HEX SOURCE[,SOURCE...]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOURCES 1024
#define BATCH 64
#define MAX_SECONDS 600

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int fds[MAX_SOURCES];
static int nfds;
static unsigned long long whole, truncated, whole_per_second[MAX_SECONDS + 2];
static double t0;

/* Reads every reply waiting on every socket. */
static void drain_replies(void) {
    static unsigned char bufs[BATCH][512];
    static struct iovec iov[BATCH];
    static struct mmsghdr msgs[BATCH];
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    for (int s = 0; s < nfds; s++) {
        for (;;) {
            int n = recvmmsg(fds[s], msgs, BATCH, MSG_DONTWAIT, NULL);
            if (n <= 0) break;
            for (int i = 0; i < n; i++) {
                if (msgs[i].msg_len < 4) continue;
                if (bufs[i][2] & 0x02) {
                    truncated++;
                } else {
                    whole++;
                    int sec = (int)(now_s() - t0);
                    if (sec >= 0 && sec <= MAX_SECONDS) whole_per_second[sec]++;
                }
            }
            if (n < BATCH) break;
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: udp-flood HOST PORT QPS SECONDS QUERY_HEX SOURCE[,SOURCE...]\n");
        return 2;
    }
    struct sockaddr_in to = {0};
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
        fprintf(stderr, "udp-flood: %s is not an IPv4 address\n", argv[1]);
        return 2;
    }
    double qps = atof(argv[3]);
    double seconds = atof(argv[4]);
    if (seconds > MAX_SECONDS) seconds = MAX_SECONDS;
    size_t hexlen = strlen(argv[5]);
    size_t qlen = hexlen / 2;
    unsigned char query[512];
    if (qlen == 0 || qlen > sizeof query) {
        fprintf(stderr, "udp-flood: bad query\n");
        return 2;
    }
    for (size_t i = 0; i < qlen; i++) sscanf(argv[5] + 2 * i, "%2hhx", &query[i]);

    char *list = strdup(argv[6]);
    for (char *tok = strtok(list, ","); tok && nfds < MAX_SOURCES; tok = strtok(NULL, ",")) {
        struct sockaddr_in from = {0};
        from.sin_family = AF_INET;
        if (inet_pton(AF_INET, tok, &from.sin_addr) != 1) {
            fprintf(stderr, "udp-flood: %s is not an IPv4 address\n", tok);
            return 2;
        }
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int size = 1 << 21;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        if (fd < 0 || bind(fd, (struct sockaddr *)&from, sizeof from) != 0) {
            fprintf(stderr, "udp-flood: cannot bind %s: %s\n", tok, strerror(errno));
            return 1;
        }
        fds[nfds++] = fd;
    }

    struct iovec iov = {query, qlen};
    struct mmsghdr msgs[BATCH];
    for (int i = 0; i < BATCH; i++) {
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_name = &to;
        msgs[i].msg_hdr.msg_namelen = sizeof to;
        msgs[i].msg_hdr.msg_iov = &iov;
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    unsigned long long sent = 0, send_errors = 0;
    int next = 0;
    t0 = now_s();
    for (;;) {
        double elapsed = now_s() - t0;
        if (elapsed >= seconds) break;
        unsigned long long owed = (unsigned long long)(elapsed * qps);
        while (sent < owed) {
            int n = owed - sent > BATCH ? BATCH : (int)(owed - sent);
            int k = sendmmsg(fds[next], msgs, n, 0);
            if (k <= 0) {
                /* A full send buffer: count the datagram as sent and lost, as a flood would. */
                send_errors += n;
                k = n;
            }
            sent += k;
            next = (next + 1) % nfds;
        }
        drain_replies();
        struct timespec pause = {0, 200000};
        nanosleep(&pause, NULL);
    }
    double spent = now_s() - t0;
    double end = now_s() + 0.5;
    while (now_s() < end) {
        drain_replies();
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    int secs = (int)spent + 1;
    printf("{\"sent\":%llu,\"sendErrors\":%llu,\"whole\":%llu,\"truncated\":%llu,\"seconds\":%.3f,\"wholePerSecond\":[", sent, send_errors, whole, truncated, spent);
    for (int i = 0; i < secs && i <= MAX_SECONDS; i++) printf("%s%llu", i ? "," : "", whole_per_second[i]);
    printf("]}\n");
    return 0;
}

/*
 * syscall-floor: what one fleet command costs the kernel alone, on this machine.
 *
 * N loopback TCP connections in one process. A "controller" thread writes one small message
 * (the size of a tagged setLevel frame) to every connection, then reads one reply (an ack and a
 * status report, as one segment) from each, through epoll. A "lamp" thread answers each
 * message with one write. No parsing, no crypto, no allocation: only the syscalls a controller
 * cannot avoid (one write and one read per lamp, plus epoll) and the TCP work they cause.
 * Each thread's CPU time (CLOCK_THREAD_CPUTIME_ID) over the rounds, per lamp per command, is
 * the floor under lamplighterd's and lampsim's CPU per lamp per command (issue 13).
 *
 *   cc -O2 -pthread -o syscall-floor syscall-floor.c && ./syscall-floor 5000 20
 *
 * Both ends live in this process, so N is at most about 9,900 under a 20,000-file limit.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { COMMAND_BYTES = 26, REPLY_BYTES = 70, MAX_EVENTS = 256 };

static int lamps, rounds;
static int *controller_fds, *lamp_fds;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static double thread_cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double wall_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Reads `count` messages of `size` bytes from the descriptors in `epoll` (one per
 * connection per round); if `reply` is not NULL, answers each with it. */
static void serve(int epoll, int count, int size, const char *reply, int reply_size) {
    struct epoll_event events[MAX_EVENTS];
    char buffer[4096];
    int seen = 0;
    while (seen < count) {
        int ready = epoll_wait(epoll, events, MAX_EVENTS, 10000);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) die("epoll_wait (timed out?)");
        for (int i = 0; i < ready; i++) {
            int fd = events[i].data.fd;
            ssize_t n = read(fd, buffer, sizeof buffer);
            if (n <= 0) die("read");
            seen += (int)(n / size);
            if (reply && write(fd, reply, reply_size) != reply_size) die("write reply");
        }
    }
}

static double lamp_cpu;

static void *lamp_thread(void *unused) {
    (void)unused;
    int epoll = epoll_create1(0);
    for (int i = 0; i < lamps; i++) {
        struct epoll_event event = {.events = EPOLLIN, .data.fd = lamp_fds[i]};
        if (epoll_ctl(epoll, EPOLL_CTL_ADD, lamp_fds[i], &event) < 0) die("epoll_ctl");
    }
    char reply[REPLY_BYTES];
    memset(reply, 7, sizeof reply);
    double start = thread_cpu_seconds();
    serve(epoll, lamps * rounds, COMMAND_BYTES, reply, REPLY_BYTES);
    lamp_cpu = thread_cpu_seconds() - start;
    return NULL;
}

int main(int argc, char **argv) {
    lamps = argc > 1 ? atoi(argv[1]) : 5000;
    rounds = argc > 2 ? atoi(argv[2]) : 20;
    if (lamps < 1 || lamps > 9900 || rounds < 1 || rounds > 10000) {
        fprintf(stderr, "usage: syscall-floor [LAMPS 1-9900] [ROUNDS 1-10000]\n");
        return 64;
    }
    controller_fds = calloc(lamps, sizeof(int));
    lamp_fds = calloc(lamps, sizeof(int));
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 4096) < 0) die("listen");
    getsockname(listener, (struct sockaddr *)&address, &length);
    int one = 1;
    for (int i = 0; i < lamps; i++) {
        lamp_fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (lamp_fds[i] < 0) die("socket");
        if (connect(lamp_fds[i], (struct sockaddr *)&address, sizeof address) < 0) die("connect");
        controller_fds[i] = accept(listener, NULL, NULL);
        if (controller_fds[i] < 0) die("accept");
        setsockopt(lamp_fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(controller_fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    int epoll = epoll_create1(0);
    for (int i = 0; i < lamps; i++) {
        struct epoll_event event = {.events = EPOLLIN, .data.fd = controller_fds[i]};
        if (epoll_ctl(epoll, EPOLL_CTL_ADD, controller_fds[i], &event) < 0) die("epoll_ctl");
    }
    pthread_t lamp;
    pthread_create(&lamp, NULL, lamp_thread, NULL);
    char command[COMMAND_BYTES];
    memset(command, 1, sizeof command);
    double start = thread_cpu_seconds(), began = wall_seconds();
    for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < lamps; i++) {
            if (write(controller_fds[i], command, COMMAND_BYTES) != COMMAND_BYTES) die("write command");
        }
        serve(epoll, lamps, REPLY_BYTES, NULL, 0);
    }
    double controller_cpu = thread_cpu_seconds() - start, wall = wall_seconds() - began;
    pthread_join(lamp, NULL);
    double commands = (double)lamps * rounds;
    printf("syscall-floor: %d lamps x %d rounds\n", lamps, rounds);
    printf("  controller CPU per lamp per command  %6.2f us  (one write, one read, epoll)\n", controller_cpu / commands * 1e6);
    printf("  lamp side CPU per lamp per command   %6.2f us  (one read, one write, epoll)\n", lamp_cpu / commands * 1e6);
    printf("  wall per command (all %d answered)  %6.1f ms\n", lamps, wall / rounds * 1e3);
    return 0;
}

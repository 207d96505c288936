/*
 * Acceptor thread: poll(2) on the listening socket and a stop eventfd,
 * accept4 in a loop, post each socket to a worker. When the process runs
 * out of descriptors it logs once per second and backs off for 100 ms
 * instead of spinning on a listening socket that stays readable.
 */
#include "acceptor.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "server.h"
#include "worker.h"

struct acceptor {
    struct server *server;
    pthread_t thread;
    int stop_fd;
};

static struct worker *least_loaded(struct server *s, unsigned *next)
{
    struct worker *best = NULL;
    unsigned best_clients = 0;

    /* Start from a rotating index so ties spread round-robin. */
    for (unsigned i = 0; i < s->worker_count; i++) {
        struct worker *w = s->workers[(*next + i) % s->worker_count];
        unsigned n = atomic_load_explicit(&w->clients, memory_order_relaxed);
        if (best == NULL || n < best_clients) {
            best = w;
            best_clients = n;
        }
    }
    *next = (*next + 1) % s->worker_count;
    return best;
}

static void *acceptor_main(void *arg)
{
    struct acceptor *a = arg;
    struct server *s = a->server;
    struct pollfd fds[2] = {
        {.fd = s->listen_fd, .events = POLLIN},
        {.fd = a->stop_fd, .events = POLLIN},
    };
    unsigned next = 0;
    int64_t last_fd_warning = 0;

    for (;;) {
        int r = poll(fds, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            log_event(LOG_ERROR, "poll_failed", "error=\"%s\"",
                      strerror(errno));
            break;
        }
        if (fds[1].revents != 0)
            break;

        /* Take everything pending, then poll again. */
        for (;;) {
            int fd =
                accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                    errno == ENOMEM) {
                    int64_t now = clock_monotonic_ms();
                    if (now - last_fd_warning >= 1000) {
                        log_event(LOG_WARN, "accept_failed", "error=\"%s\"",
                                  strerror(errno));
                        last_fd_warning = now;
                    }
                    poll(&fds[1], 1, 100);
                }
                break; /* EAGAIN, or a per-connection error like ECONNABORTED */
            }
            struct command cmd = {.type = CMD_ACCEPT, .fd = fd};
            if (!worker_post(least_loaded(s, &next), &cmd)) {
                log_event(LOG_WARN, "accept_dropped",
                          "reason=worker_queue_full");
                close(fd);
            }
        }
    }
    return NULL;
}

struct acceptor *acceptor_start(struct server *s)
{
    struct acceptor *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->server = s;
    a->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (a->stop_fd < 0) {
        free(a);
        return NULL;
    }
    int err = pthread_create(&a->thread, NULL, acceptor_main, a);
    if (err != 0) {
        log_event(LOG_ERROR, "acceptor_start_failed", "error=\"%s\"",
                  strerror(err));
        close(a->stop_fd);
        free(a);
        return NULL;
    }
    return a;
}

void acceptor_stop(struct acceptor *a)
{
    uint64_t one = 1;

    if (a == NULL)
        return;
    if (write(a->stop_fd, &one, sizeof(one)) != sizeof(one))
        log_event(LOG_ERROR, "acceptor_stop_failed", "error=\"%s\"",
                  strerror(errno));
    pthread_join(a->thread, NULL);
    close(a->stop_fd);
    free(a);
}

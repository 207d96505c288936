/*
 * The acceptor thread: owns the listening socket, accepts connections and
 * hands each to the least-loaded worker through its mailbox. It does no
 * protocol work.
 */
#ifndef SIGNAL_ACCEPTOR_H
#define SIGNAL_ACCEPTOR_H

#include <stdbool.h>

struct server;
struct acceptor;

struct acceptor *acceptor_start(struct server *s);

/* Stops accepting and joins the thread. The listening socket stays open
 * until server shutdown closes it. */
void acceptor_stop(struct acceptor *a);

#endif

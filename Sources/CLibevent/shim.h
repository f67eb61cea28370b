#ifndef POLDER_CLIBEVENT_SHIM_H
#define POLDER_CLIBEVENT_SHIM_H

// glibc headers first, so this module and CSodium agree on feature macros (see SWIFT-C-NOTES).
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/select.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>

/// Function-like macros Swift cannot import.
static inline struct event *polder_evsignal_new(struct event_base *base, int signum,
                                                event_callback_fn callback, void *arg) {
    return event_new(base, signum, EV_SIGNAL | EV_PERSIST, callback, arg);
}

static inline struct event *polder_evtimer_new(struct event_base *base, event_callback_fn callback,
                                               void *arg) {
    return event_new(base, -1, 0, callback, arg);
}

static inline struct event *polder_evuser_new(struct event_base *base, event_callback_fn callback,
                                              void *arg) {
    return event_new(base, -1, EV_PERSIST, callback, arg);
}

#endif

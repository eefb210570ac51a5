/* Subscribes to a service and prints every push, from a callback.
 *
 *   subscriber --endpoint 127.0.0.1:9600[,HOST:PORT...] --data-id com.example.OrderService:1.0 \
 *       [--scope global] [--until-empty]
 *
 * With --until-empty it exits once the service had providers and then has none; otherwise
 * it runs until Ctrl-C.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "roster.h"

typedef struct {
    pthread_mutex_t lock; /* also keeps the "subscribed" line first */
    pthread_cond_t changed;
    bool until_empty, had_providers, gone;
} state_t;

/* Called on a Roster thread, one call at a time; the data is borrowed for the call. */
static void on_data(void *user_data, const roster_subscriber_data_t *data) {
    state_t *st = user_data;
    pthread_mutex_lock(&st->lock);
    printf("c subscriber: v%llu {", (unsigned long long)roster_subscriber_data_version(data));
    for (size_t z = 0; z < roster_subscriber_data_zone_count(data); z++) {
        printf("%s%s=[", z ? ", " : "", roster_subscriber_data_zone(data, z));
        for (size_t i = 0; i < roster_subscriber_data_item_count(data, z); i++)
            printf("%s%s", i ? ", " : "", roster_subscriber_data_item(data, z, i));
        printf("]");
    }
    printf("}\n");
    fflush(stdout);
    size_t len = roster_subscriber_data_len(data);
    st->had_providers |= len > 0;
    if (st->until_empty && st->had_providers && len == 0) {
        st->gone = true;
        pthread_cond_signal(&st->changed);
    }
    pthread_mutex_unlock(&st->lock);
}

static int failed(roster_error_t *e, const char *what) {
    if (!e) return 0;
    fprintf(stderr, "c subscriber: %s: %s\n", what, e->message);
    roster_error_free(e);
    return 1;
}

static const char *arg(int argc, char **argv, const char *name, const char *otherwise) {
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return otherwise;
}

int main(int argc, char **argv) {
    state_t st = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, false};
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--until-empty")) st.until_empty = true;
    roster_subscribe_options_t sub_options = {.scope = arg(argc, argv, "--scope", "global")};

    roster_options_t *options = roster_options_new();
    roster_client_t *client = NULL;
    roster_subscriber_t *subscriber = NULL;
    int status = 1;
    if (failed(roster_options_set(options, "endpoints", arg(argc, argv, "--endpoint", "127.0.0.1:9600")), "endpoints") ||
        failed(roster_options_set(options, "appName", "c-subscriber"), "appName") ||
        failed(roster_client_new(options, &client), "client") ||
        failed(roster_client_wait_connected(client, 10000), "connect"))
        goto done;

    /* The first push may reach the callback before subscribe returns: the lock keeps the
     * "subscribed" line first. */
    pthread_mutex_lock(&st.lock);
    roster_error_t *e = roster_client_subscribe(client, arg(argc, argv, "--data-id", "com.example.OrderService:1.0"),
                                                &sub_options, on_data, &st, 0, &subscriber);
    if (!e) {
        printf("c subscriber: subscribed to %s\n", roster_subscriber_data_info_id(subscriber));
        fflush(stdout);
    }
    pthread_mutex_unlock(&st.lock);
    if (failed(e, "subscribe")) goto done;

    if (st.until_empty) {
        pthread_mutex_lock(&st.lock);
        while (!st.gone) pthread_cond_wait(&st.changed, &st.lock);
        pthread_mutex_unlock(&st.lock);
    } else {
        sigset_t set;
        int sig;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        sigwait(&set, &sig);
    }
    status = 0;
done:
    roster_subscriber_free(subscriber); /* stops the callback, then unsubscribes */
    roster_client_free(client);
    roster_options_free(options);
    return status;
}

/* Publishes one address for a service until Ctrl-C (or for --seconds N).
 *
 *   publisher --endpoint 127.0.0.1:9600 --data-id com.example.OrderService:1.0 \
 *       --data bolt://127.0.0.1:12200?weight=100 [--seconds N]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "roster.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

/* Prints and frees an error; returns 1 if there was one. */
static int failed(roster_error_t *e, const char *what) {
    if (!e) return 0;
    fprintf(stderr, "c publisher: %s: %s\n", what, e->message);
    roster_error_free(e);
    return 1;
}

static const char *arg(int argc, char **argv, const char *name, const char *otherwise) {
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return otherwise;
}

int main(int argc, char **argv) {
    const char *endpoint = arg(argc, argv, "--endpoint", "127.0.0.1:9600");
    const char *data_id = arg(argc, argv, "--data-id", "com.example.OrderService:1.0");
    const char *address = arg(argc, argv, "--data", "bolt://127.0.0.1:12200?weight=100");
    int seconds = atoi(arg(argc, argv, "--seconds", "0"));

    roster_options_t *options = roster_options_new();
    roster_client_t *client = NULL;
    roster_publisher_t *publisher = NULL;
    int status = 1;
    if (failed(roster_options_set(options, "endpoints", endpoint), "endpoints") ||
        failed(roster_options_set(options, "appName", "c-publisher"), "appName") ||
        failed(roster_client_new(options, &client), "client") ||
        failed(roster_client_wait_connected(client, 10000), "connect") ||
        failed(roster_client_publish(client, data_id, &address, 1, NULL, 0, &publisher), "publish"))
        goto done;
    printf("c publisher: published %s under %s\n", address, roster_publisher_data_info_id(publisher));
    fflush(stdout);

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    for (int waited = 0; !stop && (seconds == 0 || waited < seconds * 10); waited++)
        usleep(100 * 1000);
    if (failed(roster_publisher_unregister(publisher, 0), "unregister")) goto done;
    printf("c publisher: unregistered\n");
    status = 0;
done:
    roster_publisher_free(publisher); /* NULL is fine */
    roster_client_free(client);       /* closes it */
    roster_options_free(options);
    return status;
}

/* The C API against an in-process reference server: one test per run, named on the command
 * line (ctest runs each as its own test). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "roster.h"

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

#define OK(call)                                                                           \
    do {                                                                                   \
        roster_error_t *e_ = (call);                                                       \
        if (e_) {                                                                          \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, e_->message); \
            roster_error_free(e_);                                                         \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* The call fails with `code` and a message that starts with `prefix`. */
#define FAILS(call, code_, prefix)                                                         \
    do {                                                                                   \
        roster_error_t *e_ = (call);                                                       \
        if (!e_ || e_->code != (code_) || strncmp(e_->message, (prefix), strlen(prefix))) { \
            fprintf(stderr, "%s:%d: %s: expected %s \"%s...\", got %s \"%s\"\n", __FILE__, \
                    __LINE__, #call, roster_code_name(code_), (prefix),                  \
                    e_ ? roster_code_name(e_->code) : "success", e_ ? e_->message : "");  \
            exit(1);                                                                       \
        }                                                                                  \
        roster_error_free(e_);                                                             \
    } while (0)

#define WAIT_MS 10000
static const char *SVC = "com.example.CService:1.0";

static roster_test_server_t *server(void) {
    roster_test_server_t *s = NULL;
    OK(roster_test_server_start(0, 1000, &s));
    return s;
}

static roster_client_t *client_in(const char *endpoint, const char *zone) {
    roster_options_t *o = roster_options_new();
    OK(roster_options_set(o, "endpoints", endpoint));
    OK(roster_options_set(o, "appName", "ctest"));
    if (zone) OK(roster_options_set(o, "zone", zone));
    roster_client_t *c = NULL;
    OK(roster_client_new(o, &c));
    roster_options_free(o);
    OK(roster_client_wait_connected(c, WAIT_MS));
    return c;
}

static roster_client_t *client(roster_test_server_t *s) {
    return client_in(roster_test_server_endpoint(s), NULL);
}

static size_t count(roster_test_server_t *s, int which) {
    size_t n[3];
    roster_test_server_counts(s, &n[0], &n[1], &n[2]);
    return n[which];
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Waits for data with `len` items, newer than `*version`; updates `*version`. */
static roster_subscriber_data_t *wait_len(roster_subscriber_t *sub, size_t len, uint64_t *version) {
    for (;;) {
        roster_subscriber_data_t *d = NULL;
        OK(roster_subscriber_wait_newer(sub, *version, WAIT_MS, &d));
        *version = roster_subscriber_data_version(d);
        if (roster_subscriber_data_len(d) == len) return d;
        roster_subscriber_data_free(d);
    }
}

/* ---- what a callback saw ---------------------------------------------------------- */

typedef struct {
    pthread_mutex_t lock;
    int calls;
    size_t last_len;
    uint64_t last_version;
    int went_back; /* a version not newer than the one before */
    int on_main;   /* a call on the thread that subscribed */
    pthread_t main;
    long delay_ms; /* how long each call sleeps */
    char first_item[128];
} seen_t;

static void seen_init(seen_t *s) {
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->main = pthread_self();
}

static void on_data(void *user_data, const roster_subscriber_data_t *data) {
    seen_t *s = user_data;
    pthread_mutex_lock(&s->lock);
    s->calls++;
    uint64_t v = roster_subscriber_data_version(data);
    if (s->calls > 1 && v <= s->last_version) s->went_back = 1;
    if (pthread_equal(pthread_self(), s->main)) s->on_main = 1;
    s->last_version = v;
    s->last_len = roster_subscriber_data_len(data);
    const char *first = roster_subscriber_data_item(data, 0, 0);
    snprintf(s->first_item, sizeof s->first_item, "%s", first ? first : "");
    pthread_mutex_unlock(&s->lock);
    if (s->delay_ms) sleep_ms(s->delay_ms);
}

/* Waits until the callback saw data with `len` items whose first item is `first`. */
static void wait_seen(seen_t *s, size_t len, const char *first) {
    for (int i = 0; i < WAIT_MS / 5; i++) {
        pthread_mutex_lock(&s->lock);
        int done = s->calls > 0 && s->last_len == len && (!first || !strcmp(s->first_item, first));
        pthread_mutex_unlock(&s->lock);
        if (done) return;
        sleep_ms(5);
    }
    fprintf(stderr, "the callback never saw %zu items (last %zu, \"%s\")\n", len, s->last_len, s->first_item);
    exit(1);
}

/* ---- the tests ---------------------------------------------------------------------- */

static void publish_then_subscribe_and_subscribe_then_publish(void) {
    roster_test_server_t *srv = server();
    roster_client_t *provider = client(srv), *consumer = client(srv);
    const char *a[] = {"bolt://10.0.0.1:12200"};
    roster_publisher_t *p1 = NULL, *p2 = NULL;
    OK(roster_client_publish(provider, "svc.c.First", a, 1, NULL, 0, &p1));
    roster_subscribe_options_t global = {.scope = "global"};
    roster_subscriber_t *s1 = NULL, *s2 = NULL;
    OK(roster_client_subscribe(consumer, "svc.c.First", &global, NULL, NULL, 0, &s1));
    uint64_t v = 0;
    roster_subscriber_data_t *d = wait_len(s1, 1, &v);
    CHECK(!strcmp(roster_subscriber_data_item(d, 0, 0), "bolt://10.0.0.1:12200"));
    CHECK(!strcmp(roster_subscriber_data_zone(d, 0), "DEFAULT_ZONE"));
    CHECK(!strcmp(roster_subscriber_data_data_info_id(d), "svc.c.First#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP"));
    CHECK(!strcmp(roster_subscriber_data_scope(d), "global"));
    CHECK(!roster_subscriber_data_from_cache(d));
    CHECK(roster_subscriber_data_item(d, 0, 1) == NULL && roster_subscriber_data_zone(d, 1) == NULL);
    roster_subscriber_data_free(d);

    OK(roster_client_subscribe(consumer, "svc.c.Later", &global, NULL, NULL, 0, &s2));
    uint64_t v2 = 0;
    roster_subscriber_data_free(wait_len(s2, 0, &v2));
    OK(roster_client_publish(provider, "svc.c.Later", a, 1, NULL, 0, &p2));
    uint64_t before = v2;
    roster_subscriber_data_t *later = wait_len(s2, 1, &v2);
    CHECK(v2 > before);
    /* What changed since the empty list it had. */
    CHECK(roster_subscriber_data_added_count(later) == 1);
    CHECK(!strcmp(roster_subscriber_data_added(later, 0), "bolt://10.0.0.1:12200"));
    CHECK(roster_subscriber_data_added(later, 1) == NULL);
    CHECK(roster_subscriber_data_removed_count(later) == 0 && roster_subscriber_data_removed(later, 0) == NULL);
    CHECK(roster_subscriber_data_added_count(NULL) == 0 && roster_subscriber_data_removed(NULL, 0) == NULL);
    roster_subscriber_data_free(later);

    roster_publisher_free(p1);
    roster_publisher_free(p2);
    roster_subscriber_free(s1);
    roster_subscriber_free(s2);
    roster_client_free(provider);
    roster_client_free(consumer);
    roster_test_server_free(srv);
}

static void callbacks_see_each_newer_version_down_to_empty(void) {
    roster_test_server_t *srv = server();
    roster_client_t *provider = client(srv), *consumer = client(srv);
    seen_t seen;
    seen_init(&seen);
    roster_subscriber_t *sub = NULL;
    OK(roster_client_subscribe(consumer, SVC, NULL, on_data, &seen, 0, &sub));
    const char *one[] = {"bolt://10.0.0.1:1"};
    const char *two[] = {"bolt://10.0.0.1:1", "bolt://10.0.0.2:1"};
    roster_publisher_t *pub = NULL;
    OK(roster_client_publish(provider, SVC, one, 1, NULL, 0, &pub));
    wait_seen(&seen, 1, "bolt://10.0.0.1:1");
    roster_publisher_state_t *state = NULL;
    OK(roster_publisher_current(pub, &state));
    uint64_t v1 = roster_publisher_state_version(state);
    CHECK(roster_publisher_state_len(state) == 1);
    roster_publisher_state_free(state);
    OK(roster_publisher_republish(pub, two, 2, 0));
    OK(roster_publisher_current(pub, &state));
    CHECK(roster_publisher_state_version(state) > v1);
    CHECK(roster_publisher_state_len(state) == 2);
    CHECK(strcmp(roster_publisher_state_item(state, 1), "bolt://10.0.0.2:1") == 0);
    CHECK(roster_publisher_state_item(state, 2) == NULL);
    roster_publisher_state_free(state);
    wait_seen(&seen, 2, NULL);
    OK(roster_publisher_unregister(pub, 0));
    state = (roster_publisher_state_t *)1;
    OK(roster_publisher_current(pub, &state));
    CHECK(state == NULL); /* unregistered */
    wait_seen(&seen, 0, NULL);
    CHECK(count(srv, 1) == 0);
    CHECK(!seen.went_back);
    CHECK(!seen.on_main);
    roster_publisher_free(pub);
    roster_subscriber_free(sub);
    roster_client_free(provider);
    roster_client_free(consumer);
    roster_test_server_free(srv);
}

static void peek_and_wait_with_a_time_out(void) {
    roster_test_server_t *srv = server();
    roster_client_t *c = client(srv);
    roster_subscriber_t *sub = NULL;
    OK(roster_client_subscribe(c, SVC, NULL, NULL, NULL, 0, &sub));
    uint64_t v = 0;
    roster_subscriber_data_free(wait_len(sub, 0, &v));
    roster_subscriber_data_t *d = (roster_subscriber_data_t *)1;
    FAILS(roster_subscriber_wait_newer(sub, v, 100, &d), ROSTER_TIMEOUT, "TIMEOUT: no data of com.example.CService:1.0#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP "
          "matched within 100 ms; the latest is version ");
    CHECK(d == NULL);
    const char *x[] = {"x"};
    roster_publisher_t *pub = NULL;
    OK(roster_client_publish(c, SVC, x, 1, NULL, 0, &pub));
    roster_subscriber_data_free(wait_len(sub, 1, &v));
    OK(roster_subscriber_peek(sub, &d));
    CHECK(d && roster_subscriber_data_len(d) == 1 && !strcmp(roster_subscriber_data_item(d, 0, 0), "x"));
    roster_subscriber_data_free(d);

    /* Nothing pushed yet (no registry reachable): peek gives NULL. */
    roster_options_t *o = roster_options_new();
    OK(roster_options_set(o, "endpoints", "127.0.0.1:1"));
    roster_client_t *offline = NULL;
    OK(roster_client_new(o, &offline));
    roster_options_free(o);
    roster_subscriber_t *nothing = NULL;
    OK(roster_client_subscribe(offline, SVC, NULL, NULL, NULL, 0, &nothing));
    OK(roster_subscriber_peek(nothing, &d));
    CHECK(d == NULL);
    CHECK(!roster_client_is_connected(offline));
    roster_subscriber_free(nothing);
    roster_client_free(offline);

    roster_publisher_free(pub);
    roster_subscriber_free(sub);
    roster_client_free(c);
    roster_test_server_free(srv);
}

static void a_zone_scope_sees_its_zone_a_global_one_every_zone(void) {
    roster_test_server_t *srv = server();
    const char *ep = roster_test_server_endpoint(srv);
    roster_client_t *a = client_in(ep, "zone-a"), *b = client_in(ep, "zone-b");
    const char *in_a[] = {"in-a"}, *in_b[] = {"in-b"};
    roster_publisher_t *pa = NULL, *pb = NULL;
    OK(roster_client_publish(a, SVC, in_a, 1, NULL, 0, &pa));
    OK(roster_client_publish(b, SVC, in_b, 1, NULL, 0, &pb));
    roster_subscribe_options_t global = {.scope = "global"}, zone = {.scope = "zone"},
                               dc = {.scope = "dataCenter"};
    roster_subscriber_t *everyone = NULL, *mine = NULL, *center = NULL;
    OK(roster_client_subscribe(a, SVC, &global, NULL, NULL, 0, &everyone));
    OK(roster_client_subscribe(a, SVC, &zone, NULL, NULL, 0, &mine));
    OK(roster_client_subscribe(b, SVC, &dc, NULL, NULL, 0, &center));
    uint64_t v = 0;
    roster_subscriber_data_t *d = wait_len(everyone, 2, &v);
    CHECK(roster_subscriber_data_zone_count(d) == 2);
    CHECK(!strcmp(roster_subscriber_data_zone(d, 0), "zone-a") && !strcmp(roster_subscriber_data_item(d, 0, 0), "in-a"));
    CHECK(!strcmp(roster_subscriber_data_zone(d, 1), "zone-b") && roster_subscriber_data_item_count(d, 1) == 1);
    roster_subscriber_data_free(d);
    v = 0;
    d = wait_len(mine, 1, &v);
    CHECK(!strcmp(roster_subscriber_data_item(d, 0, 0), "in-a"));
    roster_subscriber_data_free(d);
    v = 0;
    roster_subscriber_data_free(wait_len(center, 2, &v));
    roster_subscriber_free(everyone);
    roster_subscriber_free(mine);
    roster_subscriber_free(center);
    roster_publisher_free(pa);
    roster_publisher_free(pb);
    roster_client_free(a);
    roster_client_free(b);
    roster_test_server_free(srv);
}

static void bad_input_is_invalid_argument_naming_it(void) {
    roster_test_server_t *srv = server();
    roster_client_t *c = client(srv);
    roster_publisher_t *p = NULL;
    roster_subscriber_t *s = NULL;
    const char *x[] = {"x"};
    const char *with_null[] = {"a", NULL};
    const char bad_utf8[] = {'s', 'v', 'c', (char)0xff, 0};
    FAILS(roster_client_publish(NULL, SVC, x, 1, NULL, 0, &p), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: client must not be NULL");
    FAILS(roster_client_publish(c, NULL, x, 1, NULL, 0, &p), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: dataId must not be NULL");
    FAILS(roster_client_publish(c, "", x, 1, NULL, 0, &p), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: dataId must not be empty");
    FAILS(roster_client_publish(c, bad_utf8, x, 1, NULL, 0, &p), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: dataId is not valid UTF-8");
    FAILS(roster_client_publish(c, SVC, with_null, 2, NULL, 0, &p), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: data[1] must not be NULL");
    FAILS(roster_client_publish(c, SVC, NULL, 3, NULL, 0, &p), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: data must not be NULL when its length is 3");
    FAILS(roster_client_publish(c, SVC, x, 1, NULL, 0, NULL), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: out must not be NULL");
    FAILS(roster_client_subscribe(c, "a#@#b", NULL, NULL, NULL, 0, &s), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: dataId");
    roster_subscribe_options_t galaxy = {.scope = "galaxy"};
    FAILS(roster_client_subscribe(c, SVC, &galaxy, NULL, NULL, 0, &s), ROSTER_INVALID_ARGUMENT,
          "INVALID_ARGUMENT: scope \"galaxy\" is not one of \"zone\", \"dataCenter\", \"global\"");
    CHECK(p == NULL && s == NULL);

    roster_options_t *o = roster_options_new();
    FAILS(roster_options_set(o, "colour", "red"), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: unknown option \"colour\"; the options are endpoints, appName");
    FAILS(roster_options_set(o, "requestTimeoutMs", "soon"), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: requestTimeoutMs must be a number, got \"soon\"");
    FAILS(roster_options_set(NULL, "zone", "z"), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: options must not be NULL");
    OK(roster_options_set(o, "endpoints", "nowhere"));
    roster_client_t *bad = (roster_client_t *)1;
    FAILS(roster_client_new(o, &bad), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: endpoint \"nowhere\" is not host:port");
    CHECK(bad == NULL);
    OK(roster_options_set(o, "endpoints", "127.0.0.1:1"));
    OK(roster_options_set(o, "migration_threshold", "2"));
    FAILS(roster_client_new(o, &bad), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: migrationThreshold must be between 0 and 1, got 2");
    OK(roster_options_set(o, "migration_threshold", "1"));
    /* TLS and credentials options reach the core, which reads the CA file when the client is made. */
    FAILS(roster_options_set(o, "tls", "maybe"), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: tls must be true or false, got \"maybe\"");
    OK(roster_options_set(o, "tls", "true"));
    OK(roster_options_set(o, "accessKey", "orders"));
    FAILS(roster_client_new(o, &bad), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: credentials: accessKey and secretKey must both be given");
    OK(roster_options_set(o, "secretKey", "s3cret"));
    OK(roster_options_set(o, "tlsCaFile", "/nonexistent/ca.pem"));
    FAILS(roster_client_new(o, &bad), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: tls.caFile /nonexistent/ca.pem: ");
    roster_options_free(o);
    FAILS(roster_log_to_stderr("roster_core=loud"), ROSTER_INVALID_ARGUMENT, "INVALID_ARGUMENT: filter \"roster_core=loud\" does not parse");

    /* Codes have the names every Roster language uses. */
    CHECK(!strcmp(roster_code_name(ROSTER_INVALID_ARGUMENT), "INVALID_ARGUMENT"));
    CHECK(!strcmp(roster_code_name(ROSTER_SHUT_DOWN), "SHUT_DOWN"));
    CHECK(!strcmp(roster_code_name(ROSTER_INTERNAL), "INTERNAL"));
    CHECK(!strcmp(roster_code_name(ROSTER_UNAUTHENTICATED), "UNAUTHENTICATED"));
    CHECK(!strcmp(roster_code_name(ROSTER_PERMISSION_DENIED), "PERMISSION_DENIED"));
    CHECK(!strcmp(roster_code_name(99), "UNKNOWN"));
    CHECK(!strcmp(roster_version(), "0.1.0"));
    roster_client_free(c);
    roster_test_server_free(srv);
}

static void no_registry_is_not_connected(void) {
    roster_options_t *o = roster_options_new();
    OK(roster_options_set(o, "endpoints", "127.0.0.1:1"));
    OK(roster_options_set(o, "connectTimeoutMs", "200"));
    roster_client_t *c = NULL;
    OK(roster_client_new(o, &c));
    roster_options_free(o);
    FAILS(roster_client_wait_connected(c, 300), ROSTER_NOT_CONNECTED,
          "NOT_CONNECTED: no registry node answered within 300 ms (tried 127.0.0.1:1; last error: ");
    roster_client_free(c);
}

static void handles_after_close_are_shut_down_and_free_takes_null(void) {
    roster_test_server_t *srv = server();
    roster_client_t *c = client(srv);
    const char *x[] = {"x"};
    roster_publisher_t *p = NULL, *kept = NULL;
    roster_subscriber_t *s = NULL;
    OK(roster_client_publish(c, SVC, x, 1, NULL, 0, &p));
    OK(roster_client_publish(c, "svc.c.Kept", x, 1, NULL, 0, &kept));
    OK(roster_publisher_unregister(p, 0));
    OK(roster_publisher_unregister(p, 0)); /* twice is fine */
    FAILS(roster_publisher_republish(p, x, 1, 0), ROSTER_SHUT_DOWN, "SHUT_DOWN: publisher ");
    OK(roster_client_subscribe(c, SVC, NULL, NULL, NULL, 0, &s));
    OK(roster_subscriber_unsubscribe(s, 0));
    roster_subscriber_data_t *d = NULL;
    FAILS(roster_subscriber_peek(s, &d), ROSTER_SHUT_DOWN, "SHUT_DOWN: subscriber ");

    OK(roster_client_close(c, 0));
    OK(roster_client_close(c, 0)); /* twice is fine */
    CHECK(count(srv, 1) == 0);     /* close unregistered what it held */
    roster_publisher_t *late = NULL;
    FAILS(roster_client_publish(c, SVC, x, 1, NULL, 0, &late), ROSTER_SHUT_DOWN, "SHUT_DOWN: the client is closed");
    roster_subscriber_t *late_sub = (roster_subscriber_t *)1;
    FAILS(roster_client_subscribe(c, SVC, NULL, NULL, NULL, 0, &late_sub), ROSTER_SHUT_DOWN, "SHUT_DOWN");
    CHECK(late_sub == NULL && late == NULL); /* out pointers are NULL on error */
    FAILS(roster_publisher_republish(kept, x, 1, 0), ROSTER_SHUT_DOWN, "SHUT_DOWN");

    roster_publisher_free(p);
    roster_publisher_free(kept);
    roster_subscriber_free(s);
    roster_client_free(c);
    roster_client_free(NULL);
    roster_publisher_free(NULL);
    roster_subscriber_free(NULL);
    roster_subscriber_data_free(NULL);
    roster_options_free(NULL);
    roster_error_free(NULL);
    roster_test_server_free(NULL);
    CHECK(roster_subscriber_data_len(NULL) == 0 && roster_client_id(NULL) == NULL);
    roster_test_server_free(srv);
}

static void freeing_a_publisher_unregisters_it(void) {
    roster_test_server_t *srv = server();
    roster_client_t *c = client(srv);
    const char *x[] = {"x"};
    roster_publisher_t *p = NULL;
    OK(roster_client_publish(c, SVC, x, 1, NULL, 0, &p));
    CHECK(count(srv, 1) == 1);
    roster_publisher_free(p);
    for (int i = 0; i < 1000 && count(srv, 1) != 0; i++) sleep_ms(5);
    CHECK(count(srv, 1) == 0);
    roster_client_free(c);
    roster_test_server_free(srv);
}

static void a_callback_is_never_called_after_unsubscribe_returns(void) {
    roster_test_server_t *srv = server();
    roster_client_t *c = client(srv);
    seen_t seen;
    seen_init(&seen);
    seen.delay_ms = 20;
    roster_subscriber_t *sub = NULL;
    OK(roster_client_subscribe(c, SVC, NULL, on_data, &seen, 0, &sub));
    roster_publisher_t *pub = NULL;
    const char *v0[] = {"v0"};
    OK(roster_client_publish(c, SVC, v0, 1, NULL, 0, &pub));
    wait_seen(&seen, 1, "v0");
    for (int i = 1; i <= 5; i++) {
        char item[16];
        snprintf(item, sizeof item, "v%d", i);
        const char *items[] = {item};
        OK(roster_publisher_republish(pub, items, 1, 0));
    }
    OK(roster_subscriber_unsubscribe(sub, 0));
    pthread_mutex_lock(&seen.lock);
    int calls = seen.calls;
    pthread_mutex_unlock(&seen.lock);
    const char *more[] = {"more"};
    OK(roster_publisher_republish(pub, more, 1, 0));
    sleep_ms(300);
    pthread_mutex_lock(&seen.lock);
    CHECK(seen.calls == calls);
    pthread_mutex_unlock(&seen.lock);
    roster_publisher_free(pub);
    roster_subscriber_free(sub);
    roster_client_free(c);
    roster_test_server_free(srv);
}

/* A callback that calls the client (a blocking publish) and then unsubscribes itself. */
typedef struct {
    roster_client_t *client;
    roster_subscriber_t *_Atomic self;
    atomic_int calls;
    atomic_int unsubscribed; /* its own unsubscribe returned, with no error */
    roster_publisher_t *published;
} reentrant_t;

static void unsubscribe_self(void *user_data, const roster_subscriber_data_t *data) {
    (void)data;
    reentrant_t *r = user_data;
    if (atomic_fetch_add(&r->calls, 1) != 0) return;
    const char *echo[] = {"echo"};
    OK(roster_client_publish(r->client, "com.example.Echo:1.0", echo, 1, NULL, 0, &r->published));
    roster_subscriber_t *self;
    while (!(self = atomic_load(&r->self))) sleep_ms(1);
    OK(roster_subscriber_unsubscribe(self, 0));
    atomic_store(&r->unsubscribed, 1);
}

static void a_callback_can_call_the_client_and_unsubscribe_itself(void) {
    roster_test_server_t *srv = server();
    roster_client_t *c = client(srv);
    reentrant_t r = {.client = c};
    roster_subscriber_t *sub = NULL;
    OK(roster_client_subscribe(c, SVC, NULL, unsubscribe_self, &r, 0, &sub));
    atomic_store(&r.self, sub);
    roster_publisher_t *pub = NULL;
    const char *v0[] = {"v0"};
    OK(roster_client_publish(c, SVC, v0, 1, NULL, 0, &pub));
    for (int i = 0; i < WAIT_MS / 5 && !atomic_load(&r.unsubscribed); i++) sleep_ms(5);
    CHECK(atomic_load(&r.unsubscribed));
    CHECK(r.published != NULL);
    CHECK(count(srv, 1) == 2); /* both publishers reached the server */
    const char *v1[] = {"v1"};
    OK(roster_publisher_republish(pub, v1, 1, 0));
    sleep_ms(300);
    CHECK(atomic_load(&r.calls) == 1);
    roster_subscriber_data_t *d = NULL;
    FAILS(roster_subscriber_peek(sub, &d), ROSTER_SHUT_DOWN, "SHUT_DOWN");
    roster_publisher_free(r.published);
    roster_publisher_free(pub);
    roster_subscriber_free(sub);
    roster_client_free(c);
    roster_test_server_free(srv);
}

static void a_slow_callback_gets_the_newest_data_next(void) {
    roster_test_server_t *srv = server();
    roster_client_t *c = client(srv);
    seen_t seen;
    seen_init(&seen);
    seen.delay_ms = 200;
    roster_subscriber_t *sub = NULL;
    const char *v0[] = {"v0"};
    roster_publisher_t *pub = NULL;
    OK(roster_client_publish(c, SVC, v0, 1, NULL, 0, &pub));
    OK(roster_client_subscribe(c, SVC, NULL, on_data, &seen, 0, &sub));
    wait_seen(&seen, 1, "v0");
    for (int i = 1; i <= 20; i++) {
        char item[16];
        snprintf(item, sizeof item, "v%d", i);
        const char *items[] = {item};
        OK(roster_publisher_republish(pub, items, 1, 0));
    }
    wait_seen(&seen, 1, "v20");
    CHECK(seen.calls < 10);
    CHECK(!seen.went_back);
    roster_publisher_free(pub);
    roster_subscriber_free(sub);
    roster_client_free(c);
    roster_test_server_free(srv);
}

static void a_thousand_subscribers_with_callbacks_each_get_every_change(void) {
    enum { N = 1000 };
    roster_test_server_t *srv = server();
    roster_client_t *provider = client(srv), *consumer = client(srv);
    static seen_t seen[N];
    static roster_subscriber_t *subs[N];
    const char *v1[] = {"v1"}, *v2[] = {"v2"};
    roster_publisher_t *pub = NULL;
    OK(roster_client_publish(provider, SVC, v1, 1, NULL, 0, &pub));
    for (int i = 0; i < N; i++) {
        seen_init(&seen[i]);
        OK(roster_client_subscribe(consumer, SVC, NULL, on_data, &seen[i], 0, &subs[i]));
    }
    for (int i = 0; i < N; i++) wait_seen(&seen[i], 1, "v1");
    OK(roster_publisher_republish(pub, v2, 1, 0));
    for (int i = 0; i < N; i++) wait_seen(&seen[i], 1, "v2");
    CHECK(count(srv, 2) == N);
    for (int i = 0; i < N; i++) roster_subscriber_free(subs[i]);
    roster_publisher_free(pub);
    roster_client_free(provider);
    roster_client_free(consumer);
    roster_test_server_free(srv);
}

static void after_a_server_restart_everything_is_redone(void) {
    roster_test_server_t *first = server();
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "%s", roster_test_server_endpoint(first));
    uint16_t port = (uint16_t)atoi(strrchr(endpoint, ':') + 1);
    roster_client_t *provider = client(first), *consumer = client(first);
    const char *x[] = {"bolt://10.0.0.9:1"};
    roster_publisher_t *pub = NULL;
    roster_subscriber_t *sub = NULL;
    OK(roster_client_publish(provider, SVC, x, 1, NULL, 0, &pub));
    roster_subscribe_options_t global = {.scope = "global"};
    OK(roster_client_subscribe(consumer, SVC, &global, NULL, NULL, 0, &sub));
    uint64_t v = 0;
    roster_subscriber_data_free(wait_len(sub, 1, &v));
    roster_test_server_free(first);

    roster_test_server_t *second = NULL;
    OK(roster_test_server_start(port, 1000, &second));
    OK(roster_client_wait_connected(provider, WAIT_MS));
    OK(roster_client_wait_connected(consumer, WAIT_MS));
    for (int i = 0; i < WAIT_MS / 10 && (count(second, 1) != 1 || count(second, 2) != 1); i++) sleep_ms(10);
    CHECK(count(second, 1) == 1 && count(second, 2) == 1);
    /* Pushed again by the new server (which may push its empty list first). */
    uint64_t again = 0;
    roster_subscriber_data_t *d = wait_len(sub, 1, &again);
    CHECK(!strcmp(roster_subscriber_data_item(d, 0, 0), "bolt://10.0.0.9:1"));
    roster_subscriber_data_free(d);
    roster_publisher_free(pub);
    roster_subscriber_free(sub);
    roster_client_free(provider);
    roster_client_free(consumer);
    roster_test_server_free(second);
}

static const struct {
    const char *name;
    void (*run)(void);
} TESTS[] = {
    {"publish_then_subscribe_and_subscribe_then_publish", publish_then_subscribe_and_subscribe_then_publish},
    {"callbacks_see_each_newer_version_down_to_empty", callbacks_see_each_newer_version_down_to_empty},
    {"peek_and_wait_with_a_time_out", peek_and_wait_with_a_time_out},
    {"a_zone_scope_sees_its_zone_a_global_one_every_zone", a_zone_scope_sees_its_zone_a_global_one_every_zone},
    {"bad_input_is_invalid_argument_naming_it", bad_input_is_invalid_argument_naming_it},
    {"no_registry_is_not_connected", no_registry_is_not_connected},
    {"handles_after_close_are_shut_down_and_free_takes_null", handles_after_close_are_shut_down_and_free_takes_null},
    {"freeing_a_publisher_unregisters_it", freeing_a_publisher_unregisters_it},
    {"a_callback_is_never_called_after_unsubscribe_returns", a_callback_is_never_called_after_unsubscribe_returns},
    {"a_callback_can_call_the_client_and_unsubscribe_itself", a_callback_can_call_the_client_and_unsubscribe_itself},
    {"a_slow_callback_gets_the_newest_data_next", a_slow_callback_gets_the_newest_data_next},
    {"a_thousand_subscribers_with_callbacks_each_get_every_change", a_thousand_subscribers_with_callbacks_each_get_every_change},
    {"after_a_server_restart_everything_is_redone", after_a_server_restart_everything_is_redone},
};

int main(int argc, char **argv) {
    size_t n = sizeof TESTS / sizeof TESTS[0];
    if (argc == 2 && !strcmp(argv[1], "--list")) {
        for (size_t i = 0; i < n; i++) printf("%s\n", TESTS[i].name);
        return 0;
    }
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (argc < 2 || !strcmp(argv[1], TESTS[i].name)) {
            TESTS[i].run();
            printf("ok %s\n", TESTS[i].name);
            ran++;
        }
    }
    if (!ran) {
        fprintf(stderr, "no test named %s\n", argv[1]);
        return 2;
    }
    return 0;
}

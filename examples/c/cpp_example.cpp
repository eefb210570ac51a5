// The C API from C++: RAII owners for the handles, a lambda as the subscriber callback.
// Self-contained: it starts a reference server in-process, publishes, and waits until its
// own subscriber saw the address.
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "roster.h"  // extern "C" inside

namespace {

// Throws the error's message (and frees the error).
void check(roster_error_t *e) {
    if (e) {
        std::string message = e->message;
        roster_error_free(e);
        throw std::runtime_error(message);
    }
}

template <typename T, void (*Free)(T *)>
struct Deleter {
    void operator()(T *p) const { Free(p); }
};
using Server = std::unique_ptr<roster_test_server_t, Deleter<roster_test_server_t, roster_test_server_free>>;
using Options = std::unique_ptr<roster_options_t, Deleter<roster_options_t, roster_options_free>>;
using Client = std::unique_ptr<roster_client_t, Deleter<roster_client_t, roster_client_free>>;
using Publisher = std::unique_ptr<roster_publisher_t, Deleter<roster_publisher_t, roster_publisher_free>>;
using Subscriber = std::unique_ptr<roster_subscriber_t, Deleter<roster_subscriber_t, roster_subscriber_free>>;

using Listener = std::function<void(const roster_subscriber_data_t *)>;

// The C callback: the user data is the listener.
void trampoline(void *user_data, const roster_subscriber_data_t *data) {
    (*static_cast<Listener *>(user_data))(data);
}

}  // namespace

int main() try {
    roster_test_server_t *raw_server = nullptr;
    check(roster_test_server_start(0, 1000, &raw_server));
    Server server(raw_server);

    Options options(roster_options_new());
    check(roster_options_set(options.get(), "endpoints", roster_test_server_endpoint(server.get())));
    check(roster_options_set(options.get(), "appName", "cpp-example"));
    roster_client_t *raw_client = nullptr;
    check(roster_client_new(options.get(), &raw_client));
    Client client(raw_client);
    check(roster_client_wait_connected(client.get(), 10000));

    std::mutex lock;
    std::condition_variable changed;
    std::vector<std::string> items;
    Listener listener = [&](const roster_subscriber_data_t *data) {
        std::lock_guard<std::mutex> guard(lock);
        items.clear();
        for (size_t z = 0; z < roster_subscriber_data_zone_count(data); z++)
            for (size_t i = 0; i < roster_subscriber_data_item_count(data, z); i++)
                items.emplace_back(roster_subscriber_data_item(data, z, i));
        changed.notify_all();
    };
    roster_subscriber_t *raw_subscriber = nullptr;
    check(roster_client_subscribe(client.get(), "com.example.CppService:1.0", nullptr, trampoline, &listener, 0,
                                  &raw_subscriber));
    Subscriber subscriber(raw_subscriber);  // freed before `listener` goes: no call after

    const char *address = "bolt://10.0.0.42:12200";
    roster_publisher_t *raw_publisher = nullptr;
    check(roster_client_publish(client.get(), "com.example.CppService:1.0", &address, 1, nullptr, 0, &raw_publisher));
    Publisher publisher(raw_publisher);

    std::unique_lock<std::mutex> guard(lock);
    if (!changed.wait_for(guard, std::chrono::seconds(10), [&] { return items.size() == 1; }))
        throw std::runtime_error("the subscriber never saw the address");
    std::printf("cpp example: the subscriber sees %s\n", items[0].c_str());
    return items[0] == address ? 0 : 1;
} catch (const std::exception &e) {
    std::fprintf(stderr, "cpp example: %s\n", e.what());
    return 1;
}

/* The C examples as processes, through an in-process reference server: the subscriber
 * (--until-empty) sees the publisher's address come and go, and both exit 0.
 *   examples_test PUBLISHER SUBSCRIBER */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "roster.h"

extern char **environ;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

/* Starts `argv` with its stdout on a pipe; returns that pipe as a FILE. */
static FILE *spawn(char **argv, pid_t *pid) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    CHECK(posix_spawn(pid, argv[0], &actions, NULL, argv, environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    return fdopen(fds[0], "r");
}

/* Everything the process prints until it exits, which must be with status 0. */
static void finish(FILE *out, pid_t pid, char *all, size_t size) {
    size_t n = strlen(all);
    char line[512];
    while (fgets(line, sizeof line, out)) {
        fputs(line, stderr);
        snprintf(all + n, size - n, "%s", line);
        n = strlen(all);
    }
    fclose(out);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv) {
    CHECK(argc == 3);
    roster_test_server_t *server = NULL;
    CHECK(roster_test_server_start(0, 1000, &server) == NULL);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "%s", roster_test_server_endpoint(server));
    char *svc = "com.example.CExample:1.0";

    char *sub_argv[] = {argv[2], "--endpoint", endpoint, "--data-id", svc, "--until-empty", NULL};
    pid_t sub_pid;
    FILE *sub_out = spawn(sub_argv, &sub_pid);
    char seen[8192] = "", line[512];
    CHECK(fgets(line, sizeof line, sub_out));
    fputs(line, stderr);
    CHECK(strstr(line, "c subscriber: subscribed to com.example.CExample:1.0#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP"));

    char *pub_argv[] = {argv[1], "--endpoint", endpoint, "--data-id", svc, "--data", "bolt://10.0.0.5:12200",
                        "--seconds", "1", NULL};
    pid_t pub_pid;
    FILE *pub_out = spawn(pub_argv, &pub_pid);
    char published[2048] = "";
    finish(pub_out, pub_pid, published, sizeof published);
    CHECK(strstr(published, "c publisher: published bolt://10.0.0.5:12200 under com.example.CExample:1.0#@#"));
    CHECK(strstr(published, "c publisher: unregistered"));

    finish(sub_out, sub_pid, seen, sizeof seen);
    CHECK(strstr(seen, "{DEFAULT_ZONE=[bolt://10.0.0.5:12200]}\n"));
    size_t n = strlen(seen);
    CHECK(n >= 3 && !strcmp(seen + n - 3, "{}\n")); /* ends with no providers */
    roster_test_server_free(server);
    printf("ok examples\n");
    return 0;
}

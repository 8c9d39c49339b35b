// A workload that blocks for known times: one thread sleeps in
// sleeper_wait (nanosleep), another waits in reader_wait (read() of a
// pipe) until a third writes to the pipe from writer_wake after a sleep
// of its own. It waits for SIGUSR1 to start, does it the number of times
// given, and prints how long each wait took in all (CLOCK_MONOTONIC):
//
//	sleeper_wait NS
//	reader_wait NS
//
// Built without optimizing, so that every call keeps its frame.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "start.h"

static int rounds = 5;
static long long sleep_ns, read_ns;
static int fds[2];

static long long now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// The calls into libc go through a function of their own: libc's
// functions keep no frame pointer, so a walk of the stack from inside
// one skips its caller.
__attribute__((noinline)) static void nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

__attribute__((noinline)) void sleeper_wait(void) { nap(100); }

__attribute__((noinline)) void *sleeper(void *arg)
{
	(void)arg;
	for (int i = 0; i < rounds; i++) {
		long long t = now();
		sleeper_wait();
		sleep_ns += now() - t;
	}
	return NULL;
}

__attribute__((noinline)) static void read_byte(void)
{
	char c;
	if (read(fds[0], &c, 1) != 1)
		exit(1);
}

__attribute__((noinline)) void reader_wait(void) { read_byte(); }

__attribute__((noinline)) void *reader(void *arg)
{
	(void)arg;
	for (int i = 0; i < rounds; i++) {
		long long t = now();
		reader_wait();
		read_ns += now() - t;
	}
	return NULL;
}

__attribute__((noinline)) static void write_byte(void)
{
	if (write(fds[1], "x", 1) != 1)
		exit(1);
}

__attribute__((noinline)) void writer_wake(void) { write_byte(); }

int main(int argc, char **argv)
{
	pthread_t s, r;
	if (argc > 1)
		rounds = atoi(argv[1]);
	if (pipe(fds) != 0)
		return 1;
	wait_start();
	pthread_create(&s, NULL, sleeper, NULL);
	pthread_create(&r, NULL, reader, NULL);
	for (int i = 0; i < rounds; i++) {
		nap(60);
		writer_wake();
	}
	pthread_join(s, NULL);
	pthread_join(r, NULL);
	printf("sleeper_wait %lld\nreader_wait %lld\n", sleep_ns, read_ns);
	return 0;
}

// A workload of known shape: each thread alternates between two call
// chains, main -> worker -> hot_chain -> hot_middle -> hot_leaf and
// main -> worker -> cold_chain -> cold_leaf, spinning three times as long
// in the first, each call a few milliseconds (against the two system
// calls that time it), out of step with 99 Hz sampling. It waits for
// SIGUSR1 to start, runs until the process has used the CPU seconds given
// (so that a profile of it holds as many samples however busy the machine
// is), and prints the CPU time each chain took (measured by the thread's
// own clock), then the process's:
//
//	hot_chain NS
//	cold_chain NS
//	process NS
//
// Built without optimizing, so that every call keeps its frame.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "start.h"

static volatile unsigned long sink;
static long long budget;
static long long hot_ns, cold_ns;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

#define SPIN(n) for (unsigned long i = 0; i < (n); i++) sink += i

__attribute__((noinline)) void hot_leaf(void) { SPIN(1500000); }
__attribute__((noinline)) void hot_middle(void) { hot_leaf(); }
__attribute__((noinline)) void hot_chain(void) { hot_middle(); }
__attribute__((noinline)) void cold_leaf(void) { SPIN(500000); }
__attribute__((noinline)) void cold_chain(void) { cold_leaf(); }

static long long now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((noinline)) void *worker(void *arg)
{
	long long hot = 0, cold = 0;
	(void)arg;
	while (now(CLOCK_PROCESS_CPUTIME_ID) < budget) {
		long long t0 = now(CLOCK_THREAD_CPUTIME_ID);
		hot_chain();
		long long t1 = now(CLOCK_THREAD_CPUTIME_ID);
		cold_chain();
		long long t2 = now(CLOCK_THREAD_CPUTIME_ID);
		hot += t1 - t0;
		cold += t2 - t1;
	}
	pthread_mutex_lock(&mu);
	hot_ns += hot;
	cold_ns += cold;
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 2;
	double secs = argc > 2 ? atof(argv[2]) : 2;	/* of CPU time */
	wait_start();
	budget = now(CLOCK_PROCESS_CPUTIME_ID) + (long long)(secs * 1e9);
	pthread_t t[64];
	for (int i = 1; i < threads && i < 64; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	worker(NULL);
	for (int i = 1; i < threads && i < 64; i++)
		pthread_join(t[i], NULL);
	printf("hot_chain %lld\ncold_chain %lld\nprocess %lld\n", hot_ns, cold_ns,
	       now(CLOCK_PROCESS_CPUTIME_ID));
	return 0;
}

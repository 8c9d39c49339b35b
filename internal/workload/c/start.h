/*
 * The start of a workload: it says "ready" once loaded and waits for
 * SIGUSR1, so that the tracer attaches before any work is done.
 */
#include <signal.h>
#include <stdio.h>

static void wait_start(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
}

/*
 * The applications the tools' tests trace, whose truth is known:
 *
 *   apps calls N                 N calls of counted()
 *   apps naps N MS               N calls of nap(), each sleeping MS ms
 *   apps queries MS:QUERY...     a query each, taking MS ms, between
 *                                the USDT probes of MySQL's server
 *                                (mysql:query__start, query__done)
 *   apps after PATH COMMAND...   create PATH.ready, wait for the file
 *                                PATH, run COMMAND, create PATH.done
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0) {
	}
}

/* noinline and an asm barrier: each call is a real call to a symbol. */
__attribute__((noinline)) void counted(void) { __asm__ volatile(""); }

__attribute__((noinline)) void nap(long ms) {
	sleep_ms(ms);
	__asm__ volatile("");
}

static void query(const char *q, long ms, unsigned long conn) {
	/* MySQL passes the query, the connection id, the database, the user
	   and the host; and the status when done. */
	STAP_PROBE5(mysql, query__start, q, conn, "test", "root", "localhost");
	sleep_ms(ms);
	STAP_PROBE1(mysql, query__done, 0);
}

static void touch(const char *path, const char *suffix) {
	char name[4096];
	snprintf(name, sizeof name, "%s%s", path, suffix);
	FILE *f = fopen(name, "w");
	if (f == NULL) {
		perror(name);
		exit(1);
	}
	fclose(f);
}

static int run(int argc, char **argv) {
	if (argc >= 3 && strcmp(argv[0], "after") == 0) {
		touch(argv[1], ".ready");
		while (access(argv[1], F_OK) != 0) {
			sleep_ms(10);
		}
		int rc = run(argc - 2, argv + 2);
		touch(argv[1], ".done");
		return rc;
	}
	if (argc == 2 && strcmp(argv[0], "calls") == 0) {
		for (long i = atol(argv[1]); i > 0; i--) {
			counted();
		}
		return 0;
	}
	if (argc == 3 && strcmp(argv[0], "naps") == 0) {
		for (long i = atol(argv[1]); i > 0; i--) {
			nap(atol(argv[2]));
		}
		return 0;
	}
	if (argc >= 1 && strcmp(argv[0], "queries") == 0) {
		for (int i = 1; i < argc; i++) {
			char *colon = strchr(argv[i], ':');
			if (colon == NULL) {
				fprintf(stderr, "apps: want MS:QUERY, got %s\n", argv[i]);
				return 2;
			}
			query(colon + 1, atol(argv[i]), i);
		}
		return 0;
	}
	fprintf(stderr, "apps: unknown command\n");
	return 2;
}

int main(int argc, char **argv) { return run(argc - 1, argv + 1); }

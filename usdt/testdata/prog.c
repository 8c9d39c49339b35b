/* USDT probes with arguments of every kind the compiler produces. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>

int counter;
extern int guarded_enabled;
void guarded(long i);
long table[8] = {10, 20, 30, 40, 50, 60, 70, 80};

__attribute__((noinline)) long step(long *t, long i, long k, char c, unsigned short u) {
	counter += 3;
	DTRACE_PROBE2(friday, pair, (int)i, i * 1000);
	STAP_PROBE1(friday, constant, 42);
	STAP_PROBE1(friday, global, counter);
	STAP_PROBE2(friday, small, c, u);
	STAP_PROBE2(friday, indexed, t[k], -i);
	STAP_PROBE1(friday, table, table[k]);
	return t[k] + c;
}

int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 0;
	long acc = 0;
	if (argc > 2) {
		/* Wait for the test to look at our mappings. */
		getchar();
	}
	for (long i = 0; i < n; i++) {
		acc += step(table, i, i & 7, (char)-i, (unsigned short)(i * 700));
		guarded(i);
	}
	printf("%ld %d\n", acc, guarded_enabled);
	return 0;
}

#include <stdio.h>
#include <sys/sdt.h>

int add(int a, int b) {
	DTRACE_PROBE2(demo, add, a, b);
	return a + b;
}

int add3(int a, int b, int c) { return add(add(a, b), c); }

int main(int argc, char **argv) {
	/* With an argument: wait until standard input closes. */
	if (argc > 1)
		getchar();
	DTRACE_PROBE(demo, start);
	DTRACE_PROBE(other, start);
	return add3(argc, 2, 1);
}

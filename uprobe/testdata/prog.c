/* Functions with known names for symbol and attach tests. */
#include <stdio.h>
#include <stdlib.h>

int calls;

__attribute__((noinline)) int probe_a(int x) {
	if (x > 1000)
		return x - 7;
	return x * 3 + 1;
}

__attribute__((noinline)) static int probe_b(int x) {
	return probe_a(x) ^ 0x55;
}

__attribute__((noinline)) void probe_c(void) {
	calls++;
}

int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 0;
	int acc = 0;
	if (argc > 2) {
		/* Wait for the test to look at our mappings. */
		getchar();
	}
	for (int i = 0; i < n; i++) {
		acc += probe_b(i);
		probe_c();
	}
	printf("%d\n", acc);
	return 0;
}

/* Prints the addresses of functions whose names the test expects back.
 * With arguments, it executes them after reading a line. */
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) int friday_alpha(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) static int friday_beta(int x)
{
	return friday_alpha(x) + 2;
}

int main(int argc, char **argv)
{
	printf("friday_alpha %p\n", (void *)friday_alpha);
	printf("friday_beta %p\n", (void *)friday_beta);
	printf("getpid %p\n", dlsym(RTLD_DEFAULT, "getpid"));
	printf("ready\n");
	fflush(stdout);
	if (argc > 1) {
		char line[16];
		if (fgets(line, sizeof line, stdin))
			execv(argv[1], argv + 1);
		return 1;
	}
	/* Stay alive until the test closes stdin. */
	while (getchar() != EOF)
		;
	return friday_beta(1) == 0;
}

/* Prints the addresses of functions whose names the test expects back. */
#include <dlfcn.h>
#include <stdio.h>

__attribute__((noinline)) int friday_alpha(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) static int friday_beta(int x)
{
	return friday_alpha(x) + 2;
}

int main(void)
{
	printf("friday_alpha %p\n", (void *)friday_alpha);
	printf("friday_beta %p\n", (void *)friday_beta);
	printf("getpid %p\n", dlsym(RTLD_DEFAULT, "getpid"));
	printf("ready\n");
	fflush(stdout);
	/* Stay alive until the test closes stdin. */
	while (getchar() != EOF)
		;
	return friday_beta(1) == 0;
}

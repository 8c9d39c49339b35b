/* A short-lived program: prints addresses, lives 50ms, exits. */
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) int friday_short(int x)
{
	return x + 5;
}

int main(void)
{
	printf("friday_short %p\n", (void *)friday_short);
	printf("getpid %p\n", dlsym(RTLD_DEFAULT, "getpid"));
	fflush(stdout);
	usleep(50000);
	return friday_short(0) == 0;
}

/* Prints a program counter inside a chain of inlined calls. */
#include <stdio.h>

__attribute__((noinline)) void *where(void)
{
	return __builtin_return_address(0);
}

static inline __attribute__((always_inline)) void *leaf(void)
{
	return where();
}

static inline __attribute__((always_inline)) void *middle(void)
{
	return leaf();
}

int main(void)
{
	void *pc = middle();
	printf("pc %p\n", (void *)((char *)pc - 1));
	printf("ready\n");
	fflush(stdout);
	while (getchar() != EOF)
		;
	return 0;
}

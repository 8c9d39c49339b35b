/* Maps anonymous executable memory, as a JIT does, and prints where. */
#include <stdio.h>
#include <sys/mman.h>

int main(void)
{
	void *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		return 1;
	printf("code %p\n", code);
	printf("ready\n");
	fflush(stdout);
	while (getchar() != EOF)
		;
	return 0;
}

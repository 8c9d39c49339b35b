/* Functions under Rust's mangled names (legacy and v0), given through
 * assembler labels since no Rust compiler is needed to produce them. */
#include <stdio.h>

/* want: legacy => mycrate::main */
__attribute__((noinline)) int legacy(int x) __asm__("_ZN7mycrate4main17h0123456789abcdefE");
int legacy(int x) { return x + 1; }

/* want: v0 => mycrate::inner::run */
__attribute__((noinline)) int v0(int x) __asm__("_RNvNtCs1234_7mycrate5inner3run");
int v0(int x) { return x + 2; }

int main(void)
{
	printf("legacy %p\n", (void *)legacy);
	printf("v0 %p\n", (void *)v0);
	printf("ready\n");
	fflush(stdout);
	while (getchar() != EOF)
		;
	return legacy(1) + v0(1) == 0;
}

/* A probe behind a semaphore: it fires only while a tracer is attached. */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

unsigned short friday_guarded_semaphore __attribute__((section(".probes")));

int guarded_enabled;

void guarded(long i) {
	if (friday_guarded_semaphore) {
		guarded_enabled++;
		STAP_PROBE1(friday, guarded, i + 7);
	}
}

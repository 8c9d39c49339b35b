#ifdef OTHER
/* Moves hidden_step, so that a debug file of this build does not fit. */
int __attribute__((noinline)) other(int x) { return x * x * 7 + x; }
#endif

/* A static function only the full symbol table names. */
static int __attribute__((noinline)) hidden_step(int x) { return x * 3 + 1; }

int main(int argc, char **argv) { (void)argv; return hidden_step(argc); }

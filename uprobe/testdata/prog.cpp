// C++ functions for matching by demangled names: overloads, a method and
// an operator.
#include <cstdio>
#include <cstdlib>

namespace ns {
__attribute__((noinline)) int foo(int x) { return x + 1; }
__attribute__((noinline)) int foo() { return 7; }

struct Counter {
	int n;
	__attribute__((noinline)) void bump(int by);
};
void Counter::bump(int by) { n += by; }

struct V {
	int v;
};
__attribute__((noinline)) V operator+(V a, V b) { return V{a.v + b.v}; }
} // namespace ns

int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 0;
	ns::Counter c{0};
	ns::V v{0};
	for (int i = 0; i < n; i++) {
		c.n += ns::foo(i) + ns::foo();
		c.bump(2);
		v = v + ns::V{i};
	}
	printf("%d %d\n", c.n, v.v);
	return 0;
}

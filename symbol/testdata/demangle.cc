// Prints the addresses of C++ functions with mangled names.
#include <cstdio>

namespace friday {
__attribute__((noinline)) int scale(int x) { return x * 2; }
__attribute__((noinline)) double scale(double x) { return x * 2.5; }
struct Widget {
	int n;
	__attribute__((noinline)) int spin(int k) const { return n + k; }
};
template <typename T> __attribute__((noinline)) T twice(T x) { return x + x; }
}

// want: scale(int) => friday::scale(int)
// want: scale(double) => friday::scale(double)
// want: twice => long friday::twice<long>(long)
// want: spin => friday::Widget::spin(int) const
int main()
{
	int (*si)(int) = friday::scale;
	double (*sd)(double) = friday::scale;
	long (*tw)(long) = friday::twice<long>;
	int (friday::Widget::*spin)(int) const = &friday::Widget::spin;
	void *spinAddr;
	__builtin_memcpy(&spinAddr, &spin, sizeof spinAddr);
	std::printf("scale(int) %p\n", (void *)si);
	std::printf("scale(double) %p\n", (void *)sd);
	std::printf("twice %p\n", (void *)tw);
	std::printf("spin %p\n", spinAddr);
	std::printf("ready\n");
	std::fflush(stdout);
	while (std::getchar() != EOF)
		;
	friday::Widget w{1};
	return si(1) + (int)sd(1) + (int)tw(1) + w.spin(1) == 0;
}

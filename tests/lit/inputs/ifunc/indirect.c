// A library with an indirect function of its own (dptrace has not loaded
// it): add_one's symbol is the resolver pick_add_one, which returns add_plain.
static int add_plain(int a) { return a + 1; }
static int (*pick_add_one(void))(int) { return add_plain; }
int add_one(int a) __attribute__((ifunc("pick_add_one")));
int twice(int a) { return 2 * a; }

/* placeholder: being written */
#include "test.h"
static void
t_placeholder(void)
{
	CHECK(1 + 1 == 2);
}
MCNT_MAIN({ "placeholder", t_placeholder })

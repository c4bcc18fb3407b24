/*
 * hello — the benchmark ceiling: the smallest FastCGI program fcgi2 allows,
 * behind the same lighttpd as the four functions (bench/lighttpd.conf routes
 * /bench/hello to it).  Every other figure in docs/BENCHMARKS.md is also
 * given as a ratio to what this one does on the same machine.
 */
#include <fcgiapp.h>

int
main(void)
{
	FCGX_Request rq;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&rq, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&rq) >= 0) {
		FCGX_PutS("Status: 200 OK\r\nContent-Type: application/json\r\n"
		    "Content-Length: 12\r\n\r\n{\"ok\":true}\n", rq.out);
		FCGX_Finish_r(&rq);
	}
	return 0;
}

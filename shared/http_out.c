#include "http_out.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include <curl/curl.h>

#include "log.h"

void
http_out_init(struct http_out *r, const char *method, const char *url)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->url = url;
	r->timeout_ms = 15000;
	r->max_bytes = 4 << 20;
}

void
http_out_free(struct http_out *r)
{
	if (r != NULL)
		sbuf_free(&r->resp);
}

static size_t
sink(char *p, size_t sz, size_t n, void *ud)
{
	struct http_out *r = ud;

	if (r->resp.len + sz * n > r->max_bytes)
		return 0;
	sbuf_addn(&r->resp, p, sz * n);
	return sz * n;
}

struct easy {
	CURL *c;
	struct curl_slist *hdr;
};

/* One connection pool (and DNS and TLS session cache) for every request of
 * this process: a batch reuses the kept-alive connections of the last one.
 * The processes are single-threaded, so the share needs no locks. */
static CURLSH *
pool(void)
{
	static CURLSH *sh;

	if (sh == NULL && (sh = curl_share_init()) != NULL) {
		curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
		curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
		curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	}
	return sh;
}

static int
easy_setup(struct easy *e, struct http_out *r)
{
	char auth[600];

	e->c = curl_easy_init();
	e->hdr = NULL;
	if (e->c == NULL)
		return -1;
	if (r->body != NULL)
		e->hdr = curl_slist_append(e->hdr, "Content-Type: application/json");
	e->hdr = curl_slist_append(e->hdr, "Accept: application/json");
	if (r->auth != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: %s", r->auth);
		e->hdr = curl_slist_append(e->hdr, auth);
	}
	curl_easy_setopt(e->c, CURLOPT_URL, r->url);
	curl_easy_setopt(e->c, CURLOPT_SHARE, pool());
	curl_easy_setopt(e->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e->c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(e->c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
	curl_easy_setopt(e->c, CURLOPT_HTTPHEADER, e->hdr);
	curl_easy_setopt(e->c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e->c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e->c, CURLOPT_PRIVATE, r);
	if (strcmp(r->method, "GET") != 0)
		curl_easy_setopt(e->c, CURLOPT_CUSTOMREQUEST, r->method);
	if (r->body != NULL)
		curl_easy_setopt(e->c, CURLOPT_POSTFIELDS, r->body);
	else if (strcmp(r->method, "GET") != 0)
		curl_easy_setopt(e->c, CURLOPT_POSTFIELDS, "");
	return 0;
}

static void
easy_done(struct easy *e, struct http_out *r, CURLcode rc)
{
	if (rc == CURLE_OK) {
		curl_easy_getinfo(e->c, CURLINFO_RESPONSE_CODE, &r->status);
	} else {
		r->failed = 1;
		snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(rc));
	}
	curl_slist_free_all(e->hdr);
	curl_easy_cleanup(e->c);
}

int
http_out_one(struct http_out *r)
{
	struct easy e;

	sbuf_reset(&r->resp);
	r->status = 0;
	r->failed = 0;
	if (easy_setup(&e, r) != 0) {
		r->failed = 1;
		snprintf(r->error, sizeof(r->error), "curl_easy_init failed");
		return -1;
	}
	easy_done(&e, r, curl_easy_perform(e.c));
	return r->failed ? -1 : 0;
}

char *
http_out_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *out = xstrdup(e ? e : "");

	curl_free(e);
	return out;
}

/* Requests in flight on one multi handle: a kept set of connections.
 * curl tells which sockets it waits on (on_socket) and when it wants to be
 * called anyway (on_timer); an epoll set waits on them, so a wake-up costs
 * what became ready, not a walk of every transfer in flight (with hundreds
 * in flight curl_multi_perform's walk, a poll(2) per transfer, was most of
 * a sender's CPU). */
struct http_flow {
	CURLM *m;
	size_t active;
	int ep;                  /* the epoll set, -1 when it could not be made */
	bool timer_set;          /* curl wants a call at timer_at */
	struct timespec timer_at;
};

static int
on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_flow *f = userp;
	struct epoll_event ev = {.data.fd = s};

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		(void)epoll_ctl(f->ep, EPOLL_CTL_DEL, s, NULL);
		curl_multi_assign(f->m, s, NULL);
		return 0;
	}
	ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
	int op = socketp != NULL ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(f->ep, op, s, &ev) != 0)   /* a number reused, or closed */
		(void)epoll_ctl(f->ep, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev);
	curl_multi_assign(f->m, s, f);
	return 0;
}

/* *at = ms from now, on the monotonic clock. */
static void
deadline_in(struct timespec *at, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, at);
	at->tv_sec += ms / 1000;
	at->tv_nsec += (ms % 1000) * 1000000L;
	if (at->tv_nsec >= 1000000000L) {
		at->tv_sec++;
		at->tv_nsec -= 1000000000L;
	}
}

static int
on_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct http_flow *f = userp;

	(void)m;
	f->timer_set = timeout_ms >= 0;
	if (f->timer_set)
		deadline_in(&f->timer_at, timeout_ms);
	return 0;
}

struct http_flow *
http_flow_new(void)
{
	struct http_flow *f = xcalloc(1, sizeof(*f));

	f->m = curl_multi_init();
	f->ep = epoll_create1(EPOLL_CLOEXEC);
	if (f->m != NULL && f->ep >= 0) {
		curl_multi_setopt(f->m, CURLMOPT_SOCKETFUNCTION, on_socket);
		curl_multi_setopt(f->m, CURLMOPT_SOCKETDATA, f);
		curl_multi_setopt(f->m, CURLMOPT_TIMERFUNCTION, on_timer);
		curl_multi_setopt(f->m, CURLMOPT_TIMERDATA, f);
	} else if (f->ep < 0) {
		log_warn("http: epoll_create1 failed; curl walks every transfer instead");
	}
	return f;
}

size_t
http_flow_active(const struct http_flow *f)
{
	return f->active;
}

/* An easy handle and its headers, kept until the request ends. */
struct flying {
	struct easy e;
	struct http_out *r;
};

int
http_flow_add(struct http_flow *f, struct http_out *r)
{
	struct flying *fl = xcalloc(1, sizeof(*fl));

	sbuf_reset(&r->resp);
	r->status = 0;
	r->failed = 0;
	fl->r = r;
	if (f->m == NULL || easy_setup(&fl->e, r) != 0) {
		if (fl->e.c != NULL)
			curl_easy_cleanup(fl->e.c);
		free(fl);
		r->failed = 1;
		snprintf(r->error, sizeof(r->error), "curl_easy_init failed");
		return -1;
	}
	/* over HTTP/2 the calls share one connection: HTTPS learns it in the
	 * TLS handshake; plain HTTP would learn HTTP/1.1 only from the first
	 * answer, and every call behind a slow first one would wait for it */
	if (strncmp(r->url, "https://", 8) == 0)
		curl_easy_setopt(fl->e.c, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(fl->e.c, CURLOPT_PRIVATE, fl);
	curl_multi_add_handle(f->m, fl->e.c);
	f->active++;
	return 0;
}

/* A finished request curl has already told of, or NULL. */
static struct http_out *
take_done(struct http_flow *f)
{
	int left = 0;
	CURLMsg *msg;

	while ((msg = curl_multi_info_read(f->m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		void *priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		struct flying *fl = priv;
		struct http_out *r = fl->r;
		curl_multi_remove_handle(f->m, msg->easy_handle);
		easy_done(&fl->e, r, msg->data.result);
		free(fl);
		f->active--;
		return r;
	}
	return NULL;
}

static long long
ms_until(const struct timespec *at)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(at->tv_sec - now.tv_sec) * 1000 +
	    (at->tv_nsec - now.tv_nsec + 999999) / 1000000;
}

/* Waits up to wait_ms for sockets curl waits on and tells curl what became
 * ready (or that its timer ran out). */
static void
flow_wait(struct http_flow *f, long long wait_ms)
{
	struct epoll_event evs[64];
	int running = 0;

	long long timer_ms = f->timer_set ? ms_until(&f->timer_at) : wait_ms;

	if (timer_ms <= 0 && f->timer_set) {
		f->timer_set = false;
		curl_multi_socket_action(f->m, CURL_SOCKET_TIMEOUT, 0, &running);
		return;
	}
	if (timer_ms < wait_ms)
		wait_ms = timer_ms;
	int n = epoll_wait(f->ep, evs, (int)(sizeof(evs) / sizeof(evs[0])),
	    wait_ms > 0 ? (int)wait_ms : 0);
	for (int i = 0; i < n; i++) {
		int mask = ((evs[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
		    ((evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
		    ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
		curl_multi_socket_action(f->m, evs[i].data.fd, mask, &running);
	}
}

/* What curl has finished is handed out one by one; otherwise it waits up
 * to timeout_ms for the next request to end.  NULL when none did. */
struct http_out *
http_flow_next(struct http_flow *f, int timeout_ms)
{
	struct timespec until;
	struct http_out *r = take_done(f);

	if (r != NULL)
		return r;
	if (f->ep < 0) {        /* no epoll set (out of descriptors): curl's own walk */
		int running = 0;
		curl_multi_perform(f->m, &running);
		if ((r = take_done(f)) == NULL && timeout_ms > 0) {
			curl_multi_poll(f->m, NULL, 0, timeout_ms, NULL);
			curl_multi_perform(f->m, &running);
			r = take_done(f);
		}
		return r;
	}
	deadline_in(&until, timeout_ms);
	do {
		flow_wait(f, ms_until(&until));
		r = take_done(f);
	} while (r == NULL && f->active > 0 && ms_until(&until) > 0);
	return r;
}

void
http_flow_free(struct http_flow *f)
{
	struct http_out *r;

	if (f == NULL)
		return;
	while (f->active > 0)   /* not expected: callers collect what they started */
		if ((r = http_flow_next(f, 1000)) == NULL)
			break;
	curl_multi_cleanup(f->m);
	if (f->ep >= 0)
		close(f->ep);
	free(f);
}

void
http_out_many(struct http_out *rs, size_t n, int concurrency)
{
	struct http_flow *f = http_flow_new();
	size_t next = 0;

	if (concurrency < 1)
		concurrency = 1;
	while (next < n || http_flow_active(f) > 0) {
		while (next < n && http_flow_active(f) < (size_t)concurrency)
			(void)http_flow_add(f, &rs[next++]);
		(void)http_flow_next(f, 200);
	}
	http_flow_free(f);
}

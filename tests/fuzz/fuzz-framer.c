/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the watch-stream framer. The input is a watch body;
 * it is framed once whole and once cut at places drawn from a generator
 * seeded by the input, and both must give the same frames and the same
 * result (framing must not depend on how the bytes arrive). Each frame
 * is decoded as a watch event into objects, as the reflector does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "kube-internal.h"
#include "objects.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct frames {
	char *text; /* frames, each followed by a NUL */
	size_t len;
	size_t n;
	ipvssvc_objects *objs;
};

static void diag(void *userdata, int level, const char *msg)
{
	if (!msg)
		abort();
}

static void decode_event(ipvssvc_objects *objs, const char *frame, size_t len)
{
	const cJSON *type, *obj, *kind, *md;
	cJSON *ev;

	ev = cJSON_ParseWithLength(frame, len);
	if (!ev)
		return;
	type = cJSON_GetObjectItemCaseSensitive(ev, "type");
	obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
	if (cJSON_IsString(type) && cJSON_IsObject(obj)) {
		if (strcmp(type->valuestring, "DELETED") == 0) {
			const cJSON *ns, *name;

			kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
			md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
			ns = cJSON_GetObjectItemCaseSensitive(md, "namespace");
			name = cJSON_GetObjectItemCaseSensitive(md, "name");
			if (cJSON_IsString(kind) && cJSON_IsString(name))
				ipvssvc_objects_delete(objs, kind->valuestring,
						       cJSON_IsString(ns)
							       ? ns->valuestring
							       : "",
						       name->valuestring);
		} else {
			char *text = cJSON_PrintUnformatted(obj);

			if (text) {
				ipvssvc_objects_upsert_json(objs, text,
							    strlen(text));
				free(text);
			}
		}
	}
	cJSON_Delete(ev);
}

static int on_frame(void *userdata, const char *frame, size_t len)
{
	struct frames *fr = userdata;
	char *t;

	/* a frame is one whole object */
	if (len < 2 || frame[0] != '{' ||
	    (frame[len - 1] != '}' && frame[len - 1] != ']'))
		abort();
	t = realloc(fr->text, fr->len + len + 1);
	if (!t)
		return -ENOMEM;
	memcpy(t + fr->len, frame, len);
	t[fr->len + len] = '\0';
	fr->text = t;
	fr->len += len + 1;
	fr->n++;
	if (fr->objs)
		decode_event(fr->objs, frame, len);
	return 0;
}

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frames whole = {0}, split = {0};
	struct kube_framer f;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t i, off, max;
	int r1, r2 = 0;

	for (i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 0x100000001b3ULL;
	if (!seed)
		seed = 1;
	if (ipvssvc_objects_new(&whole.objs) < 0)
		return 0;
	ipvssvc_objects_set_diag(whole.objs, diag, NULL);

	/* whole, with room for everything */
	max = size + 1;
	kube_framer_init(&f, max);
	r1 = kube_framer_feed(&f, (const char *)data, size, on_frame, &whole);
	kube_framer_free(&f);

	/* in pieces, from 1 byte up */
	kube_framer_init(&f, max);
	for (off = 0; off < size && r2 == 0;) {
		size_t n = 1 + next(&seed) % (next(&seed) % 4 == 0 ? 4 : 64);

		if (n > size - off)
			n = size - off;
		r2 = kube_framer_feed(&f, (const char *)data + off, n, on_frame,
				      &split);
		off += n;
	}
	if (r1 != r2 || whole.n != split.n || whole.len != split.len ||
	    (whole.len && memcmp(whole.text, split.text, whole.len) != 0)) {
		fprintf(stderr,
			"framing depends on the split: %d/%d, %zu/%zu frames\n",
			r1, r2, whole.n, split.n);
		abort();
	}
	kube_framer_free(&f);

	/* a small limit: a bounded result, never a crash */
	kube_framer_init(&f, 1 + size / 2);
	for (off = 0; off < size;) {
		size_t n = 1 + next(&seed) % 32;
		int r;

		if (n > size - off)
			n = size - off;
		r = kube_framer_feed(&f, (const char *)data + off, n, on_frame,
				     &split);
		if (r < 0) {
			if (r != -E2BIG && r != -EBADMSG)
				abort();
			kube_framer_reset(&f);
		}
		off += n;
	}
	kube_framer_free(&f);

	ipvssvc_objects_free(whole.objs);
	free(whole.text);
	free(split.text);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Manifests: JSON (cJSON) and YAML (libyaml, turned into the same cJSON
 * tree so that one decoder reads both), single objects, v1 Lists and
 * typed lists (items), multi-document YAML streams and concatenated JSON
 * documents, directories of them, and standard input.
 */
#include "objects.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <yaml.h>

/* ---- items of a document ---- */

static int load_tree(ipvssvc_objects *objs, const cJSON *root,
		     const char *where)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
	const cJSON *it;
	size_t len;
	int r;

	if (cJSON_IsNull(root))
		return 0; /* an empty YAML document */
	len = cJSON_IsString(kind) ? strlen(kind->valuestring) : 0;
	if (cJSON_IsObject(root) && cJSON_IsArray(items) && len >= 4 &&
	    strcmp(kind->valuestring + len - 4, "List") == 0) {
		cJSON_ArrayForEach(it, items) {
			r = load_tree(objs, it, where);
			if (r < 0)
				return r;
		}
		return 0;
	}
	r = objs_upsert_tree(objs, root, NULL, where);
	return r < 0 ? r : 0;
}

/*
 * Items of a typed list (a ServiceList from the API server) carry no
 * kind: give them the list's.
 */
static int load_document(ipvssvc_objects *objs, cJSON *root, const char *where)
{
	cJSON *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
	cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
	size_t len;

	if (cJSON_IsObject(root) && cJSON_IsString(kind) &&
	    cJSON_IsArray(items)) {
		len = strlen(kind->valuestring);
		if (len > 4 &&
		    strcmp(kind->valuestring + len - 4, "List") == 0) {
			char hint[64];
			cJSON *it;

			snprintf(hint, sizeof(hint), "%.*s", (int)(len - 4),
				 kind->valuestring);
			cJSON_ArrayForEach(it, items) {
				cJSON *k = cJSON_GetObjectItemCaseSensitive(
					it, "kind");

				if (cJSON_IsObject(it) && !k &&
				    !cJSON_AddStringToObject(it, "kind", hint))
					return -ENOMEM;
			}
		}
	}
	return load_tree(objs, root, where);
}

/* ---- positions ---- */

static void offset_to_pos(const char *data, size_t off, size_t *line,
			  size_t *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (data[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* ---- staging ---- */

/*
 * A list is decoded item by item into a staging store, whose messages are
 * held back too: when the document turns out not to parse, nothing of it
 * was loaded or reported, as when it was parsed whole.
 */
struct stage {
	ipvssvc_objects *objs;
	struct held {
		int level;
		char *msg;
	} * held;
	size_t n_held;
	int oom;
};

static void stage_diag(void *userdata, int level, const char *msg)
{
	struct stage *s = userdata;
	struct held *v;

	v = realloc(s->held, (s->n_held + 1) * sizeof(*v));
	if (!v) {
		s->oom = 1;
		return;
	}
	s->held = v;
	v[s->n_held].level = level;
	v[s->n_held].msg = strdup(msg);
	if (!v[s->n_held].msg) {
		s->oom = 1;
		return;
	}
	s->n_held++;
}

static int stage_new(struct stage *s, ipvssvc_objects *parent)
{
	memset(s, 0, sizeof(*s));
	if (ipvssvc_objects_new(&s->objs) < 0)
		return -ENOMEM;
	ipvssvc_objects_set_diag(s->objs, stage_diag, s);
	/* interned strings go to the parent: they outlive the stage */
	s->objs->strings = parent->strings;
	return 0;
}

/* Into objs (when commit) or away; the stage is freed either way. */
static int stage_end(struct stage *s, ipvssvc_objects *objs, bool commit)
{
	int r = s->oom ? -ENOMEM : 0;
	size_t i;

	for (i = 0; i < s->n_held; i++) {
		if (commit && r == 0 && objs->diag)
			objs->diag(objs->diag_userdata, s->held[i].level,
				   s->held[i].msg);
		free(s->held[i].msg);
	}
	free(s->held);
	if (commit && r == 0)
		r = objs_move(objs, s->objs);
	ipvssvc_objects_free(s->objs);
	return r;
}

/* ---- JSON ---- */

/* A position in a JSON text; cJSON parses one value at a time from it. */
struct jscan {
	const char *data;
	size_t len;
	size_t off;
};

static void jskip(struct jscan *s)
{
	while (s->off < s->len && isspace((unsigned char)s->data[s->off]))
		s->off++;
}

static bool jat(struct jscan *s, char c)
{
	jskip(s);
	if (s->off < s->len && s->data[s->off] == c) {
		s->off++;
		return true;
	}
	return false;
}

/* The value at the position, parsed by cJSON; NULL when it does not parse. */
static cJSON *jvalue(struct jscan *s)
{
	const char *end = NULL;
	cJSON *v;

	jskip(s);
	v = cJSON_ParseWithLengthOpts(s->data + s->off, s->len - s->off, &end,
				      0);
	if (v)
		s->off = (size_t)(end - s->data);
	return v;
}

/* The items of a list, at '[': each parsed, decoded and freed in turn. */
static int stream_items(struct stage *st, struct jscan *s, const char *hint,
			const char *name)
{
	if (!jat(s, '['))
		return -EBADMSG;
	if (jat(s, ']'))
		return 0;
	for (;;) {
		cJSON *it = jvalue(s);
		int r;

		if (!it)
			return -EBADMSG;
		if (*hint && cJSON_IsObject(it) &&
		    !cJSON_GetObjectItemCaseSensitive(it, "kind") &&
		    !cJSON_AddStringToObject(it, "kind", hint)) {
			cJSON_Delete(it);
			return -ENOMEM;
		}
		r = load_tree(st->objs, it, name);
		cJSON_Delete(it);
		if (r < 0)
			return r;
		if (st->oom)
			return -ENOMEM;
		if (jat(s, ']'))
			return 0;
		if (!jat(s, ','))
			return -EBADMSG;
	}
}

/*
 * Load the document at *off when it is a list whose "kind" comes before
 * its "items" (as every Kubernetes writer orders them): the members of
 * the top-level object are parsed one at a time and the items streamed,
 * so that memory holds one item's tree, not the whole document's. Returns
 * 1 and moves *off past the document when it did; 0 when the document
 * is to be parsed whole (anything else, and every syntax error, which
 * that path reports); -ENOMEM.
 */
static int stream_list(ipvssvc_objects *objs, const char *data, size_t len,
		       size_t *off, const char *name)
{
	struct jscan s = {.data = data, .len = len, .off = *off};
	char hint[64] = "";
	bool list = false, kind_seen = false, streamed = false;
	struct stage st;
	int r;

	if (!jat(&s, '{') || jat(&s, '}'))
		return 0;
	r = stage_new(&st, objs);
	if (r < 0)
		return r;
	for (;;) {
		cJSON *key = jvalue(&s), *v;
		bool is_kind, is_items;

		if (!cJSON_IsString(key) || !jat(&s, ':')) {
			cJSON_Delete(key);
			goto whole;
		}
		is_kind = strcmp(key->valuestring, "kind") == 0;
		is_items = strcmp(key->valuestring, "items") == 0;
		cJSON_Delete(key);
		if (is_items && !streamed) {
			if (!list)
				goto whole;
			r = stream_items(&st, &s, hint, name);
			if (r == -EBADMSG)
				goto whole;
			if (r < 0)
				goto fail;
			streamed = true;
		} else {
			v = jvalue(&s);
			if (!v)
				goto whole;
			if (is_kind && !kind_seen) {
				size_t klen = cJSON_IsString(v)
						      ? strlen(v->valuestring)
						      : 0;

				kind_seen = true;
				list = klen >= 4 &&
				       strcmp(v->valuestring + klen - 4,
					      "Lis"
					      "t") == 0;
				if (klen > 4)
					snprintf(hint, sizeof(hint), "%.*s",
						 (int)(klen - 4),
						 v->valuestring);
			}
			cJSON_Delete(v);
			if (kind_seen && !list)
				goto whole;
		}
		if (jat(&s, '}'))
			break;
		if (!jat(&s, ','))
			goto whole;
	}
	if (!streamed)
		goto whole;
	r = stage_end(&st, objs, true);
	if (r < 0)
		return r;
	*off = s.off;
	return 1;
whole:
	r = 0;
fail:
	stage_end(&st, objs, false);
	return r;
}

static int load_json(ipvssvc_objects *objs, const char *data, size_t len,
		     const char *name)
{
	size_t off = 0;
	int r;

	for (;;) {
		const char *end = NULL;
		cJSON *root;

		while (off < len && isspace((unsigned char)data[off]))
			off++;
		if (off >= len)
			return 0;
		r = stream_list(objs, data, len, &off, name);
		if (r < 0)
			return r;
		if (r == 1)
			continue;
		root = cJSON_ParseWithLengthOpts(data + off, len - off, &end,
						 0);
		if (!root) {
			size_t at = end ? (size_t)(end - data) : off, line, col;

			if (at > len)
				at = len;
			/* an error at the last token: the input ends early */
			while (at < len && isspace((unsigned char)data[at]))
				at++;
			if (at + 1 >= len)
				at = len;
			offset_to_pos(data, at, &line, &col);
			objs_diag(objs, IPVSSVC_LOG_ERR,
				  "%s:%zu:%zu: %s JSON (byte %zu)", name, line,
				  col, at >= len ? "truncated" : "not valid",
				  at);
			return -EBADMSG;
		}
		r = load_document(objs, root, name);
		cJSON_Delete(root);
		if (r < 0)
			return r;
		off = (size_t)(end - data);
	}
}

/* ---- YAML ---- */

/* As deep as cJSON parses JSON: the decoders recurse. */
#define YAML_DEPTH_MAX CJSON_NESTING_LIMIT
/* Nodes that aliases may copy in one document (no "billion laughs"). */
#define YAML_ALIAS_NODES_MAX (1U << 16)

struct yctx {
	yaml_parser_t parser;
	const char *name;
	ipvssvc_objects *objs;
	/*
	 * anchors: name -> a copy of the node (owned here: the node itself
	 * may be replaced by a duplicate key or dissolved by a merge key)
	 */
	struct anchor {
		char *name;
		cJSON *node;
		size_t n_nodes;
	} * anchors;
	size_t n_anchors;
	unsigned depth;
	size_t alias_nodes; /* copied by aliases so far */
	int error; /* reported already */
	/*
	 * The document's top-level mapping: once its "kind" says it is a
	 * list, its "items" are decoded one by one into the stage.
	 */
	struct stage *stage;
	bool kind_seen, list, streamed;
	char hint[64];
};

static void yreport(struct yctx *y, const char *what, size_t line, size_t col)
{
	objs_diag(y->objs, IPVSSVC_LOG_ERR, "%s:%zu:%zu: %s", y->name, line,
		  col, what);
	y->error = 1;
}

static void yparse_error(struct yctx *y)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "not valid YAML: %s%s%s",
		 y->parser.problem ? y->parser.problem : "parse error",
		 y->parser.context ? " " : "",
		 y->parser.context ? y->parser.context : "");
	yreport(y, msg, y->parser.problem_mark.line + 1,
		y->parser.problem_mark.column + 1);
}

static void anchors_clear(struct yctx *y)
{
	size_t i;

	for (i = 0; i < y->n_anchors; i++) {
		free(y->anchors[i].name);
		cJSON_Delete(y->anchors[i].node);
	}
	free(y->anchors);
	y->anchors = NULL;
	y->n_anchors = 0;
	y->alias_nodes = 0;
}

static size_t count_nodes(const cJSON *node)
{
	const cJSON *c;
	size_t n = 1;

	for (c = node->child; c; c = c->next)
		n += count_nodes(c);
	return n;
}

static int anchor_add(struct yctx *y, const char *name, cJSON *node)
{
	struct anchor *v;
	cJSON *copy;

	v = realloc(y->anchors, (y->n_anchors + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	y->anchors = v;
	copy = cJSON_Duplicate(node, 1);
	if (!copy)
		return -ENOMEM;
	v[y->n_anchors].name = strdup(name);
	if (!v[y->n_anchors].name) {
		cJSON_Delete(copy);
		return -ENOMEM;
	}
	v[y->n_anchors].node = copy;
	v[y->n_anchors++].n_nodes = count_nodes(copy);
	return 0;
}

static bool match_any(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static bool is_int(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o') && s[2]) {
		bool hex = s[1] == 'x';

		for (s += 2; *s; s++)
			if (hex ? !isxdigit((unsigned char)*s)
				: (*s < '0' || *s > '7'))
				return false;
		return true;
	}
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static bool is_float(const char *s)
{
	bool digits = false;

	if (*s == '-' || *s == '+')
		s++;
	while (isdigit((unsigned char)*s)) {
		s++;
		digits = true;
	}
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s)) {
			s++;
			digits = true;
		}
	}
	if (!digits)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

/*
 * A scalar to a cJSON value. Quoted scalars and !!str stay strings;
 * plain ones that look like null, a boolean or a number become one
 * (YAML 1.1-ish, as Kubernetes' YAML reader resolves them). Numbers and
 * booleans keep their text in valuestring for fields that want a string
 * (a label value written as 1).
 */
static cJSON *yscalar(const yaml_event_t *ev)
{
	static const char *const nulls[] = {"~", "null", "Null", "NULL", NULL};
	static const char *const trues[] = {"true", "True", "TRUE", "yes",
					    "Yes",  "YES",  "on",   "On",
					    "ON",   NULL};
	static const char *const falses[] = {"false", "False", "FALSE", "no",
					     "No",    "NO",    "off",	"Off",
					     "OFF",   NULL};
	const char *v = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	cJSON *item = NULL;

	if (tag && strcmp(tag, YAML_STR_TAG) == 0)
		return cJSON_CreateString(v);
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    (tag && strcmp(tag, "!") == 0))
		return cJSON_CreateString(v);
	if (match_any(v, nulls) || ev->data.scalar.length == 0 ||
	    (tag && strcmp(tag, YAML_NULL_TAG) == 0))
		return cJSON_CreateNull();
	if (match_any(v, trues))
		item = cJSON_CreateTrue();
	else if (match_any(v, falses))
		item = cJSON_CreateFalse();
	else if (is_int(v)) {
		const char *p = v;
		int neg = 0;
		double d;

		if (*p == '-' || *p == '+')
			neg = *p++ == '-';
		if (p[0] == '0' && p[1] == 'x')
			d = (double)strtoull(p + 2, NULL, 16);
		else if (p[0] == '0' && p[1] == 'o')
			d = (double)strtoull(p + 2, NULL, 8);
		else
			d = strtod(p, NULL);
		item = cJSON_CreateNumber(neg ? -d : d);
	} else if (is_float(v)) {
		item = cJSON_CreateNumber(strtod(v, NULL));
	} else {
		return cJSON_CreateString(v);
	}
	if (item) {
		item->valuestring = strdup(v);
		if (!item->valuestring) {
			cJSON_Delete(item);
			return NULL;
		}
	}
	return item;
}

/* Append to an array or object in O(1): cJSON keeps the tail in prev. */
static void yappend(cJSON *parent, cJSON *item)
{
	cJSON *head = parent->child;

	if (!head) {
		parent->child = item;
		item->prev = item;
		item->next = NULL;
		return;
	}
	head->prev->next = item;
	item->prev = head->prev;
	item->next = NULL;
	head->prev = item;
}

static int yparse_node(struct yctx *y, yaml_event_t *ev, cJSON **ret);

/* An alias is a copy of a node that may carry its old key. */
static void drop_key(cJSON *item)
{
	if (item->string && !(item->type & cJSON_StringIsConst))
		cJSON_free(item->string);
	item->string = NULL;
	item->type &= ~cJSON_StringIsConst;
}

static int ynext(struct yctx *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->parser, ev)) {
		yparse_error(y);
		return -EBADMSG;
	}
	return 0;
}

/* The items of a top-level list, after its sequence start. */
static int ystream_items(struct yctx *y)
{
	for (;;) {
		yaml_event_t ev;
		cJSON *it;
		int r;

		if (ynext(y, &ev) < 0)
			return -EBADMSG;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		/* as deep as in the whole tree: inside the sequence */
		y->depth++;
		r = yparse_node(y, &ev, &it);
		y->depth--;
		if (r < 0)
			return r;
		drop_key(it);
		if (*y->hint && cJSON_IsObject(it) &&
		    !cJSON_GetObjectItemCaseSensitive(it, "kind") &&
		    !cJSON_AddStringToObject(it, "kind", y->hint)) {
			cJSON_Delete(it);
			return -ENOMEM;
		}
		r = load_tree(y->stage->objs, it, y->name);
		cJSON_Delete(it);
		if (r < 0)
			return r;
		if (y->stage->oom)
			return -ENOMEM;
	}
}

/* At the top level: note whether "kind" makes the document a list. */
static void ynote_kind(struct yctx *y, const cJSON *val)
{
	size_t len;

	if (y->kind_seen)
		return;
	y->kind_seen = true;
	len = cJSON_IsString(val) ? strlen(val->valuestring) : 0;
	y->list = len >= 4 && strcmp(val->valuestring + len - 4, "List") == 0;
	if (len > 4)
		snprintf(y->hint, sizeof(y->hint), "%.*s", (int)(len - 4),
			 val->valuestring);
}

static int yparse_collection(struct yctx *y, bool mapping, cJSON *coll)
{
	for (;;) {
		yaml_event_t ev;
		cJSON *key = NULL, *val = NULL;
		int r;

		if (ynext(y, &ev) < 0)
			return -EBADMSG;
		if (ev.type == (mapping ? YAML_MAPPING_END_EVENT
					: YAML_SEQUENCE_END_EVENT)) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (!mapping) {
			r = yparse_node(y, &ev, &val);
			if (r < 0)
				return r;
			drop_key(val);
			yappend(coll, val);
			continue;
		}
		/* a key: only scalars make sense in Kubernetes objects */
		if (ev.type != YAML_SCALAR_EVENT) {
			yreport(y,
				"not valid YAML for Kubernetes: a key that is "
				"not a scalar",
				ev.start_mark.line + 1,
				ev.start_mark.column + 1);
			yaml_event_delete(&ev);
			return -EBADMSG;
		}
		key = cJSON_CreateString((const char *)ev.data.scalar.value);
		yaml_event_delete(&ev);
		if (!key)
			return -ENOMEM;
		if (ynext(y, &ev) < 0) {
			cJSON_Delete(key);
			return -EBADMSG;
		}
		if (y->stage && y->depth == 1 && y->list && !y->streamed &&
		    strcmp(key->valuestring, "items") == 0 &&
		    ev.type == YAML_SEQUENCE_START_EVENT &&
		    !ev.data.sequence_start.anchor) {
			yaml_event_delete(&ev);
			cJSON_Delete(key);
			r = ystream_items(y);
			if (r < 0)
				return r;
			y->streamed = true;
			continue;
		}
		r = yparse_node(y, &ev, &val);
		if (r < 0) {
			cJSON_Delete(key);
			return r;
		}
		if (y->stage && y->depth == 1 &&
		    strcmp(key->valuestring, "kind") == 0)
			ynote_kind(y, val);
		if (strcmp(key->valuestring, "<<") == 0 &&
		    cJSON_IsObject(val)) {
			/* a merge key: copy what is not set yet */
			cJSON *m;

			while ((m = val->child)) {
				cJSON_DetachItemViaPointer(val, m);
				if (cJSON_GetObjectItemCaseSensitive(coll,
								     m->string))
					cJSON_Delete(m);
				else
					yappend(coll, m);
			}
			cJSON_Delete(val);
			cJSON_Delete(key);
			continue;
		}
		/* a duplicate key: the last one wins, as in Go */
		if (cJSON_GetObjectItemCaseSensitive(coll, key->valuestring))
			cJSON_DeleteItemFromObjectCaseSensitive(
				coll, key->valuestring);
		drop_key(val);
		val->string = key->valuestring;
		key->valuestring = NULL;
		cJSON_Delete(key);
		yappend(coll, val);
	}
}

/* Build the node that starts with ev (consumed). */
static int yparse_node(struct yctx *y, yaml_event_t *ev, cJSON **ret)
{
	const char *anchor = NULL;
	cJSON *node = NULL;
	int r = 0;

	switch (ev->type) {
	case YAML_ALIAS_EVENT: {
		size_t i;

		for (i = y->n_anchors; i > 0; i--)
			if (strcmp(y->anchors[i - 1].name,
				   (const char *)ev->data.alias.anchor) == 0)
				break;
		if (i == 0) {
			yreport(y, "not valid YAML: unknown alias",
				ev->start_mark.line + 1,
				ev->start_mark.column + 1);
			yaml_event_delete(ev);
			return -EBADMSG;
		}
		if (y->anchors[i - 1].n_nodes >
		    YAML_ALIAS_NODES_MAX - y->alias_nodes) {
			yreport(y, "YAML aliases expand to too many nodes",
				ev->start_mark.line + 1,
				ev->start_mark.column + 1);
			yaml_event_delete(ev);
			return -EBADMSG;
		}
		y->alias_nodes += y->anchors[i - 1].n_nodes;
		node = cJSON_Duplicate(y->anchors[i - 1].node, 1);
		yaml_event_delete(ev);
		if (!node)
			return -ENOMEM;
		*ret = node;
		return 0;
	}
	case YAML_SCALAR_EVENT:
		node = yscalar(ev);
		anchor = (const char *)ev->data.scalar.anchor;
		break;
	case YAML_SEQUENCE_START_EVENT:
		node = cJSON_CreateArray();
		anchor = (const char *)ev->data.sequence_start.anchor;
		break;
	case YAML_MAPPING_START_EVENT:
		node = cJSON_CreateObject();
		anchor = (const char *)ev->data.mapping_start.anchor;
		break;
	default:
		yreport(y, "not valid YAML: unexpected event",
			ev->start_mark.line + 1, ev->start_mark.column + 1);
		yaml_event_delete(ev);
		return -EBADMSG;
	}
	if (!node) {
		yaml_event_delete(ev);
		return -ENOMEM;
	}
	if (ev->type == YAML_SEQUENCE_START_EVENT ||
	    ev->type == YAML_MAPPING_START_EVENT) {
		bool mapping = ev->type == YAML_MAPPING_START_EVENT;

		if (y->depth >= YAML_DEPTH_MAX) {
			yreport(y, "YAML nested too deeply",
				ev->start_mark.line + 1,
				ev->start_mark.column + 1);
			r = -EBADMSG;
		} else {
			y->depth++;
			r = yparse_collection(y, mapping, node);
			y->depth--;
		}
	}
	/* an anchor keeps a copy of the finished node */
	if (r == 0 && anchor && anchor_add(y, anchor, node) < 0)
		r = -ENOMEM;
	yaml_event_delete(ev);
	if (r < 0) {
		cJSON_Delete(node);
		return r;
	}
	*ret = node;
	return 0;
}

static int load_yaml(ipvssvc_objects *objs, const char *data, size_t len,
		     const char *name)
{
	struct yctx y = {.name = name, .objs = objs};
	int r = 0;

	if (!yaml_parser_initialize(&y.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)data,
				     len);
	for (;;) {
		yaml_event_t ev;
		cJSON *root = NULL;
		struct stage st;

		r = ynext(&y, &ev);
		if (r < 0)
			break;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type != YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			continue; /* stream start */
		}
		yaml_event_delete(&ev);
		r = ynext(&y, &ev);
		if (r < 0)
			break;
		r = stage_new(&st, objs);
		if (r < 0) {
			yaml_event_delete(&ev);
			break;
		}
		y.stage = &st;
		y.kind_seen = y.list = y.streamed = false;
		y.hint[0] = '\0';
		r = yparse_node(&y, &ev, &root);
		if (r == 0) {
			r = ynext(&y, &ev); /* document end */
			if (r < 0)
				cJSON_Delete(root);
			else
				yaml_event_delete(&ev);
		}
		y.stage = NULL;
		if (r < 0) {
			stage_end(&st, objs, false);
			break;
		}
		anchors_clear(&y);
		/* a streamed list is loaded; the rest of it is not an object */
		r = stage_end(&st, objs, y.streamed);
		if (r == 0 && !y.streamed)
			r = load_document(objs, root, name);
		cJSON_Delete(root);
		if (r < 0)
			break;
	}
	anchors_clear(&y);
	yaml_parser_delete(&y.parser);
	if (r == -EBADMSG && !y.error)
		objs_diag(objs, IPVSSVC_LOG_ERR, "%s: not valid YAML", name);
	return r;
}

/* ---- sources ---- */

static bool looks_like_json(const char *data, size_t len)
{
	size_t i = 0;

	/* a UTF-8 byte order mark */
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	for (; i < len; i++) {
		if (isspace((unsigned char)data[i]))
			continue;
		return data[i] == '{' || data[i] == '[';
	}
	return false;
}

_public_ int ipvssvc_objects_load_buffer(ipvssvc_objects *objs,
					 const char *data, size_t len,
					 const char *name)
{
	if (!objs || (!data && len))
		return -EINVAL;
	if (!name)
		name = "<buffer>";
	if (len == 0)
		return 0;
	if (memchr(data, '\0', len)) {
		objs_diag(objs, IPVSSVC_LOG_ERR,
			  "%s: binary data, not JSON or YAML", name);
		return -EBADMSG;
	}
	if (looks_like_json(data, len))
		return load_json(objs, data, len, name);
	return load_yaml(objs, data, len, name);
}

static int read_fd(int fd, char **ret, size_t *ret_len)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb = realloc(buf, cap * 2 + 1);

			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			free(buf);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

static int load_file(ipvssvc_objects *objs, const char *path, int fd)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	r = read_fd(fd, &data, &len);
	if (r < 0) {
		objs_diag(objs, IPVSSVC_LOG_ERR, "%s: cannot read: %s", path,
			  strerror(-r));
		return r;
	}
	r = ipvssvc_objects_load_buffer(objs, data, len, path);
	free(data);
	return r;
}

static bool manifest_name(const char *n)
{
	size_t len = strlen(n);

	if (n[0] == '.')
		return false;
	return (len > 5 && strcmp(n + len - 5, ".json") == 0) ||
	       (len > 5 && strcmp(n + len - 5, ".yaml") == 0) ||
	       (len > 4 && strcmp(n + len - 4, ".yml") == 0);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(ipvssvc_objects *objs, const char *path, int dfd)
{
	char **names = NULL;
	size_t n = 0, i;
	struct dirent *de;
	DIR *d;
	int r = 0, first_err = 0;

	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	while ((de = readdir(d))) {
		char **v;

		if (!manifest_name(de->d_name))
			continue;
		v = realloc(names, (n + 1) * sizeof(*names));
		if (!v) {
			r = -ENOMEM;
			goto out;
		}
		names = v;
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		size_t plen = strlen(path) + strlen(names[i]) + 2;
		char *p = malloc(plen);
		int fd;

		if (!p) {
			r = -ENOMEM;
			goto out;
		}
		snprintf(p, plen, "%s%s%s", path,
			 path[strlen(path) - 1] == '/' ? "" : "/", names[i]);
		fd = openat(dirfd(d), names[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			objs_diag(objs, IPVSSVC_LOG_ERR, "%s: cannot open: %s",
				  p, strerror(-r));
		} else {
			r = load_file(objs, p, fd);
			close(fd);
		}
		free(p);
		/* a bad file does not stop the others; its error is kept */
		if (r == -ENOMEM)
			goto out;
		if (r < 0 && !first_err)
			first_err = r;
	}
	r = first_err;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

_public_ int ipvssvc_objects_load_path(ipvssvc_objects *objs, const char *path)
{
	struct stat st;
	int fd, r;

	if (!objs || !path || !*path)
		return -EINVAL;
	if (strcmp(path, "-") == 0)
		return load_file(objs, "<stdin>", STDIN_FILENO);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		objs_diag(objs, IPVSSVC_LOG_ERR, "%s: cannot open: %s", path,
			  strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (S_ISDIR(st.st_mode))
		return load_dir(objs, path, fd);
	r = load_file(objs, path, fd);
	close(fd);
	return r;
}

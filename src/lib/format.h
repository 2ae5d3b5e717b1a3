/* format: a small subset of Go's text/template, over a JSON value, for
 * `reg inspect -f` and `reg ps --format` (Docker's --format habits).
 *
 *   text                copied as it is ("\t" and "\n" become a tab and a
 *                       newline, as in Docker's table formats)
 *   {{.}}               the value itself
 *   {{.A.B}}            a field path; a missing field is an error naming it
 *                       (Go's missingkey=error, as Docker sets it)
 *   {{json .A}}         the value as compact JSON
 *   {{index .A "k"}}    a key of an object (or {{index .A 0}}, an array item)
 *   {{len .A}}          the length of an array, object or string
 *   {{upper .A}} {{lower .A}} {{join .A ","}}
 *   {{range .A}}...{{end}}          each item of an array as {{.}}
 *   {{if .A}}...{{else}}...{{end}}  false, 0, "", null, [] and {} are false
 *
 * A string prints as itself, a number as a number, true/false, null as
 * "<no value>", an array or object as JSON. Anything else is refused when
 * parsed, with the position and what was expected. */
#ifndef REG_FORMAT_H
#define REG_FORMAT_H

#include <stdio.h>

#include "error.h"

struct json_t;
struct reg_format;

int reg_format_parse (const char *text, struct reg_format **out, struct reg_error **err);
/* Render with dot = value into out (an open_memstream or stdout). */
int reg_format_render (const struct reg_format *f, struct json_t *value, FILE *out,
                       struct reg_error **err);
void reg_format_free (struct reg_format *f);

#endif

/* oci: how a template looks as an OCI artifact — references, media types,
 * and the image manifest that carries it (docs/registry.md).
 *
 * Owns the mapping, not the transport: it parses and checks references and
 * manifests and builds manifests; registry.c and layout.c move the bytes.
 * Everything it parses is untrusted: a manifest is refused unless it is an
 * OCI image manifest whose config is a reg template, every digest is
 * "sha256:<64 hex>" and every size is within the bounds below.
 */
#ifndef REG_OCI_H
#define REG_OCI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define REG_OCI_MANIFEST_TYPE "application/vnd.oci.image.manifest.v1+json"
#define REG_OCI_INDEX_TYPE "application/vnd.oci.image.index.v1+json"
#define REG_OCI_TEMPLATE_TYPE "application/vnd.reg.template.v1+yaml"
#define REG_OCI_LIB_TYPE "application/vnd.reg.lib.v1"
#define REG_OCI_FILES_TYPE "application/vnd.reg.files.v1.tar+gzip"
/* One file object, raw (docs/registry.md, "File layers"): what an app
 * template carries, so a changed app moves only its changed files. */
#define REG_OCI_FILE_TYPE "application/vnd.reg.file.v1"
#define REG_OCI_ANNOTATION_LIB "org.reg.lib"
#define REG_OCI_ANNOTATION_TEMPLATE "org.reg.template"
#define REG_OCI_ANNOTATION_MTIME "org.reg.mtime" /* file layers: the object's mtime, seconds */

#define REG_OCI_MAX_MANIFEST (4 * 1024 * 1024)
#define REG_OCI_MAX_CONFIG (16 * 1024 * 1024)
#define REG_OCI_MAX_BLOB ((int64_t)4 << 30)
#define REG_OCI_MAX_LAYERS 100000

/* [HOST/]PATH[:TAG] or [HOST/]PATH@sha256:<64 hex>. HOST is the first
 * component when it has a '.' or a ':' or is "localhost" (Docker's rule);
 * without one the reference names a repository of a local OCI image
 * layout. TAG defaults to "latest". A digest reference names one manifest
 * (its bytes must hash to it); a tag given with it is ignored, as Docker
 * does. */
struct reg_oci_ref
{
  char *host;   /* NULL: local layout */
  char *repo;   /* "templates/python" */
  char *tag;    /* "3.11.2" */
  char *digest; /* "sha256:<hex>" of a digest reference, or NULL */
};

int reg_oci_ref_parse (const char *text, struct reg_oci_ref **out, struct reg_error **err);
void reg_oci_ref_free (struct reg_oci_ref *r);
/* "HOST/REPO:TAG" or "HOST/REPO@sha256:…" (HOST/ when there is one); allocated. */
char *reg_oci_ref_string (const struct reg_oci_ref *r);
/* What the manifests endpoint takes: the digest, or else the tag. */
const char *reg_oci_ref_reference (const struct reg_oci_ref *r);
/* The repository a required template name@version lives in: the same host,
 * the same parent path, the template's name as last component and its
 * version as tag ('+' becomes '_', tags allow no '+'). */
int reg_oci_ref_sibling (const struct reg_oci_ref *r, const char *name, const char *version,
                         struct reg_oci_ref **out, struct reg_error **err);
bool reg_oci_tag_ok (const char *tag);
/* A repository name of the distribution grammar (no host): lowercase
 * components of [a-z0-9] joined by '.', '_', '__' or dashes, separated by '/'. */
bool reg_oci_repo_ok (const char *repo);

struct reg_oci_desc
{
  char *media_type;
  char digest[65]; /* hex, no "sha256:" */
  int64_t size;
  char *lib;     /* layers of type lib: the lib name ("libc@6"), annotation */
  int64_t mtime; /* layers of type file: the object's mtime (seconds; 0: none), annotation */
};

struct reg_oci_manifest
{
  struct reg_oci_desc config;
  struct reg_oci_desc *layers;
  size_t n_layers;
  char *template_ref; /* annotation "name@version" */
};

/* One descriptor {mediaType, digest, size} (jansson object); `which` names it. */
int reg_oci_desc_parse (json_t *j, const char *what, const char *which, struct reg_oci_desc *d,
                        struct reg_error **err);
/* Parse and check a manifest; `what` names it in errors (the reference). */
int reg_oci_manifest_parse (const char *text, size_t len, const char *what,
                            struct reg_oci_manifest **out, struct reg_error **err);
/* Serialize (compact JSON, sorted keys: the same manifest, the same bytes). */
char *reg_oci_manifest_build (const struct reg_oci_manifest *m);
void reg_oci_manifest_free (struct reg_oci_manifest *m);

/* "sha256:<hex>" -> hex (65 bytes); false when malformed. */
bool reg_oci_digest_parse (const char *s, char hex[65]);

#endif

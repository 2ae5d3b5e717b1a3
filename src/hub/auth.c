#include "auth.h"
#include "util.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT_LEN 16
#define HASH_LEN 32

static int
b64 (const unsigned char *in, size_t len, char *out, size_t size)
{
  if (size < 4 * ((len + 2) / 3) + 1)
    return -1;
  return EVP_EncodeBlock ((unsigned char *)out, in, (int)len);
}

/* Decode base64 of exactly `len` bytes. */
static int
unb64 (const char *in, size_t in_len, unsigned char *out, size_t len)
{
  unsigned char buf[128];
  if (in_len == 0 || in_len > 4 * ((sizeof buf) / 3) || in_len % 4)
    return -1;
  int n = EVP_DecodeBlock (buf, (const unsigned char *)in, (int)in_len);
  size_t pad = (in[in_len - 1] == '=') + (in_len > 1 && in[in_len - 2] == '=');
  if (n < 0 || (size_t)n - pad != len)
    return -1;
  memcpy (out, buf, len);
  return 0;
}

char *
hub_auth_hash (const char *password, unsigned iterations, struct reg_error **err)
{
  unsigned char salt[SALT_LEN], hash[HASH_LEN];
  char salt64[32], hash64[64];
  if (RAND_bytes (salt, sizeof salt) != 1)
    return reg_error_set (err, EIO, "password hash: no random bytes"), NULL;
  if (PKCS5_PBKDF2_HMAC (password, (int)strlen (password), salt, sizeof salt, (int)iterations,
                         EVP_sha256 (), sizeof hash, hash)
      != 1)
    return reg_error_set (err, EIO, "password hash: PBKDF2 failed"), NULL;
  b64 (salt, sizeof salt, salt64, sizeof salt64);
  b64 (hash, sizeof hash, hash64, sizeof hash64);
  char *out = NULL;
  if (asprintf (&out, "pbkdf2-sha256$%u$%s$%s", iterations, salt64, hash64) < 0)
    return reg_error_set (err, ENOMEM, "out of memory"), NULL;
  return out;
}

/* Split "pbkdf2-sha256$N$SALT$HASH". */
static bool
parse (const char *stored, unsigned *iterations, unsigned char salt[SALT_LEN],
       unsigned char hash[HASH_LEN])
{
  const char *prefix = "pbkdf2-sha256$";
  if (stored == NULL || strncmp (stored, prefix, strlen (prefix)) != 0)
    return false;
  char *end = NULL;
  unsigned long n = strtoul (stored + strlen (prefix), &end, 10);
  if (end == NULL || *end != '$' || n == 0 || n > 100000000)
    return false;
  const char *s = end + 1, *dollar = strchr (s, '$');
  if (dollar == NULL)
    return false;
  *iterations = (unsigned)n;
  return unb64 (s, (size_t)(dollar - s), salt, SALT_LEN) == 0
         && unb64 (dollar + 1, strlen (dollar + 1), hash, HASH_LEN) == 0;
}

bool
hub_auth_verify (const char *password, const char *stored)
{
  unsigned iterations;
  unsigned char salt[SALT_LEN], want[HASH_LEN], got[HASH_LEN];
  if (!parse (stored, &iterations, salt, want))
    return false;
  if (PKCS5_PBKDF2_HMAC (password, (int)strlen (password), salt, SALT_LEN, (int)iterations,
                         EVP_sha256 (), HASH_LEN, got)
      != 1)
    return false;
  return CRYPTO_memcmp (got, want, HASH_LEN) == 0;
}

bool
hub_auth_needs_rehash (const char *stored, unsigned iterations)
{
  unsigned have;
  unsigned char salt[SALT_LEN], hash[HASH_LEN];
  return !parse (stored, &have, salt, hash) || have < iterations;
}

int
hub_auth_secret (const char *prefix, char out[64], struct reg_error **err)
{
  unsigned char raw[32];
  char enc[48];
  if (RAND_bytes (raw, sizeof raw) != 1)
    return reg_error_set (err, EIO, "secret: no random bytes");
  b64 (raw, sizeof raw, enc, sizeof enc);
  /* base64url, no padding */
  for (char *p = enc; *p; p++)
    *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
  enc[strcspn (enc, "=")] = '\0';
  snprintf (out, 64, "%s%s", prefix ? prefix : "", enc);
  return 0;
}

void
hub_auth_key (const char *secret, char out[65])
{
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256 ((const unsigned char *)secret, strlen (secret), d);
  reg_util_hex (d, sizeof d, out);
}

bool
hub_auth_equal (const char *a, const char *b)
{
  size_t n = strlen (a);
  return n == strlen (b) && CRYPTO_memcmp (a, b, n) == 0;
}

/* ---- throttling ---- */

#define SLOTS 1024
#define WINDOW 900 /* s: failures older than this are forgotten */
#define MAX_WAIT 900

struct slot
{
  char key[160];
  unsigned failures;
  int64_t last;
};

static struct slot slots[SLOTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

/* The slot of `key`, or the stalest one to reuse. */
static struct slot *
find (const char *key, bool create)
{
  struct slot *victim = &slots[0];
  for (int i = 0; i < SLOTS; i++)
    {
      if (strcmp (slots[i].key, key) == 0)
        return &slots[i];
      if (slots[i].last < victim->last)
        victim = &slots[i];
    }
  if (!create)
    return NULL;
  snprintf (victim->key, sizeof victim->key, "%s", key);
  victim->failures = 0;
  victim->last = 0;
  return victim;
}

static unsigned
wait_of (const struct slot *s, int64_t now, unsigned free_failures)
{
  if (s == NULL || now - s->last > WINDOW || s->failures < free_failures)
    return 0;
  unsigned shift = s->failures - free_failures;
  int64_t delay = shift >= 10 ? MAX_WAIT : (int64_t)5 << shift;
  if (delay > MAX_WAIT)
    delay = MAX_WAIT;
  int64_t left = s->last + delay - now;
  return left > 0 ? (unsigned)left : 0;
}

unsigned
hub_auth_throttle_wait (const char *name, const char *addr, int64_t now)
{
  char k1[160], k2[160];
  snprintf (k1, sizeof k1, "u:%s", name);
  snprintf (k2, sizeof k2, "a:%s", addr);
  pthread_mutex_lock (&slots_lock);
  unsigned a = wait_of (find (k1, false), now, HUB_AUTH_FREE_FAILURES);
  unsigned b = wait_of (find (k2, false), now, HUB_AUTH_FREE_FAILURES_PER_ADDRESS);
  pthread_mutex_unlock (&slots_lock);
  return a > b ? a : b;
}

static void
bump (const char *key, int64_t now)
{
  struct slot *s = find (key, true);
  if (now - s->last > WINDOW)
    s->failures = 0;
  s->failures++;
  s->last = now;
}

void
hub_auth_throttle_fail (const char *name, const char *addr, int64_t now)
{
  char k1[160], k2[160];
  snprintf (k1, sizeof k1, "u:%s", name);
  snprintf (k2, sizeof k2, "a:%s", addr);
  pthread_mutex_lock (&slots_lock);
  bump (k1, now);
  bump (k2, now);
  pthread_mutex_unlock (&slots_lock);
}

void
hub_auth_throttle_ok (const char *name, const char *addr)
{
  char k1[160];
  snprintf (k1, sizeof k1, "u:%s", name);
  pthread_mutex_lock (&slots_lock);
  struct slot *s = find (k1, false);
  if (s)
    s->failures = 0;
  pthread_mutex_unlock (&slots_lock);
}

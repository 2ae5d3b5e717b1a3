/* tlscert: the hub's certificate. With --tls-cert/--tls-key those files;
 * otherwise DATA/tls/{cert,key}.pem, made at first start: a self-signed
 * ECDSA P-256 certificate for localhost, 127.0.0.1, ::1 and this host's
 * name, valid ten years, the key mode 0600. */
#include "hub.h"
#include "util.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
pem_of_key (EVP_PKEY *key)
{
  BIO *b = BIO_new (BIO_s_mem ());
  char *data = NULL, *out = NULL;
  if (b && PEM_write_bio_PrivateKey (b, key, NULL, NULL, 0, NULL, NULL) == 1)
    {
      long n = BIO_get_mem_data (b, &data);
      out = strndup (data, (size_t)n);
    }
  BIO_free (b);
  return out;
}

static char *
pem_of_cert (X509 *x)
{
  BIO *b = BIO_new (BIO_s_mem ());
  char *data = NULL, *out = NULL;
  if (b && PEM_write_bio_X509 (b, x) == 1)
    {
      long n = BIO_get_mem_data (b, &data);
      out = strndup (data, (size_t)n);
    }
  BIO_free (b);
  return out;
}

static int
make_self_signed (char **cert_pem, char **key_pem, struct reg_error **err)
{
  EVP_PKEY *key = EVP_EC_gen ("P-256");
  X509 *x = X509_new ();
  int rc = -1;
  char host[256] = "localhost", san[512];
  gethostname (host, sizeof host - 1);
  snprintf (san, sizeof san, "DNS:localhost,DNS:%s,IP:127.0.0.1,IP:::1", host);
  if (key && x)
    {
      X509_set_version (x, 2);
      BIGNUM *serial = BN_new ();
      if (serial && BN_rand (serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1)
        BN_to_ASN1_INTEGER (serial, X509_get_serialNumber (x));
      BN_free (serial);
      X509_gmtime_adj (X509_getm_notBefore (x), -3600);
      X509_gmtime_adj (X509_getm_notAfter (x), 10L * 365 * 24 * 3600);
      X509_set_pubkey (x, key);
      X509_NAME *name = X509_get_subject_name (x);
      X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC, (const unsigned char *)"reg-hub", -1,
                                  -1, 0);
      X509_set_issuer_name (x, name);
      X509V3_CTX ctx;
      X509V3_set_ctx_nodb (&ctx);
      X509V3_set_ctx (&ctx, x, x, NULL, NULL, 0);
      X509_EXTENSION *ext = X509V3_EXT_conf_nid (NULL, &ctx, NID_subject_alt_name, san);
      if (ext)
        {
          X509_add_ext (x, ext, -1);
          X509_EXTENSION_free (ext);
        }
      if (X509_sign (x, key, EVP_sha256 ()) > 0)
        {
          *cert_pem = pem_of_cert (x);
          *key_pem = pem_of_key (key);
          rc = *cert_pem && *key_pem ? 0 : -1;
        }
    }
  X509_free (x);
  EVP_PKEY_free (key);
  if (rc < 0)
    reg_error_set (err, EIO, "reg-hub: cannot make a self-signed certificate (OpenSSL)");
  return rc;
}

int
hub_tls_ensure (struct hub *h, struct reg_error **err)
{
  if (h->cfg.tls_cert || h->cfg.tls_key)
    {
      if (!h->cfg.tls_cert || !h->cfg.tls_key)
        return reg_error_set (err, EINVAL, "reg-hub: --tls-cert and --tls-key go together");
      if (reg_util_read_file (h->cfg.tls_cert, 1 << 20, &h->cert_pem, NULL, err) < 0
          || reg_util_read_file (h->cfg.tls_key, 1 << 20, &h->key_pem, NULL, err) < 0)
        return reg_error_prefix (err, "reg-hub --tls-cert/--tls-key");
      return 0;
    }
  _cleanup_free_ char *dir = NULL, *cert = NULL, *key = NULL;
  if (asprintf (&dir, "%s/tls", h->cfg.data_dir) < 0 || asprintf (&cert, "%s/cert.pem", dir) < 0
      || asprintf (&key, "%s/key.pem", dir) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (access (cert, F_OK) == 0)
    {
      if (reg_util_read_file (cert, 1 << 20, &h->cert_pem, NULL, err) < 0
          || reg_util_read_file (key, 1 << 20, &h->key_pem, NULL, err) < 0)
        return -1;
      return 0;
    }
  if (reg_util_mkdir_p (dir, 0700, err) < 0 || make_self_signed (&h->cert_pem, &h->key_pem, err) < 0
      || reg_util_write_atomic (key, h->key_pem, strlen (h->key_pem), 0600, err) < 0
      || reg_util_write_atomic (cert, h->cert_pem, strlen (h->cert_pem), 0644, err) < 0)
    return -1;
  fprintf (stderr, "reg-hub: made a self-signed certificate: %s\n", cert);
  return 0;
}

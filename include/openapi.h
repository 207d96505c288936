/* The OpenAPI 3.1 document of the REST API (docs/openapi.json), embedded
 * at build time and served at GET /v1/api/openapi.json. */
#ifndef SIGNAL_OPENAPI_H
#define SIGNAL_OPENAPI_H

#include <stddef.h>

extern const char openapi_document[];
extern const size_t openapi_document_len;

#endif

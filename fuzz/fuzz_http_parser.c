/*
 * libFuzzer target for the HTTP request-head parser and its helpers:
 * http_parse_request, http_find_header, http_header_has_token,
 * http_path_len and http_percent_decode. Input layout: one byte that picks the
 * head size limit, then the bytes a client sent. Besides memory errors it
 * checks that a parsed head only points into the buffer, that every shorter
 * prefix of a valid head is incomplete rather than wrong, and that
 * percent-decoding inverts percent-encoding.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "fuzz_check.h"
#include "http_parser.h"

static bool points_into(const char *p, size_t n, const char *buf, size_t len)
{
    return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

static bool contains_ignoring_case(const char *haystack, size_t n,
                                   const char *needle)
{
    size_t m = strlen(needle);

    for (size_t i = 0; i + m <= n; i++) {
        if (strncasecmp(haystack + i, needle, m) == 0)
            return true;
    }
    return false;
}

static void check_has_token(const char *value, size_t len)
{
    static const char *const tokens[] = {"upgrade", "websocket", "close",
                                         "keep-alive"};

    for (size_t t = 0; t < sizeof tokens / sizeof tokens[0]; t++) {
        const char *token = tokens[t];
        size_t token_len = strlen(token);

        if (http_header_has_token(value, len, token))
            FUZZ_CHECK(contains_ignoring_case(value, len, token),
                       "token found in a value that does not contain it");

        /* Whatever the value, appending ",token" or prepending "token,"
         * makes the token one element of the list. */
        char *joined = malloc(len + token_len + 1);
        if (joined == NULL)
            abort();
        memcpy(joined, value, len);
        joined[len] = ',';
        memcpy(joined + len + 1, token, token_len);
        FUZZ_CHECK(http_header_has_token(joined, len + 1 + token_len, token),
                   "token appended after a comma not found");
        memcpy(joined, token, token_len);
        joined[token_len] = ',';
        memcpy(joined + token_len + 1, value, len);
        FUZZ_CHECK(http_header_has_token(joined, len + 1 + token_len, token),
                   "token prepended before a comma not found");
        free(joined);
    }
}

/* Decodes in[0..n) and, when that succeeds, checks the output against the
 * input and that re-encoding every byte decodes back to the same output. */
static void check_percent_decode(const char *in, size_t n)
{
    char *out = malloc(n > 0 ? n : 1);
    char *encoded = malloc(n > 0 ? 3 * n : 1);
    char *again = malloc(n > 0 ? n : 1);
    size_t out_len = 0, again_len = 0;
    static const char hex[] = "0123456789ABCDEF";

    if (out == NULL || encoded == NULL || again == NULL)
        abort();
    if (http_percent_decode(in, n, out, &out_len)) {
        FUZZ_CHECK(out_len <= n, "decoded output longer than the input");
        if (memchr(in, '%', n) == NULL)
            FUZZ_CHECK(out_len == n && memcmp(out, in, n) == 0,
                       "input without '%' changed by decoding");

        /* A NUL in the input is copied through; only %00 is rejected. */
        if (memchr(in, '\0', n) != NULL)
            goto done;
        FUZZ_CHECK(memchr(out, '\0', out_len) == NULL,
                   "%00 decoded to a NUL byte");

        for (size_t i = 0; i < out_len; i++) {
            unsigned char c = (unsigned char)out[i];
            encoded[3 * i] = '%';
            encoded[3 * i + 1] = hex[c >> 4];
            encoded[3 * i + 2] = hex[c & 0x0F];
        }
        FUZZ_CHECK(http_percent_decode(encoded, 3 * out_len, again, &again_len),
                   "fully percent-encoded text rejected");
        FUZZ_CHECK(again_len == out_len && memcmp(again, out, out_len) == 0,
                   "percent-encoding round trip changed the bytes");
    }
done:
    free(out);
    free(encoded);
    free(again);
}

static void check_request(const char *buf, size_t len, size_t max_head,
                          const struct http_request *req)
{
    FUZZ_CHECK(req->head_len >= 4 && req->head_len <= len,
               "head_len outside the buffer");
    FUZZ_CHECK(req->head_len <= max_head, "head longer than max_head accepted");
    FUZZ_CHECK(memcmp(buf + req->head_len - 4, "\r\n\r\n", 4) == 0,
               "head does not end with an empty line");
    FUZZ_CHECK(req->method_len > 0 && points_into(req->method, req->method_len,
                                                  buf, req->head_len),
               "method outside the head");
    FUZZ_CHECK(req->target_len > 0 && points_into(req->target, req->target_len,
                                                  buf, req->head_len),
               "target outside the head");
    FUZZ_CHECK(req->target[0] == '/', "target not in origin-form");
    size_t path_len = http_path_len(req);
    FUZZ_CHECK(path_len > 0 && path_len <= req->target_len,
               "path length outside the target");
    FUZZ_CHECK(memchr(req->target, '?', path_len) == NULL,
               "path contains the query's '?'");
    FUZZ_CHECK(path_len == req->target_len || req->target[path_len] == '?',
               "path does not end at the query");
    FUZZ_CHECK(req->version_minor == 0 || req->version_minor == 1,
               "version other than HTTP/1.0 or HTTP/1.1 accepted");
    FUZZ_CHECK(req->header_count <= HTTP_MAX_HEADERS,
               "too many headers stored");
    FUZZ_CHECK(req->content_length >= -1, "negative Content-Length");

    for (size_t i = 0; i < req->header_count; i++) {
        const struct http_header *h = &req->headers[i];

        FUZZ_CHECK(h->name_len > 0 &&
                       points_into(h->name, h->name_len, buf, req->head_len),
                   "header name outside the head");
        FUZZ_CHECK(points_into(h->value, h->value_len, buf, req->head_len),
                   "header value outside the head");
        if (h->value_len > 0) {
            char first = h->value[0], last = h->value[h->value_len - 1];
            FUZZ_CHECK(first != ' ' && first != '\t' && last != ' ' &&
                           last != '\t',
                       "header value keeps surrounding whitespace");
        }

        /* http_find_header takes a NUL-terminated name. */
        char name[128];
        if (h->name_len < sizeof name) {
            memcpy(name, h->name, h->name_len);
            name[h->name_len] = '\0';
            const struct http_header *found = http_find_header(req, name);
            FUZZ_CHECK(found != NULL && found <= h,
                       "http_find_header missed a stored header");
            FUZZ_CHECK(found->name_len == h->name_len &&
                           strncasecmp(found->name, name, h->name_len) == 0,
                       "http_find_header returned another name");
        }
        check_has_token(h->value, h->value_len);
    }

    if (req->version_minor == 1)
        FUZZ_CHECK(http_find_header(req, "host") != NULL,
                   "HTTP/1.1 request without Host accepted");
    check_percent_decode(req->target, req->target_len);
}

/* A complete head must parse the same on its own, and every strict prefix
 * of it must be incomplete: none of its bytes is wrong yet. */
static void check_prefixes(const char *buf, size_t max_head,
                           const struct http_request *req)
{
    struct http_request again;
    int status = 0;
    size_t head_len = req->head_len;
    uint8_t *head = fuzz_copy((const uint8_t *)buf, head_len);

    FUZZ_CHECK(http_parse_request((const char *)head, head_len, max_head,
                                  &again, &status) == HTTP_PARSE_OK,
               "head alone does not parse");
    FUZZ_CHECK(again.head_len == head_len &&
                   again.header_count == req->header_count &&
                   again.content_length == req->content_length &&
                   again.version_minor == req->version_minor &&
                   again.keep_alive == req->keep_alive,
               "head alone parses differently");

    /* Every prefix of short heads, a sample of the prefixes of long ones. */
    size_t step = head_len <= 512 ? 1 : head_len / 97;
    for (size_t cut = 0; cut < head_len; cut += step) {
        uint8_t *prefix = fuzz_copy(head, cut);
        FUZZ_CHECK(http_parse_request((const char *)prefix, cut, max_head,
                                      &again, &status) == HTTP_PARSE_INCOMPLETE,
                   "prefix of a valid head not reported incomplete");
        free(prefix);
    }
    uint8_t *prefix = fuzz_copy(head, head_len - 1);
    FUZZ_CHECK(http_parse_request((const char *)prefix, head_len - 1, max_head,
                                  &again, &status) == HTTP_PARSE_INCOMPLETE,
               "head without its last byte not reported incomplete");
    free(prefix);
    free(head);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;

    /* 16 to 16336 bytes, so small inputs also reach the 431 path. */
    size_t max_head = 16 + (size_t)data[0] * 64;
    size_t len = size - 1;
    char *buf = (char *)fuzz_copy(data + 1, len);
    struct http_request req;
    int status = 0;

    enum http_parse_status result =
        http_parse_request(buf, len, max_head, &req, &status);
    switch (result) {
    case HTTP_PARSE_INCOMPLETE:
        FUZZ_CHECK(len < max_head, "incomplete head at or over max_head");
        break;
    case HTTP_PARSE_ERROR:
        FUZZ_CHECK(status == 400 || status == 431 || status == 501 ||
                       status == 505,
                   "error status outside 400, 431, 501, 505");
        break;
    case HTTP_PARSE_OK:
        check_request(buf, len, max_head, &req);
        check_prefixes(buf, max_head, &req);
        break;
    default:
        FUZZ_CHECK(false, "unknown parse status");
    }

    FUZZ_CHECK(http_status_reason(status != 0 ? status : 200) != NULL,
               "no reason phrase");
    check_percent_decode(buf, len);
    free(buf);
    return 0;
}

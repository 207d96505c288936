/*
 * Reference-counted fan-out messages: one allocation contains the struct, the
 * frame header and the envelope text.
 */
#include "message.h"

#include <stdlib.h>
#include <string.h>

#include "ws_codec.h"

struct message *message_from_text(const char *text, size_t len)
{
    uint8_t header[WS_MAX_HEADER_LEN];
    size_t header_len =
        ws_write_frame_header(header, true, WS_OP_TEXT, len, NULL);
    struct message *m = malloc(sizeof(*m) + header_len + len);

    if (m == NULL)
        return NULL;
    memset(m, 0, sizeof(*m));
    atomic_init(&m->refs, 1);

    uint8_t *frame = (uint8_t *)(m + 1);
    memcpy(frame, header, header_len);
    memcpy(frame + header_len, text, len);
    m->frame = frame;
    m->frame_len = header_len + len;
    m->plain = (const char *)frame + header_len;
    m->plain_len = len;
    return m;
}

struct message *message_with_raw_data(const char *event, const char *data_json,
                                      size_t data_len)
{
    cJSON *name = cJSON_CreateString(event);
    char *quoted = name ? cJSON_PrintUnformatted(name) : NULL;
    struct message *m = NULL;

    cJSON_Delete(name);
    if (quoted == NULL)
        return NULL;

    static const char head[] = "{\"event\":";
    static const char middle[] = ",\"data\":";
    size_t quoted_len = strlen(quoted);
    size_t len = sizeof(head) - 1 + quoted_len + 1;
    if (data_json != NULL)
        len += sizeof(middle) - 1 + data_len;
    char *text = malloc(len);
    if (text != NULL) {
        size_t o = 0;
        memcpy(text + o, head, sizeof(head) - 1);
        o += sizeof(head) - 1;
        memcpy(text + o, quoted, quoted_len);
        o += quoted_len;
        if (data_json != NULL) {
            memcpy(text + o, middle, sizeof(middle) - 1);
            o += sizeof(middle) - 1;
            memcpy(text + o, data_json, data_len);
            o += data_len;
        }
        text[o++] = '}';
        m = message_from_text(text, o);
        free(text);
    }
    cJSON_free(quoted);
    return m;
}

struct message *message_new(const char *event, const cJSON *data)
{
    cJSON *envelope = cJSON_CreateObject();
    struct message *m = NULL;
    char *text = NULL;

    if (envelope == NULL)
        return NULL;
    if (cJSON_AddStringToObject(envelope, "event", event) == NULL)
        goto out;
    if (data != NULL) {
        cJSON *copy = cJSON_Duplicate(data, true);
        if (copy == NULL || !cJSON_AddItemToObject(envelope, "data", copy)) {
            cJSON_Delete(copy);
            goto out;
        }
    }
    text = cJSON_PrintUnformatted(envelope);
    if (text != NULL)
        m = message_from_text(text, strlen(text));

out:
    cJSON_free(text);
    cJSON_Delete(envelope);
    return m;
}

struct message *message_ref(struct message *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

void message_unref(struct message *m)
{
    if (m == NULL ||
        atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(m->room);
    free(m);
}
